"""Source customers + a mapping reproduce Insider's verbatim upsert examples (insider-api.md §10).

Each test checks equality with the parsed example and also byte equality of the compact
encoding, so key order matches the vendor's samples too.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from shared.insider.compiled_mapping import CompiledMapping, load_mapping
from shared.insider.mapper import MappedCustomer, map_customer
from shared.insider.upsert import build_upsert_body, encode_body
from tests.insider import verbatim

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "insider-api.md"


def _users(mapping: CompiledMapping, customers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    users = []
    for customer in customers:
        result = map_customer(mapping, customer)
        assert isinstance(result, MappedCustomer), result
        assert result.warnings == []
        users.append(result.user)
    return users


def _assert_users(users: list[dict[str, Any]], example: str) -> None:
    expected = json.loads(example)
    assert {"users": users} == {"users": expected["users"]}
    assert encode_body({"users": users}) == encode_body({"users": expected["users"]})


#: Example A's event rows: a source order line sent as a purchase, a sign-up as a custom event.
EXAMPLE_A_EVENTS: list[dict[str, Any]] = [
    {
        "source": "order_line",
        "insider": "purchase",
        "params": [
            {"source": "sku", "insider": "product_id"},
            {"source": "product_name", "insider": "name"},
            {"source": "list_price", "insider": "unit_price"},
            {"source": "price", "insider": "unit_sale_price"},
            {"source": "order_id", "insider": "event_group_id"},
            {"source": "categories", "insider": "taxonomy"},
            {"source": "currency", "insider": "currency"},
            {"source": "qty", "insider": "quantity"},
        ],
    },
    {
        "source": "signup",
        "insider": "account_created",
        "params": [
            {"source": "plan", "insider": "customer_type", "custom": True},
            {"source": "trial_start", "insider": "trial_start_date", "custom": True},
            {"source": "trial_end", "insider": "trial_end_date", "custom": True},
        ],
    },
]


def test_example_a_main_sample_full_body() -> None:
    mapping = load_mapping(
        {
            "identifiers": [
                {"source": "email", "insider": "email"},
                {"source": "id", "insider": "uuid"},
                {"source": "loyalty_id", "insider": "user_loyalty_id", "custom": True},
            ],
            "profile": [
                {"source": "newsletter", "insider": "email_optin"},
                {"source": "age", "insider": "age"},
                {"source": "locale", "insider": "language"},
                {"source": "segments", "insider": "static_segment_id"},
                {"source": "birth_date", "insider": "birthday"},
                {"source": "favourite_colours", "insider": "favorite_color", "custom": True},
            ],
            "events": EXAMPLE_A_EVENTS,
            "options": {"skipHook": False, "notAppend": False, "unmapped": "drop"},
        }
    )
    customer = {
        "id": "1x2y3z",
        "name": "Sample Customer",
        "attributes": {
            "email": " sample@useinsider.com ",
            "loyalty_id": "xyz123",
            "newsletter": "yes",
            "age": "30",
            "locale": "en-us",
            "segments": [1, "2"],
            "birth_date": "1980-01-01",
            "favourite_colours": ["green"],
            "internal_score": 17,  # not mapped: dropped
        },
        "events": [
            {
                "name": "order_line",
                "timestamp": "2021-01-10T21:35:20Z",
                "params": {
                    "sku": "ABC21000",
                    "product_name": "Your Product Name",
                    "list_price": "990.90",
                    "price": 890.9,
                    "order_id": "ORDER123",
                    "categories": ["Electronic", "Phone"],
                    "currency": "usd",
                    "qty": "1",
                    "warehouse": "W1",  # not mapped: dropped
                },
            },
            {"name": "page_view", "timestamp": "2021-01-10T21:30:00Z"},  # not mapped: dropped
            {
                "name": "signup",
                "timestamp": "2021-01-17T14:41:21+03:00",
                "params": {
                    "plan": "trial",
                    "trial_start": "2021-01-17T14:39:21+03:00",
                    "trial_end": "2021-01-24T14:41:21+03:00",
                },
            },
        ],
    }
    result = map_customer(mapping, customer)
    assert isinstance(result, MappedCustomer)
    assert result.customer_id == "1x2y3z"
    assert result.customer_name == "Sample Customer"
    assert result.event_sources == [0, 2]
    body = build_upsert_body(mapping, [result.user])
    expected = json.loads(verbatim.EXAMPLE_A_BODY)
    assert body == expected
    assert encode_body(body) == encode_body(expected)


def example_b() -> dict[str, Any]:
    """Example B with its events filled in from A, as the reference says they are."""
    events = json.dumps(json.loads(verbatim.EXAMPLE_A_BODY)["users"][0]["events"])
    return json.loads(verbatim.EXAMPLE_B.replace("[ … same two events as A … ]", events))


EXAMPLE_B_EVENTS: list[dict[str, Any]] = [
    {"name": "order_line", "timestamp": "2021-01-10T21:35:20Z", "params": {
        "sku": "ABC21000", "product_name": "Your Product Name", "list_price": "990.90", "price": 890.9,
        "order_id": "ORDER123", "categories": ["Electronic", "Phone"], "currency": "usd", "qty": "1"}},
    {"name": "signup", "timestamp": "2021-01-17T14:41:21+03:00", "params": {
        "plan": "trial", "trial_start": "2021-01-17T14:39:21+03:00", "trial_end": "2021-01-24T14:41:21+03:00"}},
]


def example_b_mapping(**changes: Any) -> dict[str, Any]:
    """Example A's mapping addressed by insider_id, with both array attributes overwritten (not appended)."""
    document: dict[str, Any] = {
        "identifiers": [{"source": "email", "insider": "email"}, {"source": "id", "insider": "uuid"}],
        "insiderId": {"source": "insider_profile_id"},
        "profile": [
            {"source": "newsletter", "insider": "email_optin"},
            {"source": "age", "insider": "age"},
            {"source": "locale", "insider": "language"},
            {"source": "lists", "insider": "list_id", "append": False},
            {"source": "birth_date", "insider": "birthday"},
            {"source": "favourite_colours", "insider": "favorite_color", "custom": True, "append": False},
        ],
        "events": EXAMPLE_A_EVENTS,
    }
    document.update(changes)
    return document


