"""A counting HTTP proxy in front of Azurite's table endpoint: table transactions as the app spends them."""

from __future__ import annotations

import asyncio
import re
import threading
from collections import Counter

from aiohttp import ClientSession, web
from yarl import URL

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "content-encoding"}


class CountingProxy:
    """Forwards every request to `target_port`; counts them (a `$batch` counts once, as Azure bills it)."""

    def __init__(self, target_port: int) -> None:
        self.target = f"http://127.0.0.1:{target_port}"
        self.counts: Counter[str] = Counter()
        self.by_table: Counter[tuple[str, str]] = Counter()  # (method or "batch", table name) -> requests
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None

    @property
    def transactions(self) -> int:
        return sum(self.counts.values())

    def reset(self) -> None:
        self.counts.clear()
        self.by_table.clear()

    def writes(self, table: str) -> int:
        """Requests that may change `table`'s entities (a `$batch` names no table and is not counted here)."""
        return sum(n for (kind, name), n in self.by_table.items() if name == table and kind != "GET")

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        body = await request.read()
        kind = "batch" if "$batch" in request.path else request.method
        self.counts[kind] += 1
        # /devstoreaccount1/<table>(PartitionKey='..',RowKey='..') or /devstoreaccount1/<table>()
        match = re.match(r"/[^/]+/([^/(?]+)", request.path)
        self.by_table[(kind, match.group(1) if match else "")] += 1
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        # raw_path: the shared-key signature covers the path and query exactly as the client encoded them.
        url = URL(self.target + request.raw_path, encoded=True)
        # No body, no Content-Type: an added header would break the request's shared-key signature.
        async with self._session.request(request.method, url, data=body or None, headers=headers,
                                         allow_redirects=False, skip_auto_headers=("Content-Type",)) as upstream:
            payload = await upstream.read()
            out = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
            return web.Response(status=upstream.status, body=payload, headers=out)

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
