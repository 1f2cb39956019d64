"""The app's own CPU time: what its functions, and the tasks they start, spend on this process's threads.

A benchmark's question, not the host's: in Azure the Functions host serves HTTP and polls queues in its own
process, and the worker process runs only the function bodies and what they call. Here the runner does both in
one process, so the process's CPU time mixes them. With `LOCAL_RUNNER_STATS=1` the runner counts the app's part:

- an `async def` function's coroutine is wrapped so that each of its steps (one `send()` into the coroutine,
  until it yields at an `await` that has to wait) is timed with `time.thread_time()`. That is exactly the CPU
  the function body and everything it calls synchronously used; the runner's HTTP server, routing, key checks,
  request/response conversion, queue polling, message deletes and lock renewals run in other steps and are not
  counted;
- a task created while such a step runs (the app's own background work: a group-commit flush, a bulk drain)
  belongs to the same function: the function is carried in a context variable that every task copies from the
  context it was created in, and a task factory wraps the coroutine of any task created under it the same way.
  Tasks the runner creates (queue polling, lock renewal, HTTP request handlers) are created outside any step
  and are not counted. Shared background work is counted once, to the function whose invocation started it;
- a plain (`def`) function is timed on its worker thread, around the call.

Not counted: the event loop's own work between steps (selecting, running I/O callbacks such as aiohttp's
`data_received` for the app's sockets, waking tasks), which the app and the runner share. The figure is
therefore a slight under-count of the app's CPU, never an over-count; the process total bounds it from above.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
import weakref
from collections.abc import Callable, Coroutine, Generator
from dataclasses import dataclass, field
from typing import Any

STATS_SETTING = "LOCAL_RUNNER_STATS"


@dataclass
class FunctionCpu:
    """The CPU seconds of one function's invocations and of the tasks they started."""

    invocations: int = 0
    seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, seconds: float) -> None:
        with self._lock:  # plain functions add from their worker threads
            self.seconds += seconds


_CURRENT: contextvars.ContextVar[FunctionCpu | None] = contextvars.ContextVar("local_runner_cpu", default=None)


class _Metered(Coroutine[Any, Any, Any]):
    """A coroutine whose steps are timed into `account`; tasks created during a step inherit the account."""

    __slots__ = ("_account", "_coro")

    def __init__(self, coro: Coroutine[Any, Any, Any], account: FunctionCpu) -> None:
        self._coro = coro
        self._account = account

    def _step(self, advance: Callable[[], Any]) -> Any:
        token = _CURRENT.set(self._account)
        started = time.thread_time()
        try:
            return advance()
        finally:
            self._account.add(time.thread_time() - started)
            _CURRENT.reset(token)

    def send(self, value: Any) -> Any:
        return self._step(lambda: self._coro.send(value))

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        if val is None and tb is None:
            return self._step(lambda: self._coro.throw(typ))
        return self._step(lambda: self._coro.throw(typ, val, tb))

    def close(self) -> None:
        self._coro.close()

    def __await__(self) -> Generator[Any, None, Any]:
        return self  # type: ignore[return-value]  # an iterator with send/throw, as a coroutine's awaitable is

    def __iter__(self) -> _Metered:
        return self

    def __next__(self) -> Any:
        return self.send(None)

    def __getattr__(self, name: str) -> Any:
        # cr_frame, cr_running, cr_code, cr_await: inspect.getcoroutinestate(), task stacks and anyio read them.
        if name.startswith("cr_"):
            return getattr(self._coro, name)
        raise AttributeError(name)

    def __repr__(self) -> str:
        return f"<metered {self._coro!r}>"


TaskFactory = Callable[..., "asyncio.Task[Any]"]
_previous_factories: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, TaskFactory | None] = \
    weakref.WeakKeyDictionary()


def _task_factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
    """A task created under a function's account (in one of its steps, or in a task of its) is timed into it."""
    context: contextvars.Context | None = kwargs.get("context")
    account = context.get(_CURRENT) if context is not None else _CURRENT.get()
    if account is not None and not isinstance(coro, _Metered):
        coro = _Metered(coro, account)
    previous = _previous_factories.get(loop)
    if previous is not None:
        return previous(loop, coro, **kwargs)
    return asyncio.Task(coro, loop=loop, **kwargs)


def install_task_factory(loop: asyncio.AbstractEventLoop) -> None:
    """Once per loop, chaining a factory already set. It stays: outside an invocation's account it only passes
    tasks through, so several hosts on one loop (tests) share it."""
    if loop.get_task_factory() is not _task_factory:
        _previous_factories[loop] = loop.get_task_factory()
        loop.set_task_factory(_task_factory)


class CpuAccounting:
    """Per function: invocations and CPU seconds, for the runner's stats endpoint."""

    def __init__(self) -> None:
        self.functions: dict[str, FunctionCpu] = {}

    def account(self, function_name: str) -> FunctionCpu:
        return self.functions.setdefault(function_name, FunctionCpu())

    def measure(self, function_name: str, coro: Coroutine[Any, Any, Any], *,
                invocation: bool = True) -> Coroutine[Any, Any, Any]:
        """`coro` (one invocation of `function_name`, or what its plain function returned), timed step by step."""
        account = self.account(function_name)
        account.invocations += invocation
        return _Metered(coro, account)

    def measure_sync(self, function_name: str, target: Callable[..., Any]) -> Callable[..., Any]:
        """`target` (a plain function), timed on the thread that runs it."""
        account = self.account(function_name)
        account.invocations += 1

        def timed(**kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return target(**kwargs)
            finally:
                account.add(time.thread_time() - started)

        return timed

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        """Count the tasks that functions create on `loop` too."""
        install_task_factory(loop)

    def snapshot(self) -> dict[str, Any]:
        """What the stats endpoint answers: the app's CPU seconds, per function, and the whole process's."""
        return {
            "appCpuSeconds": sum(f.seconds for f in self.functions.values()),
            "processCpuSeconds": time.process_time(),
            "functions": {name: {"invocations": f.invocations, "cpuSeconds": f.seconds}
                          for name, f in sorted(self.functions.items())},
        }


def enabled(settings: Any) -> bool:
    return str(settings.get(STATS_SETTING) or "").strip().lower() in ("1", "true", "yes")
