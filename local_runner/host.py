"""`LocalHost`: hosts one Azure Functions (Python v2) app — HTTP, queue and timer triggers."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from azure.core.exceptions import AzureError

from local_runner import cpu_time
from local_runner.errors import StartupError
from local_runner.functions import (
    FunctionDef,
    HttpTriggerInfo,
    QueueTriggerInfo,
    TimerTriggerInfo,
    build_function_defs,
    get_functions_once,
)
from local_runner.host_config import HostConfig, load_host_config
from local_runner.http_server import HttpServer, azure_order_warnings
from local_runner.invocation import Invoker
from local_runner.keys import Keys
from local_runner.queue_listener import QueueListener
from local_runner.storage import QueueConnections
from local_runner.timers import TimerListener

log = logging.getLogger("local_runner.host")

DEFAULT_GRACE_SECONDS = 30.0


class LocalHost:
    """Runs the functions of `app` (a `func.FunctionApp`) like the Functions host.

    Construction reads the metadata and validates everything that can be checked offline
    (raising `StartupError`); `start()` connects to storage and listens; `stop()` drains.
    `settings` defaults to `os.environ` (app settings); `host_config` defaults to `app_dir/host.json`;
    `functions` restricts which functions run (like host.json `functions`); `port=0` picks a free port.
    """

    def __init__(
        self,
        app: Any,
        *,
        app_dir: Path | str = ".",
        settings: Mapping[str, str] | None = None,
        host_config: HostConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 7071,
        keys: Keys | None = None,
        grace_seconds: float = DEFAULT_GRACE_SECONDS,
        functions: Iterable[str] | None = None,
        max_sync_workers: int | None = None,
    ) -> None:
        self.app_dir = Path(app_dir).resolve()
        self.settings: Mapping[str, str] = os.environ if settings is None else settings
        self.host_config = host_config if host_config is not None else load_host_config(self.app_dir)
        only = functions if functions is not None else self.host_config.functions
        self.functions: list[FunctionDef] = build_function_defs(
            get_functions_once(app), self.settings, app_dir=self.app_dir, only=only)
        self.keys = keys if keys is not None else Keys.from_settings(self.settings)
        self.grace_seconds = grace_seconds
        # The host locks a received message for 10 minutes; a crash test may shorten that lock.
        self.message_lease_seconds = int(self.settings.get("LOCAL_RUNNER_MESSAGE_LEASE_SECONDS") or 600)
        # LOCAL_RUNNER_STATS=1: count the app's own CPU time and answer it on GET /_local_runner/stats.
        self.cpu = cpu_time.CpuAccounting() if cpu_time.enabled(self.settings) else None
        self.invoker = Invoker(max_sync_workers, self.cpu)
        self.http = HttpServer(self.functions, route_prefix=self.host_config.route_prefix, keys=self.keys,
                               invoker=self.invoker, host=host, port=port,
                               stats=self.cpu.snapshot if self.cpu else None)
        self.connections = QueueConnections(self.settings)
        for function in self.functions:
            if isinstance(function.trigger, QueueTriggerInfo):
                self.connections.info(function.trigger.connection)  # fail early when unset
        self.route_warnings = azure_order_warnings(self.http.router)
        self.queue_listeners: list[QueueListener] = []
        self.timer_listeners: list[TimerListener] = []
        self._started = False
        self._stopped = False

    @property
    def url(self) -> str:
        return self.http.url

    def function(self, name: str) -> FunctionDef:
        for function in self.functions:
            if function.name == name:
                return function
        raise KeyError(name)

    async def start(self) -> None:
        if self._started:
            raise RuntimeError("LocalHost.start() was already called")
        self._started = True
        if self.cpu is not None:
            self.cpu.install(asyncio.get_running_loop())
        for warning in self.route_warnings:
            log.warning("route overlap: %s", warning)
        try:
            for function in self.functions:
                if isinstance(function.trigger, QueueTriggerInfo):
                    await self._start_queue(function, function.trigger)
            for function in self.functions:
                if isinstance(function.trigger, TimerTriggerInfo):
                    await self._start_timer(function, function.trigger)
            await self.http.start()
        except BaseException:
            await self.stop(0)
            raise

    async def _start_queue(self, function: FunctionDef, trigger: QueueTriggerInfo) -> None:
        service = self.connections.service_client(trigger.connection)
        queue = service.get_queue_client(trigger.queue_name)
        poison_name = trigger.poison_queue_name
        poison = service.get_queue_client(poison_name) if poison_name else None
        listener = QueueListener(function, queue, poison, self.host_config.queues, self.invoker,
                                 lease_seconds=self.message_lease_seconds)
        try:
            await listener.start()
        except AzureError as exc:
            info = self.connections.info(trigger.connection)
            raise StartupError(f"function '{function.name}': cannot use queue '{trigger.queue_name}' on "
                               f"{info.describe()}: {exc}") from exc
        self.queue_listeners.append(listener)

    async def _start_timer(self, function: FunctionDef, trigger: TimerTriggerInfo) -> None:
        async def invoke(request: Any, reason: str) -> object:
            return await self.invoker.invoke(function, request, reason)

        listener = TimerListener(function.name, trigger.schedule, trigger.run_on_startup, invoke)
        await listener.start()
        self.timer_listeners.append(listener)

    async def stop(self, grace_seconds: float | None = None) -> None:
        """Stop HTTP and polling at once; wait for running invocations up to the grace period."""
        if self._stopped:
            return
        self._stopped = True
        grace = self.grace_seconds if grace_seconds is None else grace_seconds
        deadline = asyncio.get_running_loop().time() + max(grace, 0)
        results = await asyncio.gather(
            self.http.stop(deadline),
            *(listener.stop(deadline) for listener in self.queue_listeners),
            *(listener.stop(deadline) for listener in self.timer_listeners),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                log.error("error while stopping", exc_info=result)
        await self.connections.close()
        if self.cpu is not None:
            stats = self.cpu.snapshot()
            log.info("app CPU %.3f s of the process's %.3f s: %s", stats["appCpuSeconds"], stats["processCpuSeconds"],
                     ", ".join(f"{name} {f['cpuSeconds']:.3f} s / {f['invocations']}"
                               for name, f in stats["functions"].items()) or "no invocations")

    async def __aenter__(self) -> LocalHost:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def banner_lines(self) -> list[str]:
        """What the CLI prints once listening: each function and its trigger, then the keys."""
        routes = self.http.describe_routes()
        lines = ["Functions:", ""]
        for function in self.functions:
            trigger = function.trigger
            if isinstance(trigger, HttpTriggerInfo):
                detail = routes[function.name]
                if trigger.auth_level != "anonymous":
                    detail += f" (authLevel {trigger.auth_level})"
            elif isinstance(trigger, QueueTriggerInfo):
                detail = f"queueTrigger queue '{trigger.queue_name}' (connection {trigger.connection})"
            else:
                detail = f"timerTrigger schedule '{trigger.schedule}'"
                if trigger.run_on_startup:
                    detail += " (runOnStartup)"
            lines.append(f"    {function.name}: {detail}")
        lines += [
            "",
            f"Function key: {self.keys.function_key} (x-functions-key header or ?code=)",
            f"Master key: {self.keys.master_key} (admin-level functions)",
        ]
        return lines
