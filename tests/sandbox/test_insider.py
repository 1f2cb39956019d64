"""Insider UCD upsert simulation, per insider-api.md (examples in insider_examples/ are §10 verbatim)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.process import SandboxProcess
from tests.sandbox.helpers import ACCESS_DENIED, INSIDER_HEADERS, UPSERT, padded, upsert

EXAMPLES = Path(__file__).parent / "insider_examples"


def example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / name).read_text())


def example_b() -> dict[str, Any]:
    """Example B as printed abbreviates its events ("same two events as A"); fill them in from A."""
    text = (EXAMPLES / "b_insider_id_not_append.json.txt").read_text()
    events = json.dumps(example("a_main_sample.json")["users"][0]["events"])
    return json.loads(text.replace("[ … same two events as A … ]", events))


EVENT = {"event_name": "order_delivered", "timestamp": "2023-03-10T21:35:20Z"}


def user(index: int = 0, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"identifiers": {"uuid": f"user-{index}"}, "attributes": {"name": f"User {index}"}}
    base.update(fields)
    return base


@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("a_main_sample.json", 1),
        ("c_default_and_custom_attributes.json", 1),
        ("d_email_and_phone_attributes.json", 1),
        ("e_custom_event_uuid.json", 1),
        ("f_multiple_users.json", 2),
    ],
)
async def test_documented_examples_succeed(http: httpx.AsyncClient, name: str, count: int) -> None:
    # Sent byte for byte as printed in the reference.
    body = (EXAMPLES / name).read_bytes()
    response = await http.post(UPSERT, content=body, headers={**INSIDER_HEADERS, "Content-Type": "application/json"})
    assert response.status_code == 200
    assert response.json() == {"data": {"successful": {"count": count}, "fail": {}}}


async def test_example_b_with_insider_id_succeeds(http: httpx.AsyncClient) -> None:
    response = await upsert(http, example_b())
    assert response.json() == {"data": {"successful": {"count": 1}, "fail": {}}}


async def test_applied_users_are_recorded_by_identity(sandbox: SandboxProcess, http: httpx.AsyncClient) -> None:
    body = example("f_multiple_users.json")
    await upsert(http, body)
    await upsert(http, {"users": [body["users"][0]], "skip_hook": True})

    users = {u["key"]: u for u in sandbox.control.insider_users()}
    assert set(users) == {"email=insideracademy@useinsider.com", "custom.user_loyalty_id=user12345abc"}
    first = users["email=insideracademy@useinsider.com"]
    assert first["user"] == body["users"][0]
    assert first["applied_count"] == 2
    assert first["skip_hook"] is True
    assert users["custom.user_loyalty_id=user12345abc"]["identifiers"] == {
        "custom": {"user_loyalty_id": "user12345abc"}
    }


async def test_applied_users_hold_the_profile_merged_from_their_upserts(
    sandbox: SandboxProcess, http: httpx.AsyncClient
) -> None:
    first = user(0, attributes={"name": "Ann", "custom": {"colors": ["green"]}})
    await upsert(http, {"users": [first]})
    await upsert(http, {"users": [user(0, attributes={"custom": {"colors": ["blue"]}})]})
    replace = user(0, not_append=True, attributes={"custom": {"colors": ["red"]}}, events=[EVENT])
    await upsert(http, {"users": [replace]})
    await upsert(http, {"append": False, "users": [user(0, attributes={"surname": "Lee"}, events=[EVENT])]})

    (applied,) = sandbox.control.insider_users()
    assert applied["attributes"] == {"name": "Ann", "surname": "Lee", "custom": {"colors": ["red"]}}
    assert applied["events"] == [EVENT]
    assert applied["iid"] == "sandbox-iid-1"
    assert applied["applied_count"] == 4
    assert applied["anonymized"] is False

    await upsert(http, {"users": [user(0, attributes={"custom": {"colors": ["blue", "red"]}})]})
    assert sandbox.control.insider_users()[0]["attributes"]["custom"] == {"colors": ["red", "blue"]}


async def test_invalid_event_name_answers_the_documented_fail_shape(
    sandbox: SandboxProcess, http: httpx.AsyncClient
) -> None:
    body = {
        "users": [
            {
                "identifiers": {"email": "sample@useinsider.com"},
                "events": [{"event_name": "homepageView", "timestamp": "2021-01-10T21:35:20Z"}],
            }
        ]
    }
    response = await upsert(http, body)
    assert response.status_code == 200
    assert response.json() == {
        "data": {
            "successful": {},
            "fail": {
                "count": 1,
                "errors": {
                    "users.0.events.0.event_name.*.regexp(^[a-z0-9][a-zA-Z0-9._-]*$)": [
                        "invalid event name: homepageView"
                    ]
                },
            },
        }
    }
    assert sandbox.control.insider_users() == []


PURCHASE_WITHOUT_GROUP_AND_PRICE = {
    "event_name": "purchase",
    "timestamp": "2021-01-10T21:35:20Z",
    "event_params": {"product_id": "ABC21000", "currency": "USD", "quantity": 1},
}


async def test_purchase_missing_params_answers_the_documented_fail_shape(http: httpx.AsyncClient) -> None:
    body = {"users": [{"identifiers": {"uuid": "1x2y3z"}, "events": [PURCHASE_WITHOUT_GROUP_AND_PRICE]}]}
    response = await upsert(http, body)
    assert response.status_code == 200
    assert response.json() == {
        "data": {
            "successful": {},
            "fail": {
                "count": 1,
                "errors": {
                    "users.0.events.0.event_params.*.required": [
                        "event_group_id parameter is required on purchase event",
                        "unit_sale_price parameter is required on purchase event",
                    ]
                },
            },
        }
    }


async def test_purchase_and_missing_identifiers_answer_the_documented_fail_shape(http: httpx.AsyncClient) -> None:
    body = {"users": [{"events": [PURCHASE_WITHOUT_GROUP_AND_PRICE]}]}
    response = await upsert(http, body)
    assert response.json() == {
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


async def test_purchase_quantity_can_be_made_required(sandbox: SandboxProcess, http: httpx.AsyncClient) -> None:
    f_users = example("f_multiple_users.json")  # its purchase has no quantity
    assert (await upsert(http, f_users)).json()["data"]["fail"] == {}
    sandbox.control.configure(purchase_requires_quantity=True)
    fail = (await upsert(http, f_users)).json()["data"]["fail"]
    assert fail["errors"] == {
        "users.0.events.0.event_params.*.required": ["quantity parameter is required on purchase event"]
    }


async def test_mixed_batch_keys_errors_by_user_index(sandbox: SandboxProcess, http: httpx.AsyncClient) -> None:
    body = {
        "users": [
            user(0),
            user(1, identifiers={"phone_number": "12345"}),
            user(2),
            user(3, events=[{"event_name": "Sign Up", "timestamp": "2023-01-10T21:35:20Z"}]),
            user(4, attributes={"email_optin": "yes"}),
        ]
    }
    response = await upsert(http, body)
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["successful"] == {"count": 2}
    assert data["fail"]["count"] == 3
    assert data["fail"]["errors"] == {
        "users.1.identifiers.*.regexp(^\\+[1-9]\\d{6,14}$)": ["user has an invalid phone number: 12345"],
        "users.3.events.0.event_name.*.regexp(^[a-z0-9][a-zA-Z0-9._-]*$)": ["invalid event name: Sign Up"],
        "users.4.attributes.*.type(boolean)": ["email_optin must be boolean: yes"],
    }
    assert sorted(u["key"] for u in sandbox.control.insider_users()) == ["uuid=user-0", "uuid=user-2"]


async def test_more_than_1000_users_is_400(http: httpx.AsyncClient) -> None:
    users = [user(i) for i in range(1001)]
    response = await upsert(http, {"users": users})
    assert response.status_code == 400
    assert response.json() == {"error": "users must not exceed 1000: bad request"}

    response = await upsert(http, {"users": users[:1000]})
    assert response.status_code == 200
    assert response.json()["data"]["successful"] == {"count": 1000}


async def test_body_over_5_000_000_bytes_is_400(sandbox: SandboxProcess, http: httpx.AsyncClient) -> None:
    headers = {**INSIDER_HEADERS, "Content-Type": "application/json"}
    response = await http.post(UPSERT, content=padded({"users": [user(0)]}, 5_000_001), headers=headers)
    assert response.status_code == 400
    assert response.json() == {"error": "request body is bigger than maximum allowed size 5,000,000 bytes"}

    response = await http.post(UPSERT, content=padded({"users": [user(0)]}, 5_000_000), headers=headers)
    assert response.status_code == 200
    assert response.json()["data"]["successful"] == {"count": 1}
    big = sandbox.control.requests(target="insider-upsert")[0]
    assert big["body_size"] == 5_000_001
    assert big["body_truncated"] is True


@pytest.mark.parametrize(
    "headers",
    [
        {"X-PARTNER-NAME": "SandboxPartner", "X-REQUEST-TOKEN": "sandbox-insider-key"},
        {"X-PARTNER-NAME": "SANDBOXPARTNER", "X-REQUEST-TOKEN": "sandbox-insider-key"},
        {"X-PARTNER-NAME": "otherpartner", "X-REQUEST-TOKEN": "sandbox-insider-key"},
        {"X-PARTNER-NAME": "sandboxpartner", "X-REQUEST-TOKEN": "wrong"},
        {"X-PARTNER-NAME": "sandboxpartner"},
        {},
    ],
)
async def test_wrong_partner_or_token_is_403(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await http.post(UPSERT, json={"users": [user()]}, headers=headers)
    assert response.status_code == 403
    assert response.json() == ACCESS_DENIED


async def test_non_json_content_type_is_400(http: httpx.AsyncClient) -> None:
    response = await http.post(
        UPSERT, content=json.dumps({"users": [user()]}), headers={**INSIDER_HEADERS, "Content-Type": "text/plain"}
    )
    assert response.status_code == 400
    assert response.json() == {"error": "content type must be application/json"}


@pytest.mark.parametrize("body", [{}, {"users": []}, {"users": None}, {"skip_hook": True}])
async def test_missing_users_is_400(http: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await upsert(http, body)
    assert response.status_code == 400
    assert response.json() == {"error": "users must be defined: bad request"}


@pytest.mark.parametrize(
    "body",
    [
        {"users": [user()], "skip_hook": "false"},
        {"users": [user()], "append": 1},
        {"users": [user()], "error_callback_endpoint": "not a url"},
        {"users": {"0": user()}},
        [user()],
    ],
)
async def test_malformed_top_level_is_400(http: httpx.AsyncClient, body: Any) -> None:
    response = await upsert(http, body)
    assert response.status_code == 400
    assert response.json()["error"].endswith("bad request")


@pytest.mark.parametrize("content", [b'{"users": [{"identifiers": {"uuid": "u"}, "attributes": {"age": NaN}}]}', b"{"])
async def test_body_that_is_not_json_is_400(http: httpx.AsyncClient, content: bytes) -> None:
    headers = {**INSIDER_HEADERS, "Content-Type": "application/json"}
    response = await http.post(UPSERT, content=content, headers=headers)
    assert response.status_code == 400
    assert response.json() == {"error": "request body is not valid JSON: bad request"}


async def test_fields_the_reference_does_not_define_are_applied_and_listed(
    sandbox: SandboxProcess, http: httpx.AsyncClient
) -> None:
    body = {
        "platform": "segment",
        "users": [user(0, attributes={"na": "Ann"}, events=[{**EVENT, "event_params": {"order_id": "A1"}}])],
    }
    response = await upsert(http, body)
    assert response.json() == {"data": {"successful": {"count": 1}, "fail": {}}}
    (applied,) = sandbox.control.insider_users()
    assert applied["user"] == body["users"][0]
    assert applied["undocumented"] == ["platform", "users.0.attributes.na", "users.0.events.0.event_params.order_id"]


async def test_user_without_attributes_or_events_fails(http: httpx.AsyncClient) -> None:
    response = await upsert(http, {"users": [{"identifiers": {"uuid": "u"}}]})
    assert response.json()["data"]["fail"]["errors"] == {
        "users.0.attributes.required": ["either attributes or events must be specified"],
        "users.0.events.required": ["either attributes or events must be specified"],
    }


async def test_json_content_type_with_charset_is_accepted(http: httpx.AsyncClient) -> None:
    response = await http.post(
        UPSERT,
        content=json.dumps({"users": [user()]}),
        headers={**INSIDER_HEADERS, "Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200
