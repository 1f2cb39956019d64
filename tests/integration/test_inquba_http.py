"""inQuba routes end to end: local runner, Azurite, sandbox. Wire formats checked against the reference."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest
from ulid import ULID

from sandbox.client import SandboxControl
from tests.integration.conftest import CANARY_CLIENT_SECRET, CANARY_PASSWORD, RunningApp

EVENT = {
    "eventDefinitionCode": "WELCOME_SMS",
    "isTest": True,
    "attributes": {"CustomerId": "123", "Points": 1.50, "Opted": False, "Count": 7, "When": "2026-01-02T03:04:05Z"},
    "customerId": "cust-42",
    "customerName": "Ada Lovelace",
}


def test_event_is_sent_in_the_connectors_wire_format(app: RunningApp, upstream: SandboxControl) -> None:
    raw = json.dumps(EVENT).replace("1.5", "1.50")  # a number as the caller wrote it: the app keeps "1.50"
    response = app.client.post("/api/inquba/events", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "delivered" and body["upstreamStatus"] == 200
    assert response.headers["x-identifier"] == body["identifier"]
    ULID.from_str(body["identifier"])  # generated identifiers are ULIDs

    (sent,) = upstream.requests(target="inquba-events")
    assert sent["path"] == "/tenants/sandbox/cems/api/Events"
    assert sent["headers"]["authorization"].startswith("Bearer ")
    assert sent["headers"]["tenantname"] == "sandbox"
    assert sent["json"] == {
        "eventDefinitionCode": "WELCOME_SMS",
        "isTest": True,
        "attributes": [
            {"code": "CustomerId", "value": "123"},
            {"code": "Points", "value": "1.50"},
            {"code": "Opted", "value": "false"},
            {"code": "Count", "value": "7"},
            {"code": "When", "value": "2026-01-02T03:04:05Z"},
        ],
    }


def test_token_request_has_exactly_the_connectors_form_fields(app: RunningApp, upstream: SandboxControl) -> None:
    upstream.expire_tokens()
    assert app.client.post("/api/inquba/events", json=EVENT).status_code == 200
    token_calls = upstream.requests(target="inquba-token")
    assert token_calls, "an expired token must be replaced"
    form = parse_qs(token_calls[-1]["body"], keep_blank_values=True)
    assert form == {
        "username": ["sandbox-user"],
        "password": [CANARY_PASSWORD],
        "grant_type": ["password"],
        "client_id": ["sandbox-client"],
        "scope": ["openid cx_api"],
        "client_secret": [CANARY_CLIENT_SECRET],
    }
    headers = token_calls[-1]["headers"]
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    assert "authorization" not in headers


def test_transaction_route_and_caller_identifier(app: RunningApp, upstream: SandboxControl) -> None:
    response = app.client.post(
        "/api/inquba/transactions",
        json={"transactionDefinitionCode": "PURCHASE", "attributes": [{"code": "Amount", "value": 10}],
              "identifier": "order-778.1"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["identifier"] == "order-778.1"
    (sent,) = upstream.requests(target="inquba-transactions")
    assert sent["json"] == {"transactionDefinitionCode": "PURCHASE", "isTest": False,
                            "attributes": [{"code": "Amount", "value": "10"}]}


def test_token_is_reused_and_an_expired_one_refreshed_once(app: RunningApp, upstream: SandboxControl) -> None:
    assert app.client.post("/api/inquba/events", json=EVENT).status_code == 200  # warm the cache
    upstream.clear_requests()
    for _ in range(5):
        assert app.client.post("/api/inquba/events", json=EVENT).status_code == 200
    assert upstream.requests(target="inquba-token") == []
    upstream.expire_tokens()
    assert app.client.post("/api/inquba/events", json=EVENT).status_code == 200
    assert len(upstream.requests(target="inquba-token")) == 1
    statuses = [r["status"] for r in upstream.requests(target="inquba-events")]
    assert statuses[-2:] == [401, 200]


@pytest.mark.parametrize(
    ("status", "expected", "hint"),
    [(500, 502, "attributes"), (400, 502, None), (404, 502, "tenant")],
)
def test_upstream_refusals_become_502_with_the_connector_hint(
    app: RunningApp, upstream: SandboxControl, status: int, expected: int, hint: str | None
) -> None:
    app.client.post("/api/inquba/events", json=EVENT)  # make sure a token is cached first
    upstream.configure(error_rates={str(status): 1.0}, error_targets=["inquba-api"])
    response = app.client.post("/api/inquba/events", json=EVENT)
    assert response.status_code == expected
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["upstreamStatus"] == status
    assert problem["identifier"] == response.headers["x-identifier"]
    if hint:
        assert hint in problem["hint"]


def test_throttling_is_retried_once_then_answered_503_with_retry_after(
    app: RunningApp, upstream: SandboxControl
) -> None:
    app.client.post("/api/inquba/events", json=EVENT)
    upstream.clear_requests()
    upstream.configure(error_rates={"429": 1.0}, error_targets=["inquba-api"], retry_after_seconds=1)
    response = app.client.post("/api/inquba/events", json=EVENT)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert [r["status"] for r in upstream.requests(target="inquba-events")] == [429, 429]


def test_long_retry_after_is_passed_to_the_caller_without_waiting(app: RunningApp, upstream: SandboxControl) -> None:
    app.client.post("/api/inquba/events", json=EVENT)
    upstream.clear_requests()
    upstream.configure(error_rates={"503": 1.0}, error_targets=["inquba-api"], retry_after_seconds=120)
    response = app.client.post("/api/inquba/events", json=EVENT)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "120"
    assert len(upstream.requests(target="inquba-events")) == 1


def test_upstream_timeout_is_a_504(app: RunningApp, upstream: SandboxControl) -> None:
    app.client.post("/api/inquba/events", json=EVENT)
    upstream.configure(timeout_rate=1.0, timeout_seconds=5, error_targets=["inquba-api"])
    response = app.client.post("/api/inquba/events", json=EVENT)
    assert response.status_code == 504
    assert response.json()["upstreamStatus"] is None


def test_wrong_credentials_on_the_token_endpoint_are_a_502_naming_credentials(
    app: RunningApp, upstream: SandboxControl
) -> None:
    upstream.configure(tenants={"sandbox": {"username": "sandbox-user", "password": "changed", "client_id":
                                            "sandbox-client", "client_secret": "changed"}})
    upstream.expire_tokens()
    response = app.client.post("/api/inquba/events", json=EVENT)
    assert response.status_code == 502
    problem = response.json()
    assert problem["operation"] == "token" and problem["upstreamStatus"] == 401
    assert "credentials" in problem["hint"]


BAD_BODIES = [
    ({"isTest": True}, "eventDefinitionCode"),
    ({"eventDefinitionCode": ""}, "eventDefinitionCode"),
    ({"eventDefinitionCode": "X", "isTest": "yes"}, "isTest"),
    ({"eventDefinitionCode": "X", "attributes": [{"code": "a", "value": {"x": 1}}]}, "attributes[0].value"),
    ({"eventDefinitionCode": "X", "attributes": [{"value": "1"}]}, "attributes[0].code"),
    ({"eventDefinitionCode": "X", "attributes": "a=1"}, "attributes"),
    ({"eventDefinitionCode": "X", "identifier": "has spaces"}, "identifier"),
    ({"eventDefinitionCode": "X", "colour": "red"}, "colour"),
    (["not", "an", "object"], "body"),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES)
def test_bad_input_is_a_400_problem_naming_the_field(app: RunningApp, body: object, field: str) -> None:
    response = app.client.post("/api/inquba/events", json=body)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in response.json()["errors"]]


def test_malformed_json_wrong_type_and_oversize(app: RunningApp) -> None:
    bad_json = app.client.post("/api/inquba/events", content=b"{nope", headers={"content-type": "application/json"})
    assert bad_json.status_code == 400 and bad_json.json()["errors"][0]["field"] == "body"
    form = app.client.post("/api/inquba/events", content=b"a=b",
                           headers={"content-type": "application/x-www-form-urlencoded"})
    assert form.status_code == 415
    huge = app.client.post("/api/inquba/events", content=b"[" + b"1," * 600_000 + b"1]",
                           headers={"content-type": "application/json"})
    assert huge.status_code == 413
    deep = app.client.post("/api/inquba/events", content=b"[" * 100 + b"]" * 100,
                           headers={"content-type": "application/json"})
    assert deep.status_code == 400
    for response in (bad_json, form, huge, deep):
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "Traceback" not in response.text


def test_keys_and_unknown_routes(app: RunningApp) -> None:
    assert app.client.post("/api/inquba/events", json=EVENT, headers={"x-functions-key": "wrong"}).status_code == 401
    assert app.client.get("/api/health", headers={"x-functions-key": ""}).status_code == 200
    assert app.client.get("/api/no-such-route").status_code == 404


def test_token_route_for_the_configured_connection(app: RunningApp, upstream: SandboxControl) -> None:
    first = app.client.post("/api/inquba/token")
    assert first.status_code == 200, first.text
    assert first.json()["access_token"] == first.json()["accessToken"]  # also the certified connector's name
    second = app.client.post("/api/inquba/token")
    assert second.json()["accessToken"] == first.json()["accessToken"]
    assert second.json()["cached"] is True and second.json()["tokenType"] == "Bearer"
    assert second.headers["cache-control"] == "no-store"


def test_token_route_refuses_hosts_outside_the_allow_list(app: RunningApp, upstream: SandboxControl) -> None:
    fields = {"tenantName": "sandbox", "hostUrl": "169.254.169.254", "username": "u", "password": "p",
              "clientId": "c", "clientSecret": "s"}
    response = app.client.post("/api/inquba/token", json=fields)
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["hostUrl"]
    partial = app.client.post("/api/inquba/token", json={"tenantName": "sandbox"})
    assert partial.status_code == 400
    assert {e["field"] for e in partial.json()["errors"]} == {"hostUrl", "username", "password", "clientId",
                                                              "clientSecret"}
    assert upstream.requests(target="inquba-token") == []


def test_connector_fields_get_their_own_token(app: RunningApp, upstream: SandboxControl) -> None:
    fields = {"tenantName": "second", "hostUrl": "login.inqubacx.com", "username": "second-user",
              "password": CANARY_PASSWORD, "clientId": "second-client", "clientSecret": CANARY_CLIENT_SECRET}
    response = app.client.post("/api/inquba/token", json=fields)
    assert response.status_code == 200, response.text
    (call,) = upstream.requests(target="inquba-token")
    assert call["path"] == "/second/connect/token"


def test_token_route_takes_the_certified_connectors_field_names(app: RunningApp, upstream: SandboxControl) -> None:
    ours = {"tenantName": "second", "hostUrl": "login.inqubacx.com", "username": "second-user",
            "password": CANARY_PASSWORD, "clientId": "second-client", "clientSecret": CANARY_CLIENT_SECRET}
    certified = {"TenantName": "second", "HostURL": "login.inqubacx.com", "username": "second-user",
                 "password": CANARY_PASSWORD, "client_id": "second-client", "client_secret": CANARY_CLIENT_SECRET}
    first = app.client.post("/api/inquba/token", json=ours)
    assert first.status_code == 200, first.text
    response = app.client.post("/api/inquba/token", json=certified)
    assert response.status_code == 200, response.text
    # The same connection (tenant, host, username and client id make the cache key), so the same cached token.
    assert response.json()["cached"] is True
    assert response.json()["access_token"] == response.json()["accessToken"] == first.json()["accessToken"]

    twice = app.client.post("/api/inquba/token", json={**certified, "clientId": "other", "tenantName": "second"})
    assert twice.status_code == 400
    assert {e["field"]: e["message"] for e in twice.json()["errors"]} == {
        "TenantName": "is given twice, as tenantName too", "client_id": "is given twice, as clientId too"}


def test_health(app: RunningApp) -> None:
    response = app.client.get("/api/health")
    assert response.status_code == 200
    assert response.json()["checks"] == {"blob": "ok", "queue": "ok", "table": "ok"}
    assert json.loads(response.text)["version"]
