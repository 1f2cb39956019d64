"""The sandbox's Insider users: profiles merged from upserts, lookups by identifier (pure, no server)."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.insider_store import InsiderUsers, appends_arrays, identity_key


def apply(users: InsiderUsers, user: dict[str, Any], append: bool = True) -> None:
    users.apply(user, skip_hook=False, request_seq=None, undocumented=[], append=append)


def test_attributes_merge_and_arrays_append_without_repeats() -> None:
    users = InsiderUsers()
    identifiers = {"uuid": "u"}
    apply(users, {"identifiers": identifiers, "attributes": {"name": "Ann", "static_segment_id": [1, 2]}})
    apply(
        users,
        {
            "identifiers": identifiers,
            "attributes": {"surname": "Lee", "list_id": [2, 3], "custom": {"colors": ["green"], "tier": "Gold"}},
        },
    )
    apply(users, {"identifiers": identifiers, "attributes": {"name": "Anne", "custom": {"colors": ["red"]}}})

    (record,) = users.all()
    assert record.attributes == {"name": "Anne", "surname": "Lee", "static_segment_id": [1, 2, 3]}
    assert record.custom == {"colors": ["green", "red"], "tier": "Gold"}
    assert record.applied_count == 3
    assert record.user["attributes"] == {"name": "Anne", "custom": {"colors": ["red"]}}  # the last one as sent


def test_arrays_are_replaced_when_not_appending() -> None:
    users = InsiderUsers()
    apply(users, {"identifiers": {"uuid": "u"}, "attributes": {"custom": {"colors": ["green"]}}})
    apply(users, {"identifiers": {"uuid": "u"}, "attributes": {"custom": {"colors": ["red"]}}}, append=False)
    assert users.all()[0].custom == {"colors": ["red"]}


@pytest.mark.parametrize(
    ("user", "request_append", "appends"),
    [
        ({}, None, True),
        ({"not_append": True}, None, False),
        ({"append": False}, None, False),
        ({"append": True, "not_append": True}, None, True),  # "append" takes priority
        ({}, False, False),
        ({"not_append": False}, False, True),
        ({"not_append": "yes"}, None, True),  # only booleans steer it
    ],
)
def test_append_flags(user: dict[str, Any], request_append: Any, appends: bool) -> None:
    assert appends_arrays(user, request_append) is appends


def test_identical_events_are_one_entry() -> None:
    users = InsiderUsers()
    event = {"event_name": "order_delivered", "timestamp": "2023-03-10T21:35:20Z"}
    later = {**event, "timestamp": "2023-03-11T21:35:20Z"}
    for events in ([event], [event, later]):
        apply(users, {"identifiers": {"uuid": "u"}, "events": events})
    assert users.all()[0].events == [event, later]


def test_every_record_has_an_iid() -> None:
    users = InsiderUsers()
    apply(users, {"identifiers": {"uuid": "a"}, "attributes": {"name": "A"}})
    apply(users, {"insider_id": "given-iid", "attributes": {"name": "B"}})
    apply(users, {"identifiers": {"uuid": "c"}, "attributes": {"name": "C"}})
    apply(users, {"insider_id": 5, "attributes": {"name": "D"}})
    assert [u.iid for u in users.all()] == ["sandbox-iid-1", "given-iid", "sandbox-iid-3", 5]
    assert [u.user["attributes"]["name"] for u in users.find(insider_id=5)] == ["D"]
    assert users.find(insider_id="5") == []
    users.clear()
    apply(users, {"identifiers": {"uuid": "a"}, "attributes": {"name": "A"}})
    assert users.all()[0].iid == "sandbox-iid-1"


def test_find_by_any_shared_identifier_or_the_iid() -> None:
    users = InsiderUsers()
    first = {"email": "a@b.co", "uuid": "1", "custom": {"loyalty": "L1"}}
    apply(users, {"identifiers": first, "attributes": {"age": 1}})
    apply(users, {"identifiers": {"uuid": "2"}, "attributes": {"age": 2}})
    apply(users, {"identifiers": {"custom": {"loyalty": 7}}, "attributes": {"age": 3}})

    def ages(**lookup: Any) -> list[int]:
        return [u.attributes["age"] for u in users.find(**lookup)]

    assert ages(identifiers={"email": "a@b.co"}) == [1]
    assert ages(identifiers={"custom": {"loyalty": "L1"}}) == [1]
    assert ages(identifiers={"email": "x@y.co", "uuid": "2"}) == [2]
    assert ages(identifiers={"custom": {"loyalty": "7"}}) == []  # 7 is not "7"
    assert ages(identifiers={"loyalty": "L1"}) == []  # a root key is not a custom one
    assert ages(insider_id="sandbox-iid-3") == [3]
    assert ages(identifiers={}) == []

    users.remove(users.find(identifiers={"uuid": "1"}))
    assert ages(identifiers={"email": "a@b.co"}) == []
    assert len(users.all()) == 2


def test_identity_key() -> None:
    user = {"identifiers": {"uuid": "u", "email": "e@x.co", "custom": {"b": "2", "a": "1"}}, "insider_id": "i"}
    assert identity_key(user) == "email=e@x.co|uuid=u|custom.a=1|custom.b=2|insider_id=i"
