"""Insider's 200 upsert reply, read strictly: a user is synced only when the documented shape says so.

Reference: insider-api.md §6.1/§6.2 (`data.successful` / `data.fail` with `count` and `errors` keyed
`users.<i>...`). Anything else leaves the users it does not name unconfirmed (retryable), never synced.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from shared.insider.sync import _request_outcomes
from shared.insider.upsert import read_upsert_reply
from shared.upstream import UpstreamResult

FAILURE_OF_USER_1 = {"users.1.events.0.event_name.*.regexp(^[a-z0-9][a-zA-Z0-9._-]*$)": ["invalid event name: X"]}


def reply(body: Any) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


def outcomes(body: Any, users: int) -> list[tuple[str, bool]]:
    result = UpstreamResult(200, reply(body), httpx.Headers(), 0.01, None)
    return [(state, retryable) for state, _errors, retryable in _request_outcomes(result, users)]


def test_documented_success_confirms_every_user() -> None:
    assert read_upsert_reply(reply({"data": {"successful": {"count": 2}, "fail": {}}}), 2).unconfirmed is None
    assert outcomes({"data": {"successful": {"count": 2}, "fail": {}}}, 2) == [("synced", False)] * 2


def test_documented_partial_failure_names_its_user_and_confirms_the_rest() -> None:
    body = {"data": {"successful": {"count": 2}, "fail": {"count": 1, "errors": FAILURE_OF_USER_1}}}
    read = read_upsert_reply(reply(body), 3)
    assert read.unconfirmed is None and list(read.failures) == [1]
    assert outcomes(body, 3) == [("synced", False), ("failed", False), ("synced", False)]


def test_the_references_single_user_failure_is_confirmed() -> None:
    """§6.2 verbatim shape: `successful` empty, one user failing several rules."""
    body = {"data": {"successful": {}, "fail": {"count": 1, "errors": {
        "users.0.identifiers.required": ["either insider_id or idenifiers must be specified"],
        "users.0.insider_id.required": ["either insider_id or idenifiers must be specified"]}}}}
    assert read_upsert_reply(reply(body), 1).unconfirmed is None
    assert outcomes(body, 1) == [("failed", False)]


@pytest.mark.parametrize(("body", "reason"), [
    (b"<html>502 Bad Gateway</html>", "not JSON"),
    (b"", "not JSON"),
    ({"status": "ok"}, "not the documented"),
    ({"data": {"successful": {"count": 3}}}, "not the documented"),
    ({"data": {"successful": {"total": 3}, "fail": {}}}, "no count"),
    ({"data": {"successful": {"count": 2}, "fail": {"count": 1, "errors": {"users.x": ["?"]}}}},
     "errors name 0 user(s)"),
    ({"data": {"successful": {"count": 2}, "fail": {"count": 1, "errors": {**FAILURE_OF_USER_1, "users.x": ["?"]}}}},
     "ties to no user"),
    ({"data": {"successful": {"count": 1}, "fail": {"count": 2, "errors": FAILURE_OF_USER_1}}}, "name 1 user"),
    ({"data": {"successful": {"count": 1}, "fail": {}}}, "is not the 3 user(s) sent"),
    ({"data": {"successful": {"count": 4}, "fail": {}}}, "is not the 3 user(s) sent"),
])
def test_a_reply_that_confirms_nothing_leaves_users_unconfirmed_and_retryable(body: Any, reason: str) -> None:
    assert reason in (read_upsert_reply(reply(body), 3).unconfirmed or "")
    states = outcomes(body, 3)
    assert ("synced", False) not in states
    assert all(state in ("unconfirmed", "failed") for state, _ in states)
    assert all(retryable for state, retryable in states if state == "unconfirmed")


def test_a_named_failure_stays_final_even_when_the_counts_disagree() -> None:
    body = {"data": {"successful": {"count": 2}, "fail": {"count": 2, "errors": FAILURE_OF_USER_1}}}
    assert outcomes(body, 3) == [("unconfirmed", True), ("failed", False), ("unconfirmed", True)]
