"""Planted secrets and the live token appear nowhere but the token endpoint's own answer."""

from __future__ import annotations

import asyncio

from azure.data.tables.aio import TableServiceClient

from devstack.azurite import Azurite
from sandbox.client import SandboxControl
from tests.integration.conftest import CANARY_CLIENT_SECRET, CANARY_INSIDER_KEY, CANARY_PASSWORD, RunningApp


async def table_text(connection_string: str, table_name: str) -> str:
    async with TableServiceClient.from_connection_string(connection_string) as service:
        table = service.get_table_client(table_name)
        return "\n".join([repr(e) async for e in table.list_entities()])


def test_secrets_reach_no_log_table_output_or_response(
    app: RunningApp, upstream: SandboxControl, azurite: Azurite
) -> None:
    responses = []
    upstream.expire_tokens()  # force a token request through the logged path
    responses.append(app.client.post("/api/inquba/events", json={"eventDefinitionCode": "X"}))
    token = app.client.post("/api/inquba/token")
    assert token.status_code == 200
    live_token = token.json()["accessToken"]
    upstream.configure(error_rates={"500": 1.0}, error_targets=["inquba-api"])
    responses.append(app.client.post("/api/inquba/events", json={"eventDefinitionCode": "X"}))
    upstream.configure(error_rates={}, tenants={"sandbox": {"username": "sandbox-user", "password": "other",
                                                            "client_id": "sandbox-client", "client_secret": "other"}})
    upstream.expire_tokens()
    responses.append(app.client.post("/api/inquba/events", json={"eventDefinitionCode": "X"}))  # token 401
    responses.append(app.client.post("/api/inquba/token", json={"tenantName": "sandbox", "hostUrl": "x.inqubacx.com",
                                                                "username": "u", "password": CANARY_PASSWORD,
                                                                "clientId": "c", "clientSecret": "nope"}))
    assert [r.status_code for r in responses] == [200, 502, 502, 502]

    log_text = asyncio.run(table_text(azurite.connection_string, "outboundlog"))
    assert "connect/token" in log_text and "Events" in log_text  # the calls were logged
    canaries = [CANARY_PASSWORD, CANARY_CLIENT_SECRET, CANARY_INSIDER_KEY, live_token]
    for canary in canaries:
        assert canary not in log_text
        assert canary not in app.output
        for response in responses:
            assert canary not in response.text
            assert canary not in str(response.headers)