EXAMPLE_B_CUSTOMER: dict[str, Any] = {
    "id": "1x2y3z",
    "attributes": {
        "insider_profile_id": "sampleinsiderid",
        "email": "sample@useinsider.com",  # an identifier: not sent, the user is addressed by insider_id
        "newsletter": True, "age": 30, "locale": "en_US", "lists": [1, 2], "birth_date": "1980-01-01",
        "favourite_colours": ["green"],
    },
    "events": EXAMPLE_B_EVENTS,
}


def test_example_b_insider_id_not_append_and_error_callback_full_body() -> None:
    # §10 B: insider_id in place of identifiers, not_append: true after attributes, error_callback_endpoint.
    mapping = load_mapping(example_b_mapping())
    result = map_customer(mapping, EXAMPLE_B_CUSTOMER)
    assert isinstance(result, MappedCustomer), result
    assert result.warnings == []
    body = build_upsert_body(mapping, [result.user], "http://your-error-callback-endpoint.yourdomain.com")
    expected = example_b()
    assert body == expected
    assert encode_body(body) == encode_body(expected)


def test_example_b_customer_without_an_insider_id_is_sent_with_its_identifiers() -> None:
    mapping = load_mapping(example_b_mapping())
    customer = {**EXAMPLE_B_CUSTOMER, "attributes": {**EXAMPLE_B_CUSTOMER["attributes"], "insider_profile_id": " "}}
    result = map_customer(mapping, customer)
    assert isinstance(result, MappedCustomer), result
    expected_user = {"identifiers": {"email": "sample@useinsider.com", "uuid": "1x2y3z"}}
    expected_user.update({k: v for k, v in example_b()["users"][0].items() if k != "insider_id"})
    assert result.user == expected_user
    assert list(result.user) == ["identifiers", "attributes", "not_append", "events"]


