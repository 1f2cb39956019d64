"""The app's HTTP transport against real loopback servers: answers, drops and silences are told apart."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from shared.http_transport import UpstreamTransport

Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Serve], Awaitable[str]]]:
    servers: list[asyncio.Server] = []

    async def start(handler: Serve) -> str:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


def client(timeout: float = 5.0) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=10)
    return httpx.AsyncClient(transport=UpstreamTransport(limits=limits), limits=limits, timeout=timeout)


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    return await reader.readexactly(length)


async def test_an_answer_comes_back_with_status_headers_and_body(serve: Callable[[Serve], Awaitable[str]]) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        body = await read_request(reader)
        writer.write(b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-Seen: %d\r\n"
                     b"Content-Length: 2\r\n\r\n{}" % len(body))
        await writer.drain()
        writer.close()

    url = await serve(answer)
    async with client() as http:
        response = await http.post(url, json={"a": 1})
    assert (response.status_code, response.headers["x-seen"], response.json()) == (201, "7", {})


async def test_a_dropped_connection_is_a_network_error_not_a_timeout(
    serve: Callable[[Serve], Awaitable[str]],
) -> None:
    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.close()  # no answer at all

    url = await serve(drop)
    async with client() as http:
        with pytest.raises(httpx.TransportError) as raised:
            await http.post(url, json={})
    assert not isinstance(raised.value, httpx.TimeoutException)


async def test_silence_past_the_read_timeout_is_a_timeout(serve: Callable[[Serve], Awaitable[str]]) -> None:
    release = asyncio.Event()

    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await release.wait()
        writer.close()

    url = await serve(stall)
    try:
        async with client(timeout=0.3) as http:
            with pytest.raises(httpx.TimeoutException):
                await http.post(url, json={})
    finally:
        release.set()


async def test_a_refused_connection_is_a_network_error() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and has no listener now
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with client() as http:
        with pytest.raises(httpx.TransportError) as raised:
            await http.post(f"http://127.0.0.1:{port}", json={})
    assert not isinstance(raised.value, httpx.TimeoutException)
