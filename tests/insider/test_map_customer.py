"""map_customer: user objects, rejections naming source field and rule, unmapped handling, options."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from shared.insider.compiled_mapping import CompiledMapping, load_mapping
from shared.insider.mapper import MappedCustomer, RejectedCustomer, map_customer

DOCUMENT: dict[str, Any] = {
    "identifiers": [
        {"source": "id", "insider": "uuid"},
        {"source": "email", "insider": "email"},
        {"source": "loyalty_number", "insider": "loyalty_number", "custom": True},
    ],
    "profile": [
        {"source": "first_name", "insider": "name"},
        {"source": "birthday", "insider": "birthday"},
        {"source": "phone", "insider": "phone_number"},
        {"source": "country", "insider": "country"},
        {"source": "language", "insider": "language"},
        {"source": "sms", "insider": "sms_optin"},
        {"source": "age", "insider": "age"},
        {"source": "segments", "insider": "list_id"},
        {"source": "tier", "insider": "loyalty_tier", "custom": True},
        {"source": "prefs", "insider": "preferences", "custom": True},
    ],
    "events": [
        {
            "source": "purchase",
            "insider": "purchase",
            "params": [
                {"source": "order_id", "insider": "event_group_id"},
                {"source": "currency", "insider": "currency"},
                {"source": "quantity", "insider": "quantity"},
                {"source": "amount", "insider": "unit_sale_price"},
                {"source": "category", "insider": "taxonomy"},
                {"source": "points", "insider": "points_earned", "custom": True},
            ],
        },
        {
            "source": "basket",
            "insider": "cart_page_view",
            "params": [
                {"source": "basket_id", "insider": "event_group_id"},
                {"source": "currency", "insider": "currency"},
                {"source": "total", "insider": "unit_sale_price"},
            ],
        },
        {
            "source": "reward_claim",
            "insider": "reward_claimed",
            "params": [
                {"source": "reward", "insider": "reward_name", "custom": True},
            ],
        },
    ],
}


def _mapping(**options: Any) -> CompiledMapping:
    document = copy.deepcopy(DOCUMENT)
    document["options"] = options
    return load_mapping(document)


MAPPING = _mapping()


def _mapped(result: Any) -> MappedCustomer:
    assert isinstance(result, MappedCustomer), result
    return result


def _rejected(result: Any) -> RejectedCustomer:
    assert isinstance(result, RejectedCustomer), result
    return result


def _fields_rules(result: Any) -> list[tuple[str, str]]:
    return [(error["field"], error["rule"]) for error in _rejected(result).errors]


def test_typical_customer() -> None:
    result = _mapped(
        map_customer(
            MAPPING,
            {
                "id": "C-1",
                "name": "Ann Lee",
                "attributes": {
                    "email": "ann@example.com",
                    "loyalty_number": 778899,
                    "first_name": "Ann",
                    "birthday": "1990-05-17",
                    "phone": "+44 20 7946 0958",
                    "country": "gb",
                    "language": "en-GB",
                    "sms": "no",
                    "age": "34",
                    "segments": 7,
                    "tier": "Gold",
                    "prefs": ["email", "sms"],
                },
                "events": [
                    {
                        "name": "purchase",
                        "timestamp": "2024-05-01T10:00:00+02:00",
                        "params": {
                            "order_id": 5001,
                            "currency": "gbp",
                            "quantity": 2,
                            "amount": "12.50",
                            "category": "Shoes",
                            "points": 25,
                        },
                    }
                ],
            },
        )
    )
    assert result.customer_id == "C-1"
    assert result.customer_name == "Ann Lee"
    assert result.user == {
        "identifiers": {"uuid": "C-1", "email": "ann@example.com", "custom": {"loyalty_number": "778899"}},
        "attributes": {
            "name": "Ann",
            "birthday": "1990-05-17T00:00:00Z",
            "phone_number": "+442079460958",
            "country": "GB",
            "language": "en_GB",
            "sms_optin": False,
            "age": 34,
            "list_id": [7],
            "custom": {"loyalty_tier": "Gold", "preferences": ["email", "sms"]},
        },
        "events": [
            {
                "event_name": "purchase",
                "timestamp": "2024-05-01T10:00:00+02:00",
                "event_params": {
                    "event_group_id": "5001",
                    "currency": "GBP",
                    "quantity": 2,
                    "unit_sale_price": 12.5,
                    "taxonomy": ["Shoes"],
                    "custom": {"points_earned": 25},
                },
            }
        ],
    }
    assert result.warnings == []
    assert result.event_sources == [0]


def test_rejection_lists_every_problem_with_source_fields_and_rules() -> None:
    result = map_customer(
        MAPPING,
        {
            "id": "C-2",
            "name": "Bob",
            "attributes": {
                "email": "not-an-email",
                "birthday": "17/05/1990",
                "phone": "07946 0958",
                "country": "UK",
                "language": "english",
                "sms": "maybe",
                "age": "thirty",
                "segments": ["a"],
                "prefs": {"channel": "email"},
            },
            "events": [
                {
                    "name": "purchase",
                    "timestamp": "yesterday",
                    "params": {"currency": "pounds", "quantity": 1.5, "amount": "12,50"},
                },
                {"name": "basket", "timestamp": "2024-05-01T10:00:00Z", "params": {"total": 3}},
                {"name": "reward_claim", "params": {"reward": [["nested"]]}},
                "not an event",
                {"timestamp": "2024-05-01T10:00:00Z"},
            ],
        },
    )
    rejected = _rejected(result)
    assert rejected.customer_id == "C-2"
    assert rejected.customer_name == "Bob"
    assert _fields_rules(result) == [
        ("attributes.email", "email"),
        ("attributes.birthday", "rfc3339-utc"),
        ("attributes.phone", "e164"),
        ("attributes.country", "iso3166-alpha2"),
        ("attributes.language", "language"),
        ("attributes.sms", "boolean"),
        ("attributes.age", "integer"),
        ("attributes.segments", "integer-list"),
        ("attributes.prefs", "custom-value"),
        ("events[0].timestamp", "rfc3339"),
        ("events[0].params.currency", "iso4217"),
        ("events[0].params.quantity", "integer"),
        ("events[0].params.amount", "number"),
        ("events[0].params.order_id", "required"),
        ("events[1].params.basket_id", "required"),
        ("events[1].params.currency", "required"),
        ("events[2].timestamp", "required"),
        ("events[2].params.reward", "custom-value"),
        ("events[3]", "type"),
        ("events[4].name", "required"),
    ]
    assert all(error["message"] for error in rejected.errors)


def test_other_customers_in_the_same_list_go_on() -> None:
    customers: list[Any] = [
        {"id": "ok-1", "attributes": {"first_name": "Ann"}},
        {"id": "bad", "attributes": {"country": "Narnia"}},
        None,
        {"attributes": {"first_name": "No ID"}},
        {"id": "ok-2", "attributes": {"tier": "Silver"}},
    ]
    results = [map_customer(MAPPING, customer) for customer in customers]
    assert [type(result).__name__ for result in results] == [
        "MappedCustomer",
        "RejectedCustomer",
        "RejectedCustomer",
        "RejectedCustomer",
        "MappedCustomer",
    ]
    assert results[0].user == {"identifiers": {"uuid": "ok-1"}, "attributes": {"name": "Ann"}}  # type: ignore[union-attr]
    assert _fields_rules(results[1]) == [("attributes.country", "iso3166-alpha2")]
    assert _fields_rules(results[2]) == [("customer", "type")]
    assert _rejected(results[3]).customer_id is None
    assert ("id", "required") in _fields_rules(results[3])


@pytest.mark.parametrize("customer", [None, 5, "C-1", ["C-1"], 1.5, True])
def test_non_object_customer_is_rejected_not_raised(customer: Any) -> None:
    result = _rejected(map_customer(MAPPING, customer))
    assert result.customer_id is None
    assert result.customer_name is None
    assert _fields_rules(result) == [("customer", "type")]


@pytest.mark.parametrize(
    ("raw_id", "rule"), [(None, "required"), ("", "required"), ("   ", "required"), (42, "type"), (["a"], "type")]
)
def test_missing_or_invalid_id(raw_id: Any, rule: str) -> None:
    customer: dict[str, Any] = {"attributes": {"email": "a@b.co", "first_name": "Ann"}}
    if raw_id is not None:
        customer["id"] = raw_id
    result = _rejected(map_customer(MAPPING, customer))
    assert _fields_rules(result) == [("id", rule)]  # email is still an identifier, so no "identifiers" error


def test_customer_without_any_mapped_identifier_is_rejected() -> None:
    mapping = load_mapping(
        {
            "identifiers": [
                {"source": "email", "insider": "email"},
                {"source": "card", "insider": "card_number", "custom": True},
            ],
            "profile": [{"source": "first_name", "insider": "name"}],
        }
    )
    result = _rejected(map_customer(mapping, {"id": "C-3", "attributes": {"first_name": "Ann", "email": "  "}}))
    assert result.errors == [
        {
            "field": "identifiers",
            "rule": "identifier-required",
            "message": "none of the mapped identifiers has a value (attributes.email, attributes.card)",
        }
    ]


def test_invalid_identifier_value_is_reported_once() -> None:
    mapping = load_mapping(
        {"identifiers": [{"source": "email", "insider": "email"}], "profile": [{"source": "n", "insider": "name"}]}
    )
    result = map_customer(mapping, {"id": "C", "attributes": {"email": "nope", "n": "Ann"}})
    assert _fields_rules(result) == [("attributes.email", "email")]


def test_identifier_rules() -> None:
    mapping = load_mapping(
        {
            "identifiers": [
                {"source": "id", "insider": "uuid"},
                {"source": "phone", "insider": "phone_number"},
                {"source": "card", "insider": "card_number", "custom": True},
            ],
            "profile": [{"source": "n", "insider": "name"}],
        }
    )
    result = map_customer(mapping, {"id": "C", "attributes": {"phone": "98765432", "card": 1.5, "n": "A"}})
    assert _fields_rules(result) == [("attributes.phone", "e164"), ("attributes.card", "string")]


def test_user_needs_an_attribute_or_an_event() -> None:
    result = _rejected(map_customer(MAPPING, {"id": "C-4", "attributes": {"email": "a@b.co", "other": 1}}))
    assert _fields_rules(result) == [("customer", "attribute-or-event-required")]
    # Only an event is enough.
    ok = map_customer(MAPPING, {"id": "C-4", "events": [{"name": "reward_claim", "timestamp": "2024-01-01T00:00:00Z"}]})
    assert _mapped(ok).user == {
        "identifiers": {"uuid": "C-4"},
        "events": [{"event_name": "reward_claimed", "timestamp": "2024-01-01T00:00:00Z"}],
    }


def test_empty_user_error_is_not_added_when_values_were_invalid() -> None:
    result = map_customer(MAPPING, {"id": "C-5", "attributes": {"country": "XX"}})
    assert _fields_rules(result) == [("attributes.country", "iso3166-alpha2")]


def test_null_and_blank_values_are_absent() -> None:
    result = _mapped(
        map_customer(
            MAPPING,
            {"id": "C-6", "attributes": {"first_name": "Ann", "country": None, "phone": " ", "birthday": ""}},
        )
    )
    assert result.user["attributes"] == {"name": "Ann"}


def test_custom_values_keep_empty_strings() -> None:
    result = _mapped(map_customer(MAPPING, {"id": "C-7", "attributes": {"tier": ""}}))
    assert result.user["attributes"] == {"custom": {"loyalty_tier": ""}}


def test_wrong_container_types_are_rejected() -> None:
    result = map_customer(MAPPING, {"id": "C-8", "attributes": ["a"], "events": {"name": "purchase"}})
    assert _fields_rules(result) == [("attributes", "type"), ("events", "type")]
    result = map_customer(
        MAPPING,
        {
            "id": "C-8",
            "attributes": {"first_name": "A"},
            "events": [{"name": "reward_claim", "timestamp": "2024-01-01T00:00:00Z", "params": [1]}],
        },
    )
    assert _fields_rules(result) == [("events[0].params", "type")]
    result = map_customer(MAPPING, {"id": "C-8", "attributes": {"first_name": "A"}, "events": [{"name": 5}]})
    assert _fields_rules(result) == [("events[0].name", "type")]


def test_non_string_name_is_ignored() -> None:
    result = _mapped(map_customer(MAPPING, {"id": "C-9", "name": 12, "attributes": {"first_name": "A"}}))
    assert result.customer_name is None


def test_unmapped_items_are_dropped_by_default() -> None:
    result = _mapped(
        map_customer(
            MAPPING,
            {
                "id": "C-10",
                "attributes": {"first_name": "A", "favouriteColour": "green"},
                "events": [
                    {"name": "page_view", "timestamp": "bad"},  # unmapped: not even validated
                    {
                        "name": "reward_claim",
                        "timestamp": "2024-01-01T00:00:00Z",
                        "params": {"reward": "Mug", "store": "S1"},
                    },
                ],
            },
        )
    )
    assert result.user["attributes"] == {"name": "A"}
    assert result.user["events"] == [
        {
            "event_name": "reward_claimed",
            "timestamp": "2024-01-01T00:00:00Z",
            "event_params": {"custom": {"reward_name": "Mug"}},
        }
    ]
    assert result.event_sources == [1]
    assert result.warnings == []


def test_unmapped_items_are_sent_as_custom_in_custom_mode() -> None:
    mapping = _mapping(unmapped="custom")
    result = _mapped(
        map_customer(
            mapping,
            {
                "id": "C-11",
                "attributes": {
                    "first_name": "A",
                    "email": "a@b.co",  # consumed by identifiers: not repeated as custom
                    "favouriteColour": "green",
                    "Total Points": 120,
                    "member-since": "2020-01-01T00:00:00Z",
                    "prénom": "x",  # does not normalise to a custom name
                    "country_code": None,  # null: ignored
                    "address": {"city": "Leeds"},  # nested: dropped and reported
                    "name": "Ann Lee",  # a default attribute name: not taken silently
                    "loyaltyTier": "Gold",  # collides with the mapped custom loyalty_tier
                    "FavouriteColour": "blue",  # collides with another unmapped name
                },
                "events": [
                    {
                        "name": "reward_claim",
                        "timestamp": "2024-01-01T00:00:00Z",
                        "params": {"reward": "Mug", "storeId": "S1", "url": "https://x.y/"},
                    },
                    {
                        "name": "Page View",
                        "timestamp": "2024-01-02T00:00:00Z",
                        "params": {"pageName": "home", "url": "https://x.y/"},
                    },
                    {"name": "homepage.view", "timestamp": "2024-01-02T00:00:00Z"},
                    {"name": "Purchase", "timestamp": "2024-01-02T00:00:00Z"},
                    {"name": "reward-claimed", "timestamp": "2024-01-02T00:00:00Z"},
                ],
            },
        )
    )
    assert result.user["attributes"] == {
        "name": "A",
        "custom": {"favourite_colour": "green", "total_points": 120, "member_since": "2020-01-01T00:00:00Z"},
    }
    assert result.user["events"] == [
        {
            "event_name": "reward_claimed",
            "timestamp": "2024-01-01T00:00:00Z",
            "event_params": {"custom": {"reward_name": "Mug", "store_id": "S1"}},
        },
        {
            "event_name": "page_view",
            "timestamp": "2024-01-02T00:00:00Z",
            "event_params": {"custom": {"page_name": "home"}},
        },
    ]
    assert result.event_sources == [0, 1]
    assert [(w["field"], w["rule"]) for w in result.warnings] == [
        ("attributes.prénom", "custom-name"),
        ("attributes.address", "custom-value"),
        ("attributes.name", "name-taken"),
        ("attributes.loyaltyTier", "name-taken"),
        ("attributes.FavouriteColour", "name-taken"),
        ("events[0].params.url", "name-taken"),
        ("events[1].params.url", "name-taken"),
        ("events[2].name", "event-name"),
        ("events[3].name", "name-taken"),
        ("events[4].name", "name-taken"),
    ]


def test_unmapped_events_are_validated_in_custom_mode() -> None:
    result = map_customer(
        _mapping(unmapped="custom"),
        {"id": "C-12", "attributes": {"first_name": "A"}, "events": [{"name": "page_view", "timestamp": "today"}]},
    )
    assert _fields_rules(result) == [("events[0].timestamp", "rfc3339")]


def test_not_append_option() -> None:
    result = _mapped(map_customer(_mapping(notAppend=True), {"id": "C-13", "attributes": {"segments": [1, 2]}}))
    assert result.user == {"identifiers": {"uuid": "C-13"}, "attributes": {"list_id": [1, 2]}, "not_append": True}
    plain = _mapped(map_customer(MAPPING, {"id": "C-13", "attributes": {"segments": [1, 2]}}))
    assert "not_append" not in plain.user


def test_identifier_is_not_repeated_in_attributes() -> None:
    mapping = load_mapping(
        {
            "identifiers": [{"source": "email", "insider": "email"}],
            "profile": [{"source": "email", "insider": "email"}, {"source": "n", "insider": "name"}],
        }
    )
    result = _mapped(map_customer(mapping, {"id": "C", "attributes": {"email": "a@b.co", "n": "A"}}))
    assert result.user == {"identifiers": {"email": "a@b.co"}, "attributes": {"name": "A"}}
    assert result.warnings == []


def test_identifier_wins_over_a_different_attribute_value() -> None:
    mapping = load_mapping(
        {
            "identifiers": [{"source": "login_email", "insider": "email"}],
            "profile": [{"source": "contact_email", "insider": "email"}, {"source": "n", "insider": "name"}],
        }
    )
    both = _mapped(
        map_customer(mapping, {"id": "C", "attributes": {"login_email": "a@b.co", "contact_email": "c@d.co", "n": "A"}})
    )
    assert both.user == {"identifiers": {"email": "a@b.co"}, "attributes": {"name": "A"}}
    assert [(w["field"], w["rule"]) for w in both.warnings] == [("attributes.email", "identifier-attribute")]
    same = _mapped(
        map_customer(mapping, {"id": "C", "attributes": {"login_email": "x@y.co", "contact_email": "x@y.co", "n": "A"}})
    )
    assert same.user == {"identifiers": {"email": "x@y.co"}, "attributes": {"name": "A"}}
    assert same.warnings == []
    # Dropping the repeated attribute can leave nothing to send.
    nothing = map_customer(mapping, {"id": "C", "attributes": {"login_email": "x@y.co", "contact_email": "x@y.co"}})
    assert _fields_rules(nothing) == [("customer", "attribute-or-event-required")]


def test_profile_row_may_read_the_customer_id() -> None:
    mapping = load_mapping(
        {
            "identifiers": [{"source": "email", "insider": "email"}],
            "profile": [{"source": "id", "insider": "source_customer_id", "custom": True}],
        }
    )
    result = _mapped(map_customer(mapping, {"id": "C-14", "attributes": {"email": "a@b.co"}}))
    assert result.user == {
        "identifiers": {"email": "a@b.co"},
        "attributes": {"custom": {"source_customer_id": "C-14"}},
    }


def test_compiled_mapping_map_method_and_repr() -> None:
    assert isinstance(MAPPING.map({"id": "x", "attributes": {"first_name": "A"}}), MappedCustomer)
    assert "CompiledMapping(" in repr(MAPPING)


def test_input_is_not_modified() -> None:
    customer = {
        "id": "C-15",
        "attributes": {"first_name": " A ", "prefs": ["x"], "segments": ["1"]},
        "events": [
            {
                "name": "purchase",
                "timestamp": "2024-01-01T00:00:00Z",
                "params": {"order_id": 1, "currency": "eur", "amount": "1", "category": ["a"]},
            }
        ],
    }
    before = copy.deepcopy(customer)
    _mapped(map_customer(MAPPING, customer))
    assert customer == before
