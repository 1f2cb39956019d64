"""The transport under the app's one `httpx.AsyncClient`: aiohttp's connection pool behind httpx's API.

httpcore's pool checks every pooled connection on every request (a syscall each); at 32 concurrent callers that
was a third of the app's CPU per publish (bench/results.md). `httpx-aiohttp` is maintained by an httpx maintainer.
"""

from __future__ import annotations

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport


class UpstreamTransport(AiohttpTransport):
    """httpx-aiohttp, except that only a real timeout is reported as one.

    The library maps every `aiohttp.ClientConnectionError` (a dropped connection too) to `httpx.ConnectTimeout`;
    a drop is a network error here, so that callers see 502, not 504.
    """

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except httpx.ConnectTimeout as exc:
            cause = exc.__cause__
            if cause is None or isinstance(cause, TimeoutError | aiohttp.ServerTimeoutError):
                raise
            raise httpx.NetworkError(f"{type(cause).__name__}: {cause}", request=request) from cause