def test_example_a_arrays_appended_per_attribute_sends_no_flag() -> None:
    # §10 A has two arrays and no not_append: Insider appends. Rows that say append: true give A's user.
    document = example_b_mapping(profile=[
        {"source": "newsletter", "insider": "email_optin"},
        {"source": "age", "insider": "age"},
        {"source": "locale", "insider": "language"},
        {"source": "segments", "insider": "static_segment_id", "append": True},
        {"source": "birth_date", "insider": "birthday"},
        {"source": "favourite_colours", "insider": "favorite_color", "custom": True, "append": True},
    ])
    del document["insiderId"]
    document["identifiers"].append({"source": "loyalty_id", "insider": "user_loyalty_id", "custom": True})
    customer = {"id": "1x2y3z", "attributes": {
        "email": "sample@useinsider.com", "loyalty_id": "xyz123", "newsletter": True, "age": 30, "locale": "en_US",
        "segments": [1, 2], "birth_date": "1980-01-01", "favourite_colours": ["green"]}, "events": EXAMPLE_B_EVENTS}
    result = map_customer(load_mapping(document), customer)
    assert isinstance(result, MappedCustomer), result
    expected = json.loads(verbatim.EXAMPLE_A_BODY)["users"][0]
    assert result.user == expected
    assert encode_body(result.user) == encode_body(expected)


def test_example_c_default_and_custom_attributes() -> None:
    mapping = load_mapping(
        {
            "identifiers": [{"source": "email", "insider": "email"}],
            "profile": [
                {"source": "gdpr_consent", "insider": "gdpr_optin"},
                {"source": "display_name", "insider": "name"},
                {"source": "sms_consent", "insider": "sms_optin"},
                {"source": "mobile", "insider": "phone_number"},
                {"source": "tier", "insider": "loyalty", "custom": True},
                {"source": "renewal_at", "insider": "subscription_renewal", "custom": True},
            ],
        }
    )
    customer = {
        "id": "A-1001",
        "attributes": {
            "email": "insideracademy@mail.com",
            "gdpr_consent": "true",
            "display_name": " Insider Academy ",
            "sms_consent": 1,
            "mobile": "+65 1234 5678",
            "tier": "Gold",
            "renewal_at": "2023-11-29T23:00:00Z",
        },
    }
    _assert_users(_users(mapping, [customer]), verbatim.EXAMPLE_C)


def test_example_d_email_and_phone_as_attributes_with_uuid_identifier() -> None:
    mapping = load_mapping(
        {
            "identifiers": [{"source": "id", "insider": "uuid"}],
            "profile": [
                {"source": "gdpr", "insider": "gdpr_optin"},
                {"source": "email", "insider": "email"},
                {"source": "phone", "insider": "phone_number"},
            ],
        }
    )
    customer = {
        "id": "16378438264380b02b2ed96",
        "attributes": {"gdpr": "Yes", "email": "insideracademy@useinsider.com", "phone": "+65-1234-5678"},
    }
    _assert_users(_users(mapping, [customer]), verbatim.EXAMPLE_D)


def test_example_e_custom_event_with_default_url_and_custom_param() -> None:
    mapping = load_mapping(
        {
            "identifiers": [{"source": "id", "insider": "uuid"}],
            "profile": [
                {"source": "email", "insider": "email"},
                {"source": "date_of_birth", "insider": "birthday"},
            ],
            "events": [
                {
                    "source": "form_submit",
                    "insider": "form_submission",
                    "params": [
                        {"source": "page", "insider": "url"},
                        {"source": "subject", "insider": "form_subject", "custom": True},
                    ],
                }
            ],
        }
    )
    customer = {
        "id": "16378438264380b02b2ed96",
        "attributes": {"email": "insideracademy@useinsider.com", "date_of_birth": "1990-01-01"},
        "events": [
            {
                "name": "form_submit",
                "timestamp": "2023-01-10T21:35:20Z",
                "params": {"page": "https://academy.useinsider.com/", "subject": "Test Drive"},
            }
        ],
    }
    _assert_users(_users(mapping, [customer]), verbatim.EXAMPLE_E)


