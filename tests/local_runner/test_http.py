"""The HTTP front end, in process: routing, keys, request/response conversion, concurrency."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx
import pytest

from .conftest import HostFactory
from .helpers import eventually

HTTP_FUNCTIONS = ["hello", "echo", "admin_only", "item_by_id", "item_by_name", "get_log", "page_of_logs",
                  "request_detail", "request_replay", "files", "boom", "nothing", "plain_text", "headers"]
FUNCTION_KEY = "local-dev-function-key"
MASTER_KEY = "local-dev-master-key"


@pytest.fixture
async def client(make_host: HostFactory) -> Any:
    host = await make_host(HTTP_FUNCTIONS, settings={})
    async with httpx.AsyncClient(base_url=host.url, timeout=10) as http:
        yield http


async def test_anonymous_route_with_optional_parameter(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/hello")).text == "Hello, world"
    response = await client.get("/api/HELLO/Ada")
    assert response.status_code == 200
    assert response.text == "Hello, Ada"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


async def test_function_key_header_code_wrong_and_missing(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/echo", headers={"x-functions-key": FUNCTION_KEY})).status_code == 200
    assert (await client.get("/api/echo", params={"code": FUNCTION_KEY})).status_code == 200
    assert (await client.get("/api/echo", params={"code": MASTER_KEY})).status_code == 200
    wrong = await client.get("/api/echo", headers={"x-functions-key": "nope"})
    assert (wrong.status_code, wrong.content) == (401, b"")
    missing = await client.get("/api/echo")
    assert (missing.status_code, missing.content) == (401, b"")


async def test_admin_level_needs_master_key(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/ops/admin-only", params={"code": FUNCTION_KEY})).status_code == 401
    assert (await client.post("/api/ops/admin-only", params={"code": MASTER_KEY})).status_code == 200


async def test_request_is_converted(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/echo?x=1&x=2&y=z", content=b'{"a": 1}',
                                 headers={"x-functions-key": FUNCTION_KEY, "content-type": "application/json"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    data = response.json()
    assert data["method"] == "POST"
    assert data["url"] == f"{str(client.base_url).rstrip('/')}/api/echo?x=1&x=2&y=z"
    assert data["params"] == {"x": "1,2", "y": "z"}
    assert json.loads(data["body"]) == {"a": 1}
    assert data["content_type"] == "application/json"
    assert data["function_name"] == "echo"
    assert data["invocation_id"]


async def test_route_params_constraints_and_precedence(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/items/12")).json() == {"kind": "id", "id": "12"}
    assert (await client.get("/api/items/abc")).json() == {"kind": "name", "name": "abc"}
    assert (await client.get("/api/items/a1")).status_code == 404
    assert (await client.get("/api/outbound-logs/page")).json() == {"kind": "page"}
    assert (await client.get("/api/outbound-logs/7")).json() == {"kind": "log", "id": "7"}
    assert (await client.get("/api/requests/b-1")).json() == {"kind": "detail", "batchId": "b-1"}
    replay = await client.post("/api/requests/b-1/replay")
    assert (replay.status_code, replay.json()) == (202, {"kind": "replay", "batchId": "b-1"})


async def test_catch_all(client: httpx.AsyncClient) -> None:
    assert (await client.delete("/api/files/a/b%20c/d.txt")).json() == {"path": "a/b c/d.txt"}
    assert (await client.get("/api/files")).json() == {"path": None}


async def test_unknown_path_and_wrong_method_are_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/does-not-exist")).status_code == 404
    assert (await client.get("/hello")).status_code == 404  # no route prefix
    wrong_method = await client.delete("/api/hello")
    assert (wrong_method.status_code, wrong_method.content) == (404, b"")
    assert (await client.get("/api/requests/b-1/replay")).status_code == 404


async def test_exception_gives_empty_500_and_logs_traceback(client: httpx.AsyncClient,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="local_runner"):
        response = await client.get("/api/boom")
    assert (response.status_code, response.content) == (500, b"")
    assert "secret detail" in caplog.text and "Traceback" in caplog.text


async def test_return_values(client: httpx.AsyncClient) -> None:
    text = await client.get("/api/plain-text")
    assert (text.status_code, text.text) == (200, "just a string")
    none = await client.get("/api/nothing")
    assert (none.status_code, none.content) == (500, b"")


async def test_multi_valued_response_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/headers")
    assert response.status_code == 201
    assert response.content == b"\x00\x01"
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers.get_list("x-multi") == ["one", "two"]
    assert response.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]


async def test_async_functions_run_concurrently(make_host: HostFactory, state: Any) -> None:
    calls = 8
    state.reset(barrier_size=calls)
    host = await make_host(["barrier"], settings={})
    async with httpx.AsyncClient(base_url=host.url, timeout=30) as http:
        responses = await asyncio.gather(*(http.get("/api/barrier") for _ in range(calls)))
    # Each call only returns once all of them were inside the function at the same time.
    assert [r.status_code for r in responses] == [200] * calls
    assert state.barrier_arrived == calls


async def test_sync_function_runs_off_the_event_loop(make_host: HostFactory) -> None:
    host = await make_host(["sync_info"], settings={})
    async with httpx.AsyncClient(base_url=host.url, timeout=10) as http:
        data = (await http.get("/api/sync-info")).json()
    assert data == {"main_thread": False, "loop_running": False}


async def test_route_prefix_from_host_config(make_host: HostFactory) -> None:
    from local_runner.host_config import HostConfig

    host = await make_host(["hello"], settings={}, host_config=HostConfig(route_prefix=""))
    async with httpx.AsyncClient(base_url=host.url, timeout=10) as http:
        assert (await http.get("/hello/x")).text == "Hello, x"
        assert (await http.get("/api/hello/x")).status_code == 404


async def test_shutdown_waits_for_running_requests_and_refuses_new_ones(make_host: HostFactory, state: Any) -> None:
    state.reset(barrier_size=2)  # the first call blocks until a second arrives or the barrier is opened
    host = await make_host(["barrier"], settings={})
    async with httpx.AsyncClient(base_url=host.url, timeout=30) as running, \
            httpx.AsyncClient(base_url=host.url, timeout=5) as fresh:
        pending = asyncio.create_task(running.get("/api/barrier"))
        await eventually(lambda: state.barrier_arrived == 1, what="the first request to be inside the function")
        assert host.http.accepting
        stopping = asyncio.create_task(host.stop(grace_seconds=20))
        await eventually(lambda: not host.http.accepting, what="the server to begin stopping")

        async def refused() -> bool:
            try:
                response = await fresh.get("/api/barrier")
            except httpx.TransportError:
                return True
            return response.status_code == 503

        await eventually(refused, what="new requests to be refused")
        assert not pending.done() and not stopping.done()
        assert state.barrier_open is not None
        state.barrier_open.set()
        response = await pending
        assert (response.status_code, response.text) == (200, "through")
        await asyncio.wait_for(stopping, 10)


async def test_port_in_use_is_a_clean_startup_error(make_host: HostFactory, sample: Any) -> None:
    from local_runner.errors import StartupError
    from local_runner.host import LocalHost

    first = await make_host(["hello"], settings={})
    second = LocalHost(sample.app, settings={}, port=first.http.port, functions=["hello"])
    with pytest.raises(StartupError, match="cannot listen"):
        await second.start()
