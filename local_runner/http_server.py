"""The HTTP front end: aiohttp server → routing → keys → `func.HttpRequest` → user function."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

import azure.functions as func
from aiohttp import web
from multidict import CIMultiDict, MultiMapping

import local_runner.keys as keys_module
from local_runner.errors import StartupError
from local_runner.functions import FunctionDef, HttpTriggerInfo
from local_runner.invocation import Invoker
from local_runner.routing import Route, Router, join_route

log = logging.getLogger("local_runner.http")

# The host's default request body limit (FUNCTIONS_REQUEST_BODY_SIZE_LIMIT): 100 MB.
MAX_BODY_BYTES = 100 * 1024 * 1024
STATS_PATH = "/_local_runner/stats"  # LOCAL_RUNNER_STATS only; not a host route (local_runner/cpu_time.py)
_DROPPED_RESPONSE_HEADERS = {"content-length", "transfer-encoding"}


def join_multi(values: MultiMapping[str]) -> dict[str, str]:
    """Repeated headers / query parameters become one comma-joined value, as the host passes them."""
    joined: dict[str, str] = {}
    for name, value in values.items():
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    return joined


def to_web_response(result: object) -> web.Response:
    """Convert what the function returned, as the Python worker does for the `$return` HTTP output."""
    if isinstance(result, func.HttpResponse):
        headers: CIMultiDict[str] = CIMultiDict()
        for name, value in result.headers.items():
            if name.lower() not in _DROPPED_RESPONSE_HEADERS:
                headers.add(name, str(value))
        if "content-type" not in headers:
            mimetype = result.mimetype or "text/plain"
            headers["Content-Type"] = (f"{mimetype}; charset={result.charset}" if mimetype.startswith("text/")
                                       else mimetype)
        return web.Response(status=int(result.status_code), body=result.get_body(), headers=headers)
    if isinstance(result, str):
        return web.Response(status=200, body=result.encode("utf-8"),
                            headers={"Content-Type": "text/plain; charset=utf-8"})
    raise TypeError(f"unable to encode outgoing TypedData: unsupported type for the HTTP output: "
                    f"{type(result).__name__} (return a func.HttpResponse or str)")


def _shape(route: Route[FunctionDef]) -> tuple[object, ...]:
    shape: list[object] = []
    for segment in route.template.segments:
        for part in segment.parts:
            if isinstance(part, str):
                shape.append(part.lower())
            else:
                shape.append((tuple(c.text for c in part.constraints), part.optional, part.catch_all,
                              part.default))
        shape.append("/")
    return tuple(shape)


def _methods_overlap(a: Route[FunctionDef], b: Route[FunctionDef]) -> set[str] | None:
    """Shared methods (None meaning "all"); an empty set when they share none."""
    if a.methods is None and b.methods is None:
        return None
    if a.methods is None:
        return set(b.methods or ())
    if b.methods is None:
        return set(a.methods)
    return set(a.methods & b.methods)


def build_router(functions: Iterable[FunctionDef], route_prefix: str) -> Router[FunctionDef]:
    router: Router[FunctionDef] = Router()
    for function in functions:
        trigger = function.trigger
        if not isinstance(trigger, HttpTriggerInfo):
            continue
        template = join_route(route_prefix, trigger.route)
        try:
            router.add(template, trigger.methods, function)
        except ValueError as exc:
            raise StartupError(f"function '{function.name}': invalid route '{trigger.route}': {exc}") from exc
    routes = router.routes
    for index, first in enumerate(routes):
        for second in routes[index + 1:]:
            shared = _methods_overlap(first, second)
            if _shape(first) == _shape(second) and (shared is None or shared):
                raise StartupError(
                    f"functions '{first.target.name}' and '{second.target.name}' both handle "
                    f"{'/'.join(sorted(shared)) if shared else 'every method'} on route '{first.template.text}'")
    return router


def azure_order_warnings(router: Router[FunctionDef]) -> list[str]:
    """Overlapping routes the real host may resolve differently.

    The runner prefers the most specific route (ASP.NET Core precedence). The Functions host
    registers routes by function name and takes the first match (azure-functions-host#9876), so
    where a less specific route belongs to a function whose name sorts first, Azure calls that one.
    """
    warnings = []
    routes = router.routes
    for index, specific in enumerate(routes):
        sample = specific.template.sample_path()
        if sample is None:
            continue
        for general in routes[index + 1:]:
            shared = _methods_overlap(specific, general)
            if shared is not None and not shared:
                continue
            if general.template.match(sample) is None:
                continue
            if general.target.name.lower() < specific.target.name.lower():
                method = sorted(shared)[0] if shared else "GET"
                warnings.append(
                    f"{method} /{sample.lstrip('/')} matches route '{specific.template.text}' (function "
                    f"'{specific.target.name}') and '{general.template.text}' (function '{general.target.name}'). "
                    f"The local runner calls '{specific.target.name}' (most specific route); the Azure Functions "
                    f"host tries routes in function-name order and would call '{general.target.name}'. "
                    "Rename a function or make the routes disjoint.")
    return warnings


class HttpServer:
    def __init__(self, functions: Iterable[FunctionDef], *, route_prefix: str, keys: keys_module.Keys,
                 invoker: Invoker, host: str = "127.0.0.1", port: int = 7071,
                 stats: Callable[[], dict[str, Any]] | None = None) -> None:
        self.router = build_router(functions, route_prefix)
        self.stats = stats
        self.route_prefix = route_prefix
        self.keys = keys
        self.invoker = invoker
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._stopping = False
        self._in_flight: set[asyncio.Task[object]] = set()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def accepting(self) -> bool:
        """False once stop() began: new requests are refused."""
        return self._runner is not None and not self._stopping

    def describe_routes(self) -> dict[str, str]:
        """Function name → "[GET,POST] http://host:port/api/route"."""
        lines = {}
        for route in self.router.routes:
            methods = ",".join(sorted(route.methods)) if route.methods else "ALL"
            lines[route.target.name] = f"[{methods}] {self.url}/{route.template.text}"
        return lines

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # Graceful waiting is done in stop(); aiohttp only gets a short final timeout.
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await self._site.start()
        except OSError as exc:
            await self._runner.cleanup()
            self._site = self._runner = None
            raise StartupError(f"cannot listen on {self.host}:{self.port}: {exc}") from exc
        for address in self._runner.addresses:
            if isinstance(address, tuple) and len(address) >= 2:
                self.port = int(address[1])
                break

    async def stop(self, deadline: float) -> None:
        """Stop accepting requests, let running ones finish until `deadline` (loop time), close."""
        self._stopping = True
        if self._site is not None:
            await self._site.stop()
        pending = {task for task in self._in_flight if not task.done()}
        if pending:
            timeout = max(deadline - asyncio.get_running_loop().time(), 0)
            _, still_running = await asyncio.wait(pending, timeout=timeout)
            if still_running:
                log.warning("%d HTTP request(s) still running after the grace period; closing them",
                            len(still_running))
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self._stopping:
            return web.Response(status=503, headers={"Connection": "close"})
        if self.stats is not None and request.rel_url.path == STATS_PATH and request.method == "GET":
            return self._answer_stats(request)
        found = self.router.match(request.method, request.rel_url.raw_path)
        if found is None:
            if self.router.path_exists(request.rel_url.raw_path):
                log.info("%s %s: no function accepts this method; 404 like the Functions host",
                         request.method, request.rel_url.path)
            return web.Response(status=404)
        function = found.route.target
        assert isinstance(function.trigger, HttpTriggerInfo)
        query = join_multi(request.query)
        if not keys_module.is_authorized(function.trigger.auth_level,
                                         keys_module.presented_key(request.headers, query), self.keys):
            return web.Response(status=401)
        body = await request.read()
        http_request = func.HttpRequest(
            method=request.method, url=str(request.url), headers=join_multi(request.headers),
            params=query, route_params=found.params, body=body)
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            try:
                result = await self.invoker.invoke(function, http_request, _reason(request))
            except Exception:  # logged with its traceback by the invoker
                return web.Response(status=500)
            try:
                return to_web_response(result)
            except Exception:
                log.exception("function %s returned a value that is not an HTTP response", function.name)
                return web.Response(status=500)
        finally:
            if task is not None:
                self._in_flight.discard(task)


    def _answer_stats(self, request: web.Request) -> web.Response:
        """The runner's counters (the app's CPU time), for the master key only."""
        assert self.stats is not None
        presented = keys_module.presented_key(request.headers, join_multi(request.query))
        if not keys_module.is_authorized(keys_module.ADMIN, presented, self.keys):
            return web.Response(status=401)
        return web.Response(status=200, body=json.dumps(self.stats()).encode(), content_type="application/json")


def _reason(request: web.Request) -> str:
    return f"This HTTP triggered function executed: {request.method} {request.rel_url.path}"