def test_example_f_multiple_users_one_identified_by_custom_identifier_only() -> None:
    mapping = load_mapping(
        {
            "identifiers": [
                {"source": "login_email", "insider": "email"},
                {"source": "loyalty_id", "insider": "user_loyalty_id", "custom": True},
            ],
            "profile": [
                {"source": "gdpr", "insider": "gdpr_optin"},
                {"source": "contact_email", "insider": "email"},
                {"source": "newsletter", "insider": "email_optin"},
                {"source": "mobile", "insider": "phone_number"},
                {"source": "sms", "insider": "sms_optin"},
                {"source": "age", "insider": "age"},
                {"source": "birthday", "insider": "birthday"},
                {"source": "status", "insider": "member_status", "custom": True},
            ],
            "events": [
                {
                    "source": "purchase",
                    "insider": "purchase",
                    "params": [
                        {"source": "product_id", "insider": "product_id"},
                        {"source": "unit_price", "insider": "unit_price"},
                        {"source": "unit_sale_price", "insider": "unit_sale_price"},
                        {"source": "order_id", "insider": "event_group_id"},
                        {"source": "taxonomy", "insider": "taxonomy"},
                        {"source": "currency", "insider": "currency"},
                    ],
                },
                {
                    "source": "form_submitted",
                    "insider": "form_submitted",
                    "params": [
                        {"source": "customer_type", "insider": "customer_type", "custom": True},
                        {"source": "trial_start_date", "insider": "trial_start_date", "custom": True},
                        {"source": "trial_end_date", "insider": "trial_end_date", "custom": True},
                    ],
                },
                {
                    "source": "order_delivered",
                    "insider": "order_delivered",
                    "params": [{"source": "order_id", "insider": "order_id", "custom": True}],
                },
            ],
        }
    )
    customers = [
        {
            "id": "A-1",
            "attributes": {
                "login_email": "insideracademy@useinsider.com",
                "gdpr": True,
                "newsletter": "1",
                "mobile": "+65 (1234) 5678",
                "sms": "YES",
                "age": 30.0,
                "birthday": "1980-01-01T03:00:00+03:00",
                "status": "VIP",
            },
            "events": [
                {
                    "name": "purchase",
                    "timestamp": "2023-03-10T21:35:20Z",
                    "params": {
                        "product_id": "AGH210070",
                        "unit_price": 990.9,
                        "unit_sale_price": "890.9",
                        "order_id": "ORDER123",
                        "taxonomy": ["Electronic", "Phone"],
                        "currency": "USD",
                    },
                },
                {
                    "name": "form_submitted",
                    "timestamp": "2023-03-17T14:41:21+03:00",
                    "params": {
                        "customer_type": "trial",
                        "trial_start_date": "2023-03-17T14:39:21+03:00",
                        "trial_end_date": "2023-03-24T14:41:21+03:00",
                    },
                },
            ],
        },
        {
            "id": "A-2",
            "attributes": {
                "loyalty_id": "user12345abc",
                "gdpr": "true",
                "contact_email": "jsmith@mail.com",
                "newsletter": "yes",
            },
            "events": [
                {"name": "order_delivered", "timestamp": "2023-03-10T21:35:20Z", "params": {"order_id": "POSH1234"}}
            ],
        },
    ]
    _assert_users(_users(mapping, customers), verbatim.EXAMPLE_F)


def test_verbatim_copies_match_the_reference_file() -> None:
    """The embedded examples are the ones printed in the reference (skipped outside the workspace)."""
    if not REFERENCE.is_file():
        pytest.skip(f"reference not present at {REFERENCE}")
    text = REFERENCE.read_text(encoding="utf-8")
    section = text[text.index("## 10. Verbatim upsert examples") : text.index("## 11.")]
    blocks = dict(re.findall(r"\*\*([A-F])\. .*?```(?:json|bash)\n(.*?)```", section, re.S))
    curl = blocks["A"]
    body_a = curl[curl.index("--data-raw '") + len("--data-raw '") : curl.rindex("}'") + 1]
    assert body_a == verbatim.EXAMPLE_A_BODY
    assert blocks["B"].rstrip("\n") == verbatim.EXAMPLE_B
    assert blocks["C"].rstrip("\n") == verbatim.EXAMPLE_C
    assert blocks["D"].rstrip("\n") == verbatim.EXAMPLE_D
    assert blocks["E"].rstrip("\n") == verbatim.EXAMPLE_E
    assert blocks["F"].rstrip("\n") == verbatim.EXAMPLE_F
