"""inQuba Journey simulation: token endpoint and Events/Transactions, per inquba-api.md."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from sandbox.process import SandboxProcess
from tests.sandbox.helpers import TOKEN_FORM, get_token

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
EVENTS = "/tenants/sandbox/cems/api/Events"
TRANSACTIONS = "/tenants/sandbox/cems/api/Transactions"


# --- token -------------------------------------------------------------------------------------


async def test_token_with_the_connector_form_fields(sandbox: SandboxProcess, http: httpx.AsyncClient) -> None:
    # The wire body of inquba-api.md §2, field order and %20 as the reference shows it.
    body = (
        "username=sandbox-user&password=sandbox-password&grant_type=password&client_id=sandbox-client"
        "&scope=openid%20cx_api&client_secret=sandbox-secret"
    )
    response = await http.post("/sandbox/connect/token", content=body, headers=FORM)

    assert response.status_code == 200
    payload = response.json()
    assert set(payload) == {"access_token", "token_type", "expires_in", "scope"}
    assert payload["token_type"] == "Bearer"
    assert payload["expires_in"] == 3600
    assert payload["scope"] == "openid cx_api"
    assert isinstance(payload["access_token"], str) and len(payload["access_token"]) >= 32
    [recorded] = sandbox.control.requests(target="inquba-token")
    assert recorded["form"] == TOKEN_FORM
    assert recorded["status"] == 200
    assert sandbox.control.stats()["tokens_issued"] == 1


async def test_token_scope_with_plus_encoding(http: httpx.AsyncClient) -> None:
    # httpx encodes the space as "+", which form decoding reads as a space too.
    response = await http.post("/sandbox/connect/token", data=TOKEN_FORM)
    assert response.status_code == 200


async def test_each_token_is_new_and_opaque(http: httpx.AsyncClient) -> None:
    assert await get_token(http) != await get_token(http)


@pytest.mark.parametrize(
    ("override", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "other-client"}, 401, "invalid_client"),
        ({"password": "wrong"}, 401, "invalid_grant"),
        ({"username": "someone-else"}, 401, "invalid_grant"),
        ({"grant_type": "client_credentials"}, 400, "unsupported_grant_type"),
        ({"scope": "openid"}, 400, "invalid_scope"),
        ({"scope": "cx_api openid"}, 400, "invalid_scope"),
    ],
)
async def test_token_rejects_wrong_fields(
    http: httpx.AsyncClient, override: dict[str, str], status: int, error: str
) -> None:
    response = await http.post("/sandbox/connect/token", data={**TOKEN_FORM, **override})
    assert response.status_code == status
    assert response.json()["error"] == error


@pytest.mark.parametrize("missing", ["client_secret", "username", "grant_type", "scope"])
async def test_token_rejects_a_missing_field(http: httpx.AsyncClient, missing: str) -> None:
    form = {k: v for k, v in TOKEN_FORM.items() if k != missing}
    response = await http.post("/sandbox/connect/token", data=form)
    assert response.status_code in (400, 401)
    assert "access_token" not in response.json()


async def test_token_unknown_tenant_is_404(http: httpx.AsyncClient) -> None:
    response = await http.post("/no-such-tenant/connect/token", data=TOKEN_FORM)
    assert response.status_code == 404


async def test_token_rejects_a_json_body(http: httpx.AsyncClient) -> None:
    response = await http.post("/sandbox/connect/token", json=TOKEN_FORM)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_token_needs_client_credentials_in_the_form_not_http_basic(http: httpx.AsyncClient) -> None:
    basic = base64.b64encode(b"sandbox-client:sandbox-secret").decode()
    form = {k: v for k, v in TOKEN_FORM.items() if k not in ("client_id", "client_secret")}
    response = await http.post("/sandbox/connect/token", data=form, headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_token_ignores_an_authorization_header_next_to_the_form(http: httpx.AsyncClient) -> None:
    # The reference says nothing about the header on the token call: it is not a reason to refuse.
    basic = base64.b64encode(b"someone:else").decode()
    response = await http.post("/sandbox/connect/token", data=TOKEN_FORM, headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 200


async def test_token_without_expires_in_when_configured(sandbox: SandboxProcess, http: httpx.AsyncClient) -> None:
    sandbox.control.configure(include_expires_in=False)
    response = await http.post("/sandbox/connect/token", data=TOKEN_FORM)
    assert response.status_code == 200
    assert "expires_in" not in response.json()
    assert response.json()["access_token"]


async def test_token_lifetime_is_configurable(sandbox: SandboxProcess, http: httpx.AsyncClient) -> None:
    sandbox.control.configure(token_lifetime_seconds=120)
    response = await http.post("/sandbox/connect/token", data=TOKEN_FORM)
    assert response.json()["expires_in"] == 120


# --- Events / Transactions -----------------------------------------------------------------------

EVENT = {
    "eventDefinitionCode": "WELCOME_SMS",
    "isTest": True,
    "attributes": [{"code": "CustomerId", "value": "123"}, {"code": "Mobile", "value": "27820000000"}],
}


async def test_event_with_bearer_token_answers_a_json_string(http: httpx.AsyncClient) -> None:
    token = await get_token(http)
    # No TenantName / AuthorizationToken headers: the sandbox does not require them.
    response = await http.post(EVENTS, json=EVENT, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.text == '"Success"'
    assert isinstance(response.json(), str)


async def test_transaction_with_bearer_token(http: httpx.AsyncClient) -> None:
    token = await get_token(http)
    body = {"transactionDefinitionCode": "ORDER", "isTest": False, "attributes": [{"code": "Amount", "value": "9.50"}]}
    response = await http.post(TRANSACTIONS, json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json() == "Success"


async def test_transaction_body_is_optional_but_event_body_is_not(http: httpx.AsyncClient) -> None:
    headers = {"Authorization": f"Bearer {await get_token(http)}"}
    assert (await http.post(TRANSACTIONS, headers=headers)).status_code == 200
    assert (await http.post(EVENTS, headers=headers)).status_code == 400


async def test_bare_token_is_accepted(http: httpx.AsyncClient) -> None:
    token = await get_token(http)
    response = await http.post(EVENTS, json=EVENT, headers={"Authorization": token})
    assert response.status_code == 200


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "not-a-token", "Bearer", "Basic c2FuZGJveA=="])
async def test_event_without_a_valid_token_is_401(http: httpx.AsyncClient, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = await http.post(EVENTS, json=EVENT, headers=headers)
    assert response.status_code == 401


async def test_expired_token_is_401(sandbox: SandboxProcess, http: httpx.AsyncClient) -> None:
    headers = {"Authorization": f"Bearer {await get_token(http)}"}
    assert (await http.post(EVENTS, json=EVENT, headers=headers)).status_code == 200

    assert sandbox.control.expire_tokens() >= 1  # tokens of earlier tests survive resets
    assert sandbox.control.expire_tokens() == 0

    assert (await http.post(EVENTS, json=EVENT, headers=headers)).status_code == 401
    fresh = {"Authorization": f"Bearer {await get_token(http)}"}
    assert (await http.post(EVENTS, json=EVENT, headers=fresh)).status_code == 200


async def test_issued_tokens_survive_a_reset(sandbox: SandboxProcess, http: httpx.AsyncClient) -> None:
    headers = {"Authorization": f"Bearer {await get_token(http)}"}
    sandbox.control.reset()
    assert (await http.post(EVENTS, json=EVENT, headers=headers)).status_code == 200
    assert sandbox.control.stats()["tokens_issued"] == 0


async def test_token_past_its_lifetime_is_401(sandbox: SandboxProcess, http: httpx.AsyncClient) -> None:
    sandbox.control.configure(token_lifetime_seconds=0)
    headers = {"Authorization": f"Bearer {await get_token(http)}"}
    assert (await http.post(EVENTS, json=EVENT, headers=headers)).status_code == 401


async def test_token_of_another_tenant_is_401(sandbox: SandboxProcess, http: httpx.AsyncClient) -> None:
    tenants = sandbox.control.config()["tenants"]
    tenants["other"] = {"username": "u2", "password": "p2", "client_id": "c2", "client_secret": "s2"}
    sandbox.control.configure(tenants=tenants)
    other = await get_token(http, "other", username="u2", password="p2", client_id="c2", client_secret="s2")

    response = await http.post(EVENTS, json=EVENT, headers={"Authorization": f"Bearer {other}"})
    assert response.status_code == 401
    response = await http.post(
        "/tenants/other/cems/api/Events", json=EVENT, headers={"Authorization": f"Bearer {other}"}
    )
    assert response.status_code == 200


async def test_event_for_unknown_tenant_is_404(http: httpx.AsyncClient) -> None:
    token = await get_token(http)
    response = await http.post(
        "/tenants/nope/cems/api/Events", json=EVENT, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    "attributes",
    [
        [{"code": "Amount", "value": 12}],
        {"CustomerId": "123"},
        [{"value": "123"}],
        [{"code": "CustomerId"}],
        ["CustomerId=123"],
        "CustomerId=123",
        [{"code": 5, "value": "x"}],
    ],
)
async def test_malformed_attributes_are_500(http: httpx.AsyncClient, attributes: Any) -> None:
    token = await get_token(http)
    body = {"eventDefinitionCode": "WELCOME_SMS", "attributes": attributes}
    response = await http.post(EVENTS, json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 500


@pytest.mark.parametrize(
    "body",
    [
        [EVENT],
        "WELCOME_SMS",
        {"eventDefinitionCode": 17},
        {"eventDefinitionCode": "X", "isTest": "true"},
    ],
)
async def test_event_body_with_wrong_shape_is_400(http: httpx.AsyncClient, body: Any) -> None:
    token = await get_token(http)
    response = await http.post(EVENTS, json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400


async def test_event_paths_are_case_sensitive(sandbox: SandboxProcess, http: httpx.AsyncClient) -> None:
    token = await get_token(http)
    response = await http.post(
        "/tenants/sandbox/cems/api/events", json=EVENT, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 404
    [unmatched] = sandbox.control.requests(target="unmatched")
    assert unmatched["path"] == "/tenants/sandbox/cems/api/events"


async def test_event_body_must_be_sent_as_json(http: httpx.AsyncClient) -> None:
    token = await get_token(http)
    response = await http.post(
        EVENTS,
        content=json.dumps(EVENT),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/plain"},
    )
    assert response.status_code == 415
