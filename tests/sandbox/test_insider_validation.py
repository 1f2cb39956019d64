"""Per-user Insider validation rules (pure functions, no server)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sandbox.insider_validation import check_user, parse_rfc3339, validate_user

EXAMPLES = Path(__file__).parent / "insider_examples"
EVENT = {"event_name": "form_submission", "timestamp": "2023-01-10T21:35:20Z"}


def errors_of(user: Any, **kwargs: Any) -> dict[str, list[str]]:
    return validate_user(0, user, **kwargs)


def with_identifiers(identifiers: Any) -> dict[str, Any]:
    return {"identifiers": identifiers, "attributes": {"name": "x"}}


def with_attributes(attributes: Any) -> dict[str, Any]:
    return {"identifiers": {"uuid": "u"}, "attributes": attributes}


def with_event(**event: Any) -> dict[str, Any]:
    return {"identifiers": {"uuid": "u"}, "events": [event]}


@pytest.mark.parametrize(
    ("identifiers", "key", "message"),
    [
        ({"email": "sample"}, "users.0.identifiers.*.regexp(^.+@.+\\..+$)", "not a valid email address: sample"),
        (
            {"phone_number": "12345"},
            "users.0.identifiers.*.regexp(^\\+[1-9]\\d{6,14}$)",
            "user has an invalid phone number: 12345",
        ),
        ({"phone_number": "+0123456789"}, "users.0.identifiers.*.regexp(^\\+[1-9]\\d{6,14}$)", None),
        ({"uuid": 12345}, "users.0.identifiers.*.type(string)", "uuid must be string: 12345"),
        (
            {"customer_id": "1"},
            "users.0.identifiers.*.in(defaults_column)",
            "key must be one of phone_number(pn), email(em) or uuid",
        ),
        ({"custom": "xyz123"}, "users.0.identifiers.custom.type(object)", "identifiers.custom must be an object"),
    ],
)
def test_identifier_rules(identifiers: dict[str, Any], key: str, message: str | None) -> None:
    errors = errors_of(with_identifiers(identifiers))
    assert key in errors
    if message is not None:
        assert errors[key] == [message]


@pytest.mark.parametrize(
    "identifiers",
    [
        {"email": "a@b.co"},
        {"phone_number": "+6512345678"},
        {"uuid": "16378438264380b02b2ed96"},
        {"custom": {"user_loyalty_id": "xyz123"}},
        {"email": "a@b.co", "uuid": "1x2y3z", "custom": {"user_loyalty_id": "xyz123"}},
        # The reference gives custom identifiers no type and sets no rule on an empty uuid.
        {"custom": {"loyalty_id": 7}},
        {"uuid": ""},
    ],
)
def test_valid_identifiers(identifiers: dict[str, Any]) -> None:
    assert errors_of(with_identifiers(identifiers)) == {}


@pytest.mark.parametrize(
    "user", [{"attributes": {"name": "x"}}, with_identifiers({}), with_identifiers({"custom": {}})]
)
def test_identifiers_or_insider_id_required(user: dict[str, Any]) -> None:
    errors = errors_of(user)
    assert errors["users.0.identifiers.required"] == ["either insider_id or idenifiers must be specified"]
    assert errors["users.0.insider_id.required"] == ["either insider_id or idenifiers must be specified"]


def test_insider_id_alone_is_enough() -> None:
    assert errors_of({"insider_id": "iid-1", "attributes": {"age": 29}}) == {}


@pytest.mark.parametrize(
    ("attributes", "key"),
    [
        ({}, "users.0.attributes.min(1)"),
        ({"custom": {}}, "users.0.attributes.min(1)"),
        ({"email_optin": "true"}, "users.0.attributes.*.type(boolean)"),
        ({"gdpr_optin": 1}, "users.0.attributes.*.type(boolean)"),
        ({"age": "30"}, "users.0.attributes.*.type(number)"),
        ({"age": True}, "users.0.attributes.*.type(number)"),
        ({"static_segment_id": 1}, "users.0.attributes.*.type([]number)"),
        ({"list_id": ["1"]}, "users.0.attributes.*.type([]number)"),
        ({"name": 5}, "users.0.attributes.*.type(string)"),
        ({"birthday": "1980-01-01T00:00:00+02:00"}, "users.0.attributes.*.datetime(RFC3339,Z)"),
        ({"birthday": "1980-01-01"}, "users.0.attributes.*.datetime(RFC3339,Z)"),
        ({"birthday": "1980-02-30T00:00:00Z"}, "users.0.attributes.*.datetime(RFC3339,Z)"),
        ({"phone_number": "0821234567"}, "users.0.attributes.*.regexp(^\\+[1-9]\\d{6,14}$)"),
        ({"email": "not-an-email"}, "users.0.attributes.*.regexp(^.+@.+\\..+$)"),
        ({"country": "za"}, "users.0.attributes.*.regexp(^[A-Z]{2}$)"),
        ({"country": "ZAF"}, "users.0.attributes.*.regexp(^[A-Z]{2}$)"),
        ({"custom": ["Gold"]}, "users.0.attributes.custom.type(object)"),
        ("Gold", "users.0.attributes.type(object)"),
    ],
)
def test_attribute_rules(attributes: Any, key: str) -> None:
    assert key in errors_of(with_attributes(attributes))


def test_valid_default_attributes() -> None:
    attributes = {
        "email": "a@b.co",
        "phone_number": "+27821234567",
        "email_optin": True,
        "gdpr_optin": False,
        "sms_optin": True,
        "whatsapp_optin": False,
        "name": "Ann",
        "surname": "Lee",
        "birthday": "1993-03-12T00:00:00Z",
        "gender": "female",
        "age": 30,
        "language": "en_US",
        "country": "ZA",
        "city": "Cape Town",
        "static_segment_id": [1, 2],
        "list_id": [3],
        "uuid": "u-1",
        "lo": "en_ZA",
        "custom": {"tier": "Gold", "points": 120.5, "vip": True, "tags": ["a", "b"]},
    }
    assert errors_of(with_attributes(attributes)) == {}


@pytest.mark.parametrize(
    ("event", "key"),
    [
        ({"timestamp": "2023-01-10T21:35:20Z"}, "users.0.events.0.event_name.required"),
        ({"event_name": "form_submission"}, "users.0.events.0.timestamp.required"),
        (
            {"event_name": "form_submission", "timestamp": "2023-01-10 21:35:20"},
            "users.0.events.0.timestamp.*.datetime(RFC3339)",
        ),
        ({"event_name": "form_submission", "timestamp": 1673386520}, "users.0.events.0.timestamp.*.datetime(RFC3339)"),
        ({**EVENT, "event_name": "homepageView"}, "users.0.events.0.event_name.*.regexp(^[a-z0-9][a-zA-Z0-9._-]*$)"),
        ({**EVENT, "event_name": "_private"}, "users.0.events.0.event_name.*.regexp(^[a-z0-9][a-zA-Z0-9._-]*$)"),
        ({**EVENT, "event_name": "form submit"}, "users.0.events.0.event_name.*.regexp(^[a-z0-9][a-zA-Z0-9._-]*$)"),
        ({**EVENT, "event_params": {"quantity": 1.5}}, "users.0.events.0.event_params.*.type(integer)"),
        ({**EVENT, "event_params": {"unit_price": "9.99"}}, "users.0.events.0.event_params.*.type(number)"),
        ({**EVENT, "event_params": {"currency": "usd"}}, "users.0.events.0.event_params.*.regexp(^[A-Z]{3}$)"),
        ({**EVENT, "event_params": {"taxonomy": "Phone"}}, "users.0.events.0.event_params.*.type(array)"),
        ({**EVENT, "event_params": {"shipping_cost": 4.5}}, "users.0.events.0.event_params.*.type(string)"),
        ({**EVENT, "event_params": {"url": "/products/1"}}, "users.0.events.0.event_params.*.type(url)"),
        ({**EVENT, "event_params": {"custom": ["a"]}}, "users.0.events.0.event_params.custom.type(object)"),
    ],
)
def test_event_rules(event: dict[str, Any], key: str) -> None:
    assert key in errors_of(with_event(**event))


def test_cart_page_view_requires_group_price_and_currency() -> None:
    errors = errors_of(with_event(event_name="cart_page_view", timestamp="2023-01-10T21:35:20+03:00"))
    assert errors == {
        "users.0.events.0.event_params.*.required": [
            "event_group_id parameter is required on cart_page_view event",
            "unit_sale_price parameter is required on cart_page_view event",
            "currency parameter is required on cart_page_view event",
        ]
    }


def test_complete_purchase_is_valid_even_with_quantity_required() -> None:
    params = {"event_group_id": "ORDER1", "unit_sale_price": 10.5, "currency": "ZAR", "quantity": 2}
    user = with_event(event_name="purchase", timestamp="2023-01-10T21:35:20.123Z", event_params=params)
    assert errors_of(user, purchase_requires_quantity=True) == {}


@pytest.mark.parametrize("user", [None, "u", 5, ["identifiers"]])
def test_user_must_be_an_object(user: Any) -> None:
    assert "users.0.type(object)" in errors_of(user)


@pytest.mark.parametrize("event_name", ["form-submission", "form.submit", "order_delivered", "1st_visit"])
def test_event_names_the_printed_regex_allows_in_lower_case_are_valid(event_name: str) -> None:
    assert errors_of(with_event(**{**EVENT, "event_name": event_name})) == {}


def test_undefined_fields_are_accepted_and_listed() -> None:
    # The reference does not say these are refused: they are taken as sent and listed for the tests.
    user = {
        "identifiers": {"uuid": "u"},
        "attributes": {"na": "Subscription User", "loyalty_tier": "Gold", "custom": {"tier": {"name": "Gold"}}},
        "events": [
            {**EVENT, "params": {}, "event_params": {"order_id": "A1", "campaign_id": 7, "custom": {"o": {"id": 1}}}}
        ],
        "not_append": "yes",
        "object_attributes": [],
        "nickname": "Ann",
    }
    check = check_user(3, user)
    assert check.errors == {}
    assert check.undocumented == [
        "users.3.nickname",
        "users.3.attributes.na",
        "users.3.attributes.loyalty_tier",
        "users.3.events.0.params",
        "users.3.events.0.event_params.order_id",
    ]


@pytest.mark.parametrize("name", ["a_main_sample.json", "f_multiple_users.json"])
def test_documented_fields_are_not_listed(name: str) -> None:
    for index, user in enumerate(json.loads((EXAMPLES / name).read_text())["users"]):
        check = check_user(index, user)
        assert (check.errors, check.undocumented) == ({}, [])


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("2021-01-10T21:35:20Z", True),
        ("2021-01-17T14:41:21+03:00", True),
        ("2021-01-17T14:41:21.5-05:30", True),
        ("2021-01-17t14:41:21z", True),  # RFC 3339 §5.6 allows lower-case t and z
        ("2016-12-31T23:59:60Z", True),  # a leap second
        ("2021-01-17 14:41:21Z", False),
        ("2021-01-17T14:41:21", False),
        ("2021-13-01T00:00:00Z", False),
        ("2021-01-17T14:41:21+24:00", False),
        ("2021-01-17T14:41:21Z\n", False),
    ],
)
def test_rfc3339(value: str, valid: bool) -> None:
    assert (parse_rfc3339(value) is not None) is valid
