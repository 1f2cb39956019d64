"""Controls: configuration, faults (rate limit, injected errors, timeouts), request log, process."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from aiohttp import test_utils

from sandbox import config as config_module
from sandbox.client import SandboxControl, SandboxControlError
from sandbox.config import SandboxConfig
from sandbox.process import SandboxProcess
from sandbox.server import create_app
from tests.sandbox.helpers import INSIDER_HEADERS, TOKEN_FORM, UPSERT, get_token, upsert

ONE_USER = {"users": [{"identifiers": {"uuid": "u-1"}, "attributes": {"name": "Ann"}}]}


async def wait_for_request(control: SandboxControl, target: str) -> dict:
    """The first recorded request on `target`, polling the control API until it shows up."""
    for _ in range(500):
        entries = control.requests(target=target)
        if entries:
            return entries[0]
        await asyncio.sleep(0.01)
    raise AssertionError(f"no {target} request recorded")


# --- configuration -----------------------------------------------------------------------------


def test_configure_is_partial_and_reset_restores_defaults(sandbox: SandboxProcess) -> None:
    defaults = sandbox.control.config()
    assert defaults == SandboxConfig().to_json()
    assert defaults["error_rates"] == {}

    updated = sandbox.control.configure(latency_ms=5, error_rates={"500": 0.25})
    assert updated["latency_ms"] == 5
    assert updated["error_rates"] == {"500": 0.25}
    assert updated["tenants"] == defaults["tenants"]

    assert sandbox.control.reset() == defaults


@pytest.mark.parametrize(
    "settings",
    [
        {"no_such_key": 1},
        {"error_rates": {"500": 0.8, "503": 0.3}},
        {"error_rates": {"200": 0.1}},
        {"error_targets": ["insider", "elsewhere"]},
        {"insider_partner_name": "SandboxPartner"},
        {"rate_limit_per_minute": 0},
        {"rate_limit_per_minute": {"nowhere": 1}},
        {"rate_limit_window_seconds": 0},
        {"insider_pii_attributes": "email"},
        {"timeout_rate": 2},
        {"tenants": {"t": {"username": "u"}}},
    ],
)
def test_invalid_config_is_refused_whole(sandbox: SandboxProcess, settings: dict) -> None:
    with pytest.raises(SandboxControlError) as refused:
        sandbox.control.configure(latency_ms=7, **settings)
    assert refused.value.status == 400
    assert sandbox.control.config()["latency_ms"] == 0


def test_every_config_key_is_validated() -> None:
    assert set(config_module._VALIDATORS) == set(SandboxConfig().to_json())


def test_control_urls(sandbox: SandboxProcess) -> None:
    control = sandbox.control
    assert control.inquba_token_url() == f"{sandbox.url}/sandbox/connect/token"
    assert control.inquba_api_url("acme") == f"{sandbox.url}/tenants/acme/cems/api"
    assert control.insider_api_url() == f"{sandbox.url}/api"
    assert control.health() == {"status": "ok"}


# --- rate limit ----------------------------------------------------------------------------------


async def test_rate_limit_answers_429_with_retry_after(sandbox: SandboxProcess, http: httpx.AsyncClient) -> None:
    sandbox.control.configure(rate_limit_per_minute={"insider": 2})
    statuses = [(await upsert(http, ONE_USER)).status_code for _ in range(2)]
    limited = await upsert(http, ONE_USER)

    assert statuses == [200, 200]
    assert limited.status_code == 429
    assert limited.json() == {"error": "rejected: too many requests"}
    assert int(limited.headers["Retry-After"]) >= 1
    # Other targets have their own budget (here: none).
    assert (await http.post("/sandbox/connect/token", data=TOKEN_FORM)).status_code == 200
    assert sandbox.control.stats()["requests"]["insider-upsert"] == {"200": 2, "429": 1}
    assert sandbox.control.requests(target="insider-upsert")[-1]["fault"] == "rate-limit"


DOCUMENTED_LIMITS = {
    "inquba-token": None,
    "inquba-api": None,
    "insider": 25_000,
    "insider-delete": 10_000,
    "insider-anonymize": 500,
    "insider-profile": 1_000,
}


def test_rate_limits_are_the_documented_ones_and_updates_merge(sandbox: SandboxProcess) -> None:
    control = sandbox.control
    assert control.config()["rate_limit_per_minute"] == DOCUMENTED_LIMITS
    merged = control.configure(rate_limit_per_minute={"insider-anonymize": 3, "inquba-api": 100})
    assert merged["rate_limit_per_minute"] == {**DOCUMENTED_LIMITS, "insider-anonymize": 3, "inquba-api": 100}
    assert set(control.configure(rate_limit_per_minute=5)["rate_limit_per_minute"].values()) == {5}
    assert set(control.configure(rate_limit_per_minute=None)["rate_limit_per_minute"].values()) == {None}


async def test_anonymise_is_limited_to_500_a_minute_by_default(http: httpx.AsyncClient) -> None:
    body = {"identifiers": {"uuid": "nobody"}}
    statuses = [
        (await http.post("/api/user/v1/anonymize", json=body, headers=INSIDER_HEADERS)).status_code for _ in range(501)
    ]
    assert statuses == [404] * 500 + [429]


async def test_a_429_storm_ends_once_retry_after_is_honoured(
    sandbox: SandboxProcess, http: httpx.AsyncClient
) -> None:
    limits = sandbox.control.set_rate_limits({"insider-delete": 2}, window_seconds=1)
    assert limits == {**DOCUMENTED_LIMITS, "insider-delete": 2}
    assert sandbox.control.config()["rate_limit_window_seconds"] == 1

    async def delete() -> httpx.Response:
        return await http.post("/api/user/v1/delete", json={"identifiers": {"uuid": "u"}}, headers=INSIDER_HEADERS)

    admitted = [(await delete()).status_code for _ in range(2)]
    storm = [await delete() for _ in range(5)]  # retried at once: refused, and not counted against the budget
    assert admitted == [200, 200]
    assert {r.status_code for r in storm} == {429}
    retry_after = max(int(r.headers["Retry-After"]) for r in storm)
    assert retry_after == 1  # the seconds until a slot frees, rounded up
    assert (await upsert(http, ONE_USER)).status_code == 200  # other targets keep their own budget

    await asyncio.sleep(retry_after)  # what a client honouring Retry-After does
    assert (await delete()).status_code == 200
    statuses = [r["status"] for r in sandbox.control.requests(target="insider-delete")]
    assert statuses == [200, 200, 429, 429, 429, 429, 429, 200]


async def test_rate_limit_applies_to_inquba_token(sandbox: SandboxProcess, http: httpx.AsyncClient) -> None:
    sandbox.control.configure(rate_limit_per_minute=1)
    await get_token(http)
    limited = await http.post("/sandbox/connect/token", data=TOKEN_FORM)
    assert limited.status_code == 429
    assert "Retry-After" in limited.headers


# --- injected errors ---------------------------------------------------------------------------


async def statuses_with_seed(control: SandboxControl, http: httpx.AsyncClient, seed: int) -> list[int]:
    control.reset()
    control.configure(random_seed=seed, error_rates={"500": 0.3, "503": 0.2}, error_targets=["insider"])
    return [(await upsert(http, ONE_USER)).status_code for _ in range(30)]


async def test_error_injection_is_reproducible_with_a_seed(sandbox: SandboxProcess, http: httpx.AsyncClient) -> None:
    first = await statuses_with_seed(sandbox.control, http, 1234)
    second = await statuses_with_seed(sandbox.control, http, 1234)

    assert first == second
    assert {200, 500, 503} <= set(first)
    recorded = [r["status"] for r in sandbox.control.requests(target="insider-upsert")]
    assert recorded == second


async def test_injected_errors_follow_targets_and_carry_retry_after(
    sandbox: SandboxProcess, http: httpx.AsyncClient
) -> None:
    sandbox.control.configure(error_rates={"503": 1.0}, error_targets=["inquba-token"], retry_after_seconds=3)
    injected = await http.post("/sandbox/connect/token", data=TOKEN_FORM)
    assert injected.status_code == 503
    assert injected.headers["Retry-After"] == "3"
    assert injected.headers["X-Sandbox-Fault"] == "error"
    assert (await upsert(http, ONE_USER)).status_code == 200

    sandbox.control.configure(error_rates={"429": 1.0}, error_targets=["insider"])
    throttled = await upsert(http, ONE_USER)
    assert throttled.status_code == 429
    assert throttled.json() == {"error": "rejected: too many requests"}
    assert throttled.headers["Retry-After"] == "3"


async def test_retry_after_can_be_left_out(sandbox: SandboxProcess, http: httpx.AsyncClient) -> None:
    sandbox.control.configure(error_rates={"429": 1.0}, retry_after_seconds=None)
    response = await upsert(http, ONE_USER)
    assert response.status_code == 429
    assert "Retry-After" not in response.headers


# --- timeouts ----------------------------------------------------------------------------------


async def test_timeout_holds_the_request_until_the_client_gives_up(
    sandbox: SandboxProcess, http: httpx.AsyncClient
) -> None:
    sandbox.control.configure(timeout_rate=1.0, timeout_seconds=60, error_targets=["insider"])
    with pytest.raises(httpx.TimeoutException):
        await upsert(http, ONE_USER, timeout=0.3)
    held = sandbox.control.requests(target="insider-upsert")[0]
    assert held["fault"] == "timeout"
    assert sandbox.control.insider_users() == []


async def test_held_request_answers_normally_when_released(sandbox: SandboxProcess, http: httpx.AsyncClient) -> None:
    sandbox.control.configure(timeout_rate=1.0, timeout_seconds=60, error_targets=["insider"])
    pending = asyncio.create_task(upsert(http, ONE_USER))
    await wait_for_request(sandbox.control, "insider-upsert")
    assert not pending.done()

    sandbox.control.reset()  # releases held requests

    response = await pending
    assert response.status_code == 200


# --- request log -------------------------------------------------------------------------------


async def test_requests_are_recorded_filtered_and_cleared(sandbox: SandboxProcess, http: httpx.AsyncClient) -> None:
    token = await get_token(http)
    event = {"eventDefinitionCode": "E", "attributes": [{"code": "a", "value": "1"}]}
    await http.post("/tenants/sandbox/cems/api/Events?x=1", json=event, headers={"Authorization": f"Bearer {token}"})
    await http.post("/tenants/sandbox/cems/api/Transactions", headers={"Authorization": f"Bearer {token}"})
    await upsert(http, ONE_USER)
    sandbox.control.stats()  # control calls are not recorded

    entries = sandbox.control.requests()
    assert [e["target"] for e in entries] == [
        "inquba-token",
        "inquba-events",
        "inquba-transactions",
        "insider-upsert",
    ]
    assert [e["seq"] for e in entries] == [1, 2, 3, 4]
    assert all(e["method"] == "POST" for e in entries)
    events = entries[1]
    assert events["path"] == "/tenants/sandbox/cems/api/Events"
    assert events["query"] == {"x": "1"}
    assert events["headers"]["authorization"] == f"Bearer {token}"
    assert events["json"] == event
    assert json.loads(events["body"]) == event
    assert events["form"] is None
    assert events["status"] == 200
    assert entries[0]["form"] == TOKEN_FORM
    assert entries[3]["headers"]["x-partner-name"] == INSIDER_HEADERS["X-PARTNER-NAME"]

    assert [e["seq"] for e in sandbox.control.requests(target="insider-upsert")] == [4]
    assert [e["seq"] for e in sandbox.control.requests(since=2)] == [3, 4]

    sandbox.control.clear_requests()
    assert sandbox.control.requests() == []
    stats = sandbox.control.stats()
    assert stats["total"] == 4  # counters survive clearing the log
    assert stats["tokens_issued"] == 1
    assert stats["requests"]["inquba-events"] == {"200": 1}


def test_max_recorded_requests_keeps_the_newest(sandbox: SandboxProcess) -> None:
    sandbox.control.configure(max_recorded_requests=2)
    with httpx.Client(base_url=sandbox.url) as client:
        for _ in range(3):
            client.post("/sandbox/connect/token", data=TOKEN_FORM)
    assert [e["seq"] for e in sandbox.control.requests()] == [2, 3]


# --- in-process app ----------------------------------------------------------------------------


async def test_create_app_with_initial_config() -> None:
    server = test_utils.TestServer(create_app({"insider_partner_name": "acme", "insider_api_key": "k"}))
    await server.start_server()
    try:
        async with httpx.AsyncClient(base_url=str(server.make_url(""))) as client:
            headers = {"X-PARTNER-NAME": "acme", "X-REQUEST-TOKEN": "k"}
            assert (await client.post(UPSERT, json=ONE_USER, headers=headers)).status_code == 200
            await client.post("/_control/config", json={"insider_api_key": "other"})
            assert (await client.post(UPSERT, json=ONE_USER, headers=headers)).status_code == 403
            # reset restores the config the app was created with, not the library defaults
            await client.post("/_control/reset")
            assert (await client.post(UPSERT, json=ONE_USER, headers=headers)).status_code == 200
    finally:
        await server.close()
