"""Odd 200 replies of the upsert on request (`insider_upsert_reply`), for the app's unconfirmed-reply tests."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from sandbox.client import SandboxControlError
from sandbox.insider_replies import UPSERT_REPLY_KINDS
from sandbox.process import SandboxProcess
from tests.sandbox.helpers import INSIDER_HEADERS, UPSERT, upsert

TWO_USERS = {
    "users": [
        {"identifiers": {"uuid": "u-1"}, "attributes": {"name": "Ann"}},
        {"identifiers": {"uuid": "u-2"}, "attributes": {"name": "Bob"}},
    ]
}
CONFIRMED = {"data": {"successful": {"count": 2}, "fail": {}}}


def parsed(response: httpx.Response) -> Any:
    """The JSON body, or the text when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return response.text


ODD_BODIES: dict[str, Any] = {
    "not-json": "<html><body>OK</body></html>",
    "empty": "",
    "unknown-shape": {"success": True},
    "unindexed-failures": {
        "data": {"successful": {}, "fail": {"count": 2, "errors": {"unification": ["user could not be unified"]}}}
    },
    "short-count": {"data": {"successful": {"count": 1}, "fail": {}}},
    "excess-fail-count": {"data": {"successful": {}, "fail": {"count": 2, "errors": {}}}},
}


def test_every_kind_has_a_test() -> None:
    assert set(ODD_BODIES) == set(UPSERT_REPLY_KINDS)


@pytest.mark.parametrize("kind", UPSERT_REPLY_KINDS)
async def test_the_next_n_upserts_get_the_odd_reply_and_are_not_applied(
    sandbox: SandboxProcess, http: httpx.AsyncClient, kind: str
) -> None:
    assert sandbox.control.insider_upsert_reply(kind, count=2) == {
        "kind": kind,
        "count": 2,
        "rate": None,
        "apply": False,
    }
    odd = [await upsert(http, TWO_USERS) for _ in range(2)]
    assert [r.status_code for r in odd] == [200, 200]
    assert [parsed(r) for r in odd] == [ODD_BODIES[kind]] * 2
    assert odd[0].headers["X-Sandbox-Fault"] == "reply"
    assert sandbox.control.insider_users() == []
    assert sandbox.control.config()["insider_upsert_reply"] is None  # used up

    normal = await upsert(http, TWO_USERS)
    assert normal.json() == CONFIRMED
    assert [u["key"] for u in sandbox.control.insider_users()] == ["uuid=u-1", "uuid=u-2"]
    assert [r["fault"] for r in sandbox.control.requests(target="insider-upsert")] == ["reply", "reply", None]


async def test_not_json_is_served_as_html(sandbox: SandboxProcess, http: httpx.AsyncClient) -> None:
    sandbox.control.insider_upsert_reply("not-json")
    response = await upsert(http, TWO_USERS)
    assert response.headers["Content-Type"].startswith("text/html")
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


async def test_short_count_of_one_user_counts_none(sandbox: SandboxProcess, http: httpx.AsyncClient) -> None:
    sandbox.control.insider_upsert_reply("short-count")
    response = await upsert(http, {"users": TWO_USERS["users"][:1]})
    assert response.json() == {"data": {"successful": {}, "fail": {}}}


async def test_apply_true_applies_the_valid_users_behind_the_odd_reply(
    sandbox: SandboxProcess, http: httpx.AsyncClient
) -> None:
    sandbox.control.insider_upsert_reply("unknown-shape", apply=True)
    body = {"users": [*TWO_USERS["users"], {"identifiers": {"email": "nope"}, "attributes": {"name": "C"}}]}
    assert (await upsert(http, body)).json() == {"success": True}
    assert [u["key"] for u in sandbox.control.insider_users()] == ["uuid=u-1", "uuid=u-2"]


async def test_a_count_is_used_only_by_upserts_that_would_answer_200(
    sandbox: SandboxProcess, http: httpx.AsyncClient
) -> None:
    sandbox.control.insider_upsert_reply("empty", count=1)
    wrong_key = {**INSIDER_HEADERS, "X-REQUEST-TOKEN": "x"}
    assert (await http.post(UPSERT, json=TWO_USERS, headers=wrong_key)).status_code == 403
    assert (await upsert(http, {"users": []})).status_code == 400
    sandbox.control.configure(error_rates={"503": 1.0}, error_targets=["insider"])
    assert (await upsert(http, TWO_USERS)).status_code == 503
    sandbox.control.configure(error_rates={})
    assert sandbox.control.config()["insider_upsert_reply"]["count"] == 1

    assert (await upsert(http, TWO_USERS)).content == b""
    assert (await upsert(http, TWO_USERS)).json() == CONFIRMED


async def test_a_rate_keeps_answering_and_follows_the_seed(sandbox: SandboxProcess, http: httpx.AsyncClient) -> None:
    async def kinds_of_replies(seed: int) -> list[bool]:
        sandbox.control.reset()
        sandbox.control.configure(random_seed=seed)
        sandbox.control.insider_upsert_reply("unknown-shape", rate=0.5)
        return [(await upsert(http, TWO_USERS)).json() == CONFIRMED for _ in range(30)]

    first = await kinds_of_replies(99)
    assert first == await kinds_of_replies(99)
    assert set(first) == {True, False}
    assert sandbox.control.config()["insider_upsert_reply"]["rate"] == 0.5  # a rate is never used up


async def test_reset_and_none_turn_it_off(sandbox: SandboxProcess, http: httpx.AsyncClient) -> None:
    sandbox.control.insider_upsert_reply("empty", rate=1.0)
    assert sandbox.control.insider_upsert_reply(None) is None
    assert (await upsert(http, TWO_USERS)).json() == CONFIRMED
    sandbox.control.insider_upsert_reply("empty", count=5)
    sandbox.control.reset()
    assert (await upsert(http, TWO_USERS)).json() == CONFIRMED


@pytest.mark.parametrize(
    "value",
    [
        {"kind": "garbled"},
        {"kind": "empty", "count": 0},
        {"kind": "empty", "count": 1, "rate": 0.5},
        {"kind": "empty", "rate": 2},
        {"kind": "empty", "apply": "yes"},
        {"kind": "empty", "times": 1},
        "empty",
    ],
)
def test_invalid_reply_settings_are_refused(sandbox: SandboxProcess, value: Any) -> None:
    with pytest.raises(SandboxControlError) as refused:
        sandbox.control.configure(insider_upsert_reply=value)
    assert refused.value.status == 400
    assert sandbox.control.config()["insider_upsert_reply"] is None
