"""Upsert bodies, packing users into requests within both limits, and splitting partial failures."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.insider.compiled_mapping import load_mapping
from shared.insider.upsert import (
    MAX_BYTES,
    MAX_USERS,
    UNATTRIBUTED,
    build_upsert_body,
    encode_body,
    pack_users,
    split_failures,
)


def _mapping(skip_hook: bool) -> Any:
    return load_mapping({"identifiers": [{"source": "id", "insider": "uuid"}], "options": {"skipHook": skip_hook}})


def _user(uuid: str, padding: int = 0, name: str = "x") -> dict[str, Any]:
    return {"identifiers": {"uuid": uuid}, "attributes": {"name": name + "a" * padding}}


def _request_bytes(users: list[dict[str, Any]], batch: list[int], skip_hook: bool = False) -> int:
    return len(encode_body(build_upsert_body(_mapping(skip_hook), [users[i] for i in batch])))


# -- body ------------------------------------------------------------------------------------------


def test_body_always_carries_skip_hook() -> None:
    users = [_user("a")]
    assert build_upsert_body(_mapping(False), users) == {"skip_hook": False, "users": users}
    assert build_upsert_body(_mapping(True), users) == {"skip_hook": True, "users": users}
    assert list(build_upsert_body(_mapping(False), users)) == ["skip_hook", "users"]


def test_encode_body_is_compact_utf8() -> None:
    body = {"skip_hook": False, "users": [_user("a", name="Zoë")]}
    encoded = encode_body(body)
    assert encoded == b'{"skip_hook":false,"users":[{"identifiers":{"uuid":"a"},"attributes":{"name":"Zo\xc3\xab"}}]}'
    assert json.loads(encoded) == body


def test_limits_are_insiders() -> None:
    assert (MAX_USERS, MAX_BYTES) == (1000, 5_000_000)


# -- packing ---------------------------------------------------------------------------------------


def _assert_valid_packing(
    users: list[dict[str, Any]], batches: list[list[int]], max_users: int, max_bytes: int, skip_hook: bool = False
) -> None:
    sent = [i for batch in batches for i in batch]
    assert sent == sorted(sent)  # order kept, nothing twice
    for position, batch in enumerate(batches):
        assert 1 <= len(batch) <= max_users
        assert _request_bytes(users, batch, skip_hook) <= max_bytes
        if position + 1 < len(batches):  # closed only because the next user would not fit
            grown = [*batch, batches[position + 1][0]]
            assert len(grown) > max_users or _request_bytes(users, grown, skip_hook) > max_bytes


def test_count_limit() -> None:
    users = [_user(str(i)) for i in range(2500)]
    batches = pack_users(users)
    assert [len(batch) for batch in batches] == [1000, 1000, 500]
    assert batches.oversized == {}
    _assert_valid_packing(users, batches, 1000, 5_000_000)


def test_bytes_bind_before_count() -> None:
    users = [_user(str(i), padding=100) for i in range(10)]
    one = _request_bytes(users, [0])
    three = _request_bytes(users, [0, 1, 2])
    batches = pack_users(users, max_users=1000, max_bytes=three)
    assert [len(batch) for batch in batches] == [3, 3, 3, 1]
    _assert_valid_packing(users, batches, 1000, three)
    # One byte less and only two fit.
    assert [len(b) for b in pack_users(users, max_users=1000, max_bytes=three - 1)] == [2, 2, 2, 2, 2]
    assert one < three


def test_exact_size_with_multibyte_characters() -> None:
    users = [_user(str(i), padding=10, name="é" * 50) for i in range(6)]
    exact = _request_bytes(users, [0, 1])
    batches = pack_users(users, max_bytes=exact)
    assert [len(batch) for batch in batches] == [2, 2, 2]
    _assert_valid_packing(users, batches, MAX_USERS, exact)


def test_skip_hook_changes_the_envelope_by_one_byte() -> None:
    users = [_user(str(i), padding=20) for i in range(4)]
    exact_true = _request_bytes(users, [0, 1], skip_hook=True)
    assert [len(b) for b in pack_users(users, max_bytes=exact_true, skip_hook=True)] == [2, 2]
    assert [len(b) for b in pack_users(users, max_bytes=exact_true, skip_hook=False)] == [1, 1, 1, 1]


def test_both_limits_mixed_sizes() -> None:
    users = [_user(str(i), padding=(i * 37) % 400) for i in range(300)]
    for max_users, max_bytes in [(7, 2_000), (50, 1_500), (1000, 10_000), (3, 100_000)]:
        batches = pack_users(users, max_users=max_users, max_bytes=max_bytes)
        assert batches.oversized == {}
        _assert_valid_packing(users, batches, max_users, max_bytes)
        assert sum(len(b) for b in batches) == len(users)


def test_a_user_too_large_alone_is_reported_not_sent() -> None:
    users = [_user("a"), _user("huge", padding=5000), _user("b"), _user("c")]
    limit = 1000
    batches = pack_users(users, max_bytes=limit)
    assert batches == [[0, 2, 3]]
    assert list(batches.oversized) == [1]
    assert batches.oversized[1] == _request_bytes(users, [1])
    assert batches.oversized[1] > limit


def test_empty_and_bad_arguments() -> None:
    assert pack_users([]) == []
    with pytest.raises(ValueError):
        pack_users([_user("a")], max_users=0)


# -- partial failures ------------------------------------------------------------------------------


def test_split_failures_verbatim_single_user_response() -> None:
    response = {
        "data": {
            "successful": {},
            "fail": {
                "count": 1,
                "errors": {
                    "users.0.events.0.event_params.*.required": [
                        "event_group_id parameter is required on purchase event",
                        "unit_sale_price parameter is required on purchase event",
                    ],
                    "users.0.identifiers.required": ["either insider_id or idenifiers must be specified"],
                    "users.0.insider_id.required": ["either insider_id or idenifiers must be specified"],
                },
            },
        }
    }
    assert split_failures(response, 1) == {
        0: [
            {
                "path": "events.0.event_params.*.required",
                "messages": [
                    "event_group_id parameter is required on purchase event",
                    "unit_sale_price parameter is required on purchase event",
                ],
            },
            {"path": "identifiers.required", "messages": ["either insider_id or idenifiers must be specified"]},
            {"path": "insider_id.required", "messages": ["either insider_id or idenifiers must be specified"]},
        ]
    }


def test_split_failures_multi_user_with_regex_keys_and_unparseable_keys() -> None:
    response = {
        "data": {
            "successful": {"count": 7},
            "fail": {
                "count": 3,
                "errors": {
                    "users.3.events.0.event_params.*.required": [
                        "unit_sale_price parameter is required on purchase event"
                    ],
                    "users.0.identifiers.*.regexp(^.+@.+\\..+$)": ["not a valid email address: sample"],
                    "users.3.events.1.event_name.*.regexp(^[a-z0-9][a-zA-Z0-9._-]*$)": [
                        "invalid event name: homepageView"
                    ],
                    "users.9.identifiers.*.regexp(^\\+[1-9]\\d{6,14}$)": ["user has an invalid phone number: 12345"],
                    "users.12.identifiers.*.type(string)": ["uuid must be string: 12345"],  # beyond user_count
                    "request.something": "free text",
                },
            },
        }
    }
    assert split_failures(response, 10) == {
        3: [
            {
                "path": "events.0.event_params.*.required",
                "messages": ["unit_sale_price parameter is required on purchase event"],
            },
            {
                "path": "events.1.event_name.*.regexp(^[a-z0-9][a-zA-Z0-9._-]*$)",
                "messages": ["invalid event name: homepageView"],
            },
        ],
        0: [{"path": "identifiers.*.regexp(^.+@.+\\..+$)", "messages": ["not a valid email address: sample"]}],
        9: [
            {
                "path": "identifiers.*.regexp(^\\+[1-9]\\d{6,14}$)",
                "messages": ["user has an invalid phone number: 12345"],
            }
        ],
        UNATTRIBUTED: [
            {"path": "users.12.identifiers.*.type(string)", "messages": ["uuid must be string: 12345"]},
            {"path": "request.something", "messages": ["free text"]},
        ],
    }


def test_split_failures_success_gives_nothing() -> None:
    assert split_failures({"data": {"successful": {"count": 2}, "fail": {}}}, 2) == {}
    assert split_failures({"data": {"successful": {"count": 2}}}, 2) == {}


def test_split_failures_keeps_unexplained_counts_and_odd_bodies() -> None:
    assert split_failures({"data": {"successful": {}, "fail": {"count": 2}}}, 2) == {
        UNATTRIBUTED: [{"path": "data.fail.count", "messages": ["2 user(s) failed but errors name 0"]}]
    }
    assert split_failures({"error": "users must be defined: bad request"}, 0) == {
        UNATTRIBUTED: [{"path": "error", "messages": ["users must be defined: bad request"]}]
    }
    assert split_failures({"data": {"fail": {"count": 1, "errors": ["x"]}}}, 1)[UNATTRIBUTED][0] == {
        "path": "data.fail.errors",
        "messages": ["x"],
    }
    odd = split_failures("<html>502</html>", 1)
    assert list(odd) == [UNATTRIBUTED]
    assert "unrecognised response" in odd[UNATTRIBUTED][0]["messages"][0]
