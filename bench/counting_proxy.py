"""Counting HTTP proxies in front of Azurite's endpoints: storage transactions as the app (and its host) spend them.

One proxy per service (table, queue, blob); each request counts once, as Azure bills it (a `$batch`, an entity
group transaction of up to 100 operations, is one transaction; a receive of up to 32 messages is one).
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections import Counter
from dataclasses import dataclass

from aiohttp import ClientOSError, ClientSession, ServerDisconnectedError, web
from yarl import URL

from devstack.azurite import Azurite, connection_string

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "content-encoding"}
_QUEUE_MESSAGES = re.compile(r"^/[^/]+/([^/]+)/messages(/[^/]+)?$")


def classify(service: str, method: str, path: str, query: str) -> tuple[str, str]:
    """(kind, resource) of one request: e.g. ("read", "batchitems"), ("delete", "inquba-events")."""
    if service == "table":
        if path.endswith("$batch"):
            return "batch", "$batch"
        resource = path.split("/")[2].split("(")[0] if path.count("/") >= 2 else ""
        if method == "GET":
            return ("read" if "(PartitionKey=" in path else "query"), resource
        return {"DELETE": "delete"}.get(method, "write"), resource
    if service == "queue":
        match = _QUEUE_MESSAGES.match(path)
        if match is None:
            return "other", path.split("/")[2] if path.count("/") >= 2 else ""
        resource, message = match.group(1), match.group(2)
        if method == "GET":
            return ("peek" if "peekonly=true" in query.lower() else "receive"), resource
        if method == "POST":
            return "send", resource
        if method == "DELETE" and message:
            return "delete", resource
        if method == "PUT" and message:
            return "update", resource
        return "other", resource
    return ("read" if method in ("GET", "HEAD") else "write"), path.split("/")[2] if path.count("/") >= 2 else ""


class CountingProxy:
    """Forwards every request to `target_port` and counts it by (kind, resource)."""

    def __init__(self, target_port: int, service: str = "table") -> None:
        self.target = f"http://127.0.0.1:{target_port}"
        self.service = service
        self.counts: Counter[tuple[str, str]] = Counter()
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None

    @property
    def transactions(self) -> int:
        return sum(self.counts.values())

    def count(self, kind: str | None = None, resource: str | None = None) -> int:
        return sum(n for (k, r), n in self.counts.items()
                   if (kind is None or k == kind) and (resource is None or r == resource))

    def reset(self) -> None:
        self.counts.clear()

    def writes(self, table: str) -> int:
        """Requests that wrote to `table` (every kind but reads and queries; a `$batch` names no table)."""
        return sum(n for (kind, resource), n in self.counts.items()
                   if resource == table and kind not in ("read", "query"))

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        body = await request.read()
        self.counts[classify(self.service, request.method, request.path, request.query_string)] += 1
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        # raw_path: the shared-key signature covers the path and query exactly as the client encoded them.
        url = URL(self.target + request.raw_path, encoded=True)
        for attempt in range(3):
            try:
                # No body, no Content-Type: an added header would break the request's shared-key signature.
                async with self._session.request(request.method, url, data=body or None, headers=headers,
                                                 allow_redirects=False,
                                                 skip_auto_headers=("Content-Type",)) as upstream:
                    payload = await upstream.read()
                    out = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
                    return web.Response(status=upstream.status, body=payload, headers=out)
            except (ClientOSError, ServerDisconnectedError):
                # Azurite closed a pooled keep-alive connection: resend, so that the app sees (and the count
                # holds) one request, not an error and the SDK's retry.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _start(self) -> None:
        self._session = ClientSession(auto_decompress=False)
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def start(self) -> CountingProxy:
        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._start())
            self._ready.set()
            self._loop.run_forever()

        threading.Thread(target=run, daemon=True).start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        async def close() -> None:
            if self._runner is not None:
                await self._runner.cleanup()
            if self._session is not None:
                await self._session.close()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)


@dataclass
class StorageProxies:
    """A counting proxy in front of each of Azurite's three endpoints."""

    table: CountingProxy
    queue: CountingProxy
    blob: CountingProxy

    @classmethod
    def start(cls, azurite: Azurite) -> StorageProxies:
        return cls(CountingProxy(azurite.table_port, "table").start(),
                   CountingProxy(azurite.queue_port, "queue").start(),
                   CountingProxy(azurite.blob_port, "blob").start())

    @property
    def connection_string(self) -> str:
        return connection_string(self.blob.port, self.queue.port, self.table.port)

    @property
    def transactions(self) -> int:
        return self.table.transactions + self.queue.transactions + self.blob.transactions

    def reset(self) -> None:
        for proxy in (self.table, self.queue, self.blob):
            proxy.reset()

    def stop(self) -> None:
        for proxy in (self.table, self.queue, self.blob):
            proxy.stop()
