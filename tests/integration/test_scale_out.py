"""Two app processes (Functions scaled out) share one token: one token request for 200 concurrent publishes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from devstack.azurite import Azurite
from sandbox.process import SandboxProcess
from tests.integration.conftest import FUNCTION_KEY, RunningApp, run_app

SCALEOUT = {"INQUBA_TENANT": "scaleout", "INQUBA_USERNAME": "scaleout-user", "INQUBA_CLIENT_ID": "scaleout-client"}


@pytest.fixture(scope="module")
def two_apps(azurite: Azurite, sandbox: SandboxProcess) -> Iterator[list[RunningApp]]:
    apps = [run_app(azurite, sandbox, **SCALEOUT) for _ in range(2)]
    try:
        yield apps
    finally:
        for app in apps:
            app.client.close()
            app.process.stop()


async def test_200_concurrent_publishes_from_two_processes_make_one_token_request(
    two_apps: list[RunningApp], sandbox: SandboxProcess
) -> None:
    sandbox.control.clear_requests()

    async def publish(client: httpx.AsyncClient, n: int) -> int:
        body = {"eventDefinitionCode": "SCALE", "attributes": {"n": n}}
        return (await client.post("/api/inquba/events", json=body)).status_code

    clients = [
        httpx.AsyncClient(base_url=app.process.base_url, headers={"x-functions-key": FUNCTION_KEY}, timeout=60)
        for app in two_apps
    ]
    try:
        statuses = await asyncio.gather(*(publish(clients[n % 2], n) for n in range(200)))
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    assert statuses == [200] * 200
    token_requests = [
        r for r in sandbox.control.requests(target="inquba-token") if r["path"] == "/scaleout/connect/token"
    ]
    assert len(token_requests) == 1
    events = [r for r in sandbox.control.requests(target="inquba-events") if "/scaleout/" in r["path"]]
    assert len(events) == 200
