"""Calling user functions the way the Python worker does.

`async def` functions run on the runner's event loop; plain functions run in worker threads
(daemon threads, so a stuck function cannot keep the process alive after shutdown), at most
`max_sync_workers` at a time (PYTHON_THREADPOOL_THREAD_COUNT, default min(32, CPUs + 4)).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import azure.functions as func

from local_runner.cpu_time import CpuAccounting
from local_runner.functions import CONTEXT_PARAMETER, FunctionDef

log = logging.getLogger("local_runner.invocation")


class InvocationContext(func.Context):
    """The `context` argument: invocation id, function name and directory."""

    def __init__(self, invocation_id: str, function_name: str, function_directory: str) -> None:
        self._invocation_id = invocation_id
        self._function_name = function_name
        self._function_directory = function_directory
        self._thread_local_storage = threading.local()
        self._thread_local_storage.invocation_id = invocation_id

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> Any:
        return self._thread_local_storage

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return self._function_directory

    @property
    def trace_context(self) -> Any:
        return None

    @property
    def retry_context(self) -> Any:
        return None


def default_sync_workers() -> int:
    configured = os.environ.get("PYTHON_THREADPOOL_THREAD_COUNT")
    if configured and configured.isdigit() and int(configured) > 0:
        return int(configured)
    return min(32, (os.cpu_count() or 1) + 4)


class ThreadRunner:
    """Runs blocking callables in daemon threads, bounded by a semaphore."""

    def __init__(self, max_workers: int) -> None:
        self.max_workers = max_workers
        self._semaphore: asyncio.Semaphore | None = None
        self._counter = 0

    async def run(self, target: Callable[..., Any], /, **kwargs: Any) -> Any:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.max_workers)
        async with self._semaphore:
            loop = asyncio.get_running_loop()
            future: asyncio.Future[Any] = loop.create_future()
            context = contextvars.copy_context()

            def deliver(setter: Callable[[Any], None], value: Any) -> None:
                if not future.done():
                    setter(value)

            def work() -> None:
                try:
                    result = context.run(target, **kwargs)
                except BaseException as exc:
                    outcome: tuple[Callable[[Any], None], Any] = (future.set_exception, exc)
                else:
                    outcome = (future.set_result, result)
                with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                    loop.call_soon_threadsafe(deliver, *outcome)

            self._counter += 1
            threading.Thread(target=work, name=f"local-runner-sync-{self._counter}", daemon=True).start()
            return await future


class Invoker:
    def __init__(self, max_sync_workers: int | None = None, cpu: CpuAccounting | None = None) -> None:
        self.threads = ThreadRunner(max_sync_workers or default_sync_workers())
        self.cpu = cpu  # LOCAL_RUNNER_STATS: the app's own CPU time (local_runner/cpu_time.py)

    async def invoke(self, function: FunctionDef, trigger_value: Any, reason: str) -> Any:
        """Call `function` with its trigger value (and `context`); exceptions propagate after logging."""
        invocation_id = str(uuid.uuid4())
        kwargs: dict[str, Any] = {function.trigger_param: trigger_value}
        if function.wants_context:
            kwargs[CONTEXT_PARAMETER] = InvocationContext(invocation_id, function.name, function.directory)
        log.info("Executing 'Functions.%s' (Reason='%s', Id=%s)", function.name, reason, invocation_id)
        started = time.perf_counter()

        def elapsed() -> int:
            return round((time.perf_counter() - started) * 1000)

        try:
            if function.is_async:
                call = function.func(**kwargs)
                result = await (self.cpu.measure(function.name, call) if self.cpu else call)
            else:
                target = self.cpu.measure_sync(function.name, function.func) if self.cpu else function.func
                result = await self.threads.run(target, **kwargs)
            if inspect.isawaitable(result):
                if self.cpu and asyncio.iscoroutine(result):
                    result = self.cpu.measure(function.name, result, invocation=False)
                result = await result
        except asyncio.CancelledError:
            log.warning("Executed 'Functions.%s' (Cancelled, Id=%s, Duration=%sms)",
                        function.name, invocation_id, elapsed())
            raise
        except Exception:
            log.exception("Executed 'Functions.%s' (Failed, Id=%s, Duration=%sms)",
                          function.name, invocation_id, elapsed())
            raise
        log.info("Executed 'Functions.%s' (Succeeded, Id=%s, Duration=%sms)",
                 function.name, invocation_id, elapsed())
        return result
