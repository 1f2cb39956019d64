"""Insider endpoints acting on known users (insider-api.md §8): delete, anonymise, delete attributes, profile.

The reference's own bodies for these endpoints are in insider_examples/ (g to k), verbatim.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.process import SandboxProcess
from tests.sandbox.helpers import ACCESS_DENIED, INSIDER_HEADERS, padded, upsert

EXAMPLES = Path(__file__).parent / "insider_examples"
DELETE = "/api/user/v1/delete"
ANONYMIZE = "/api/user/v1/anonymize"
ANONYMIZE_CONTACT = "/api/contact/v1/anonymize"
ATTRIBUTES_DELETE = "/api/user/v1/attribute/delete"
PROFILE = "/api/user/v1/profile"
NO_SUCH_USER = {"error": "no such user for these identifiers: no data"}
NO_IDENTITY = "either insider_id or idenifiers must be specified: bad request"
ANN = {
    "identifiers": {"email": "ann@example.com", "uuid": "ann-1", "custom": {"loyalty_id": "L-1"}},
    "attributes": {
        "name": "Ann",
        "surname": "Lee",
        "email_optin": True,
        "birthday": "1990-01-01T00:00:00Z",
        "city": "Cape Town",
        "static_segment_id": [1, 2, 3],
        "custom": {"tier": "Gold", "colors": ["green", "red"]},
    },
    "events": [
        {"event_name": "email_click", "timestamp": "2021-01-06T23:34:09Z", "event_params": {"campaign_id": 1456}},
        {"event_name": "email_click", "timestamp": "2021-03-01T10:00:00+02:00", "event_params": {"campaign_id": 7}},
        {
            "event_name": "purchase",
            "timestamp": "2021-01-10T21:35:20Z",
            "event_params": {
                "event_group_id": "O1",
                "unit_sale_price": 9.5,
                "currency": "USD",
                "custom": {"points": 90},
            },
        },
    ],
}
BOB = {"identifiers": {"uuid": "bob-1"}, "attributes": {"name": "Bob", "email": "bob@example.com"}}
# One valid body per endpoint, for the checks they all make.
VALID_BODIES: dict[str, dict[str, Any]] = {
    DELETE: {"identifiers": {"uuid": "ann-1"}},
    ANONYMIZE: {"identifiers": {"uuid": "ann-1"}},
    ANONYMIZE_CONTACT: {"insider_id": "sandbox-iid-1"},
    ATTRIBUTES_DELETE: {"users": [{"identifiers": {"uuid": "ann-1"}, "whole": ["city"]}]},
    PROFILE: {"identifiers": {"uuid": "ann-1"}, "attributes": ["name"]},
}
TARGETS = {
    DELETE: "insider-delete",
    ANONYMIZE: "insider-anonymize",
    ANONYMIZE_CONTACT: "insider-anonymize",
    ATTRIBUTES_DELETE: "insider-attributes-delete",
    PROFILE: "insider-profile",
}
FAULT_TARGETS = {
    DELETE: "insider-delete",
    ANONYMIZE: "insider-anonymize",
    ANONYMIZE_CONTACT: "insider-anonymize",
    ATTRIBUTES_DELETE: "insider",  # shared with the upsert (§5.1)
    PROFILE: "insider-profile",
}


async def post(http: httpx.AsyncClient, path: str, body: Any) -> httpx.Response:
    return await http.post(path, json=body, headers=INSIDER_HEADERS)


async def post_bytes(http: httpx.AsyncClient, path: str, content: bytes) -> httpx.Response:
    return await http.post(path, content=content, headers={**INSIDER_HEADERS, "Content-Type": "application/json"})


def example(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


@pytest.fixture
async def known(http: httpx.AsyncClient) -> None:
    """Ann (sandbox-iid-1) and Bob (sandbox-iid-2) are known users."""
    response = await upsert(http, {"users": [ANN, BOB]})
    assert response.json()["data"]["successful"] == {"count": 2}


def profiles(sandbox: SandboxProcess) -> dict[str, dict[str, Any]]:
    """The sandbox's users by iid."""
    return {u["iid"]: u for u in sandbox.control.insider_users()}


# --- what every endpoint checks ------------------------------------------------------------------


@pytest.mark.parametrize("path", VALID_BODIES)
@pytest.mark.parametrize(
    "headers",
    [
        {"X-PARTNER-NAME": "SandboxPartner", "X-REQUEST-TOKEN": "sandbox-insider-key"},
        {"X-PARTNER-NAME": "sandboxpartner", "X-REQUEST-TOKEN": "wrong"},
        {},
    ],
)
async def test_wrong_partner_or_token_is_403(
    sandbox: SandboxProcess, http: httpx.AsyncClient, known: None, path: str, headers: dict[str, str]
) -> None:
    response = await http.post(path, json=VALID_BODIES[path], headers=headers)
    assert response.status_code == 403
    assert response.json() == ACCESS_DENIED
    assert profiles(sandbox)["sandbox-iid-1"]["attributes"]["city"] == "Cape Town"


@pytest.mark.parametrize("path", VALID_BODIES)
async def test_content_type_and_json_are_checked(http: httpx.AsyncClient, known: None, path: str) -> None:
    text = json.dumps(VALID_BODIES[path])
    wrong_type = await http.post(path, content=text, headers={**INSIDER_HEADERS, "Content-Type": "text/plain"})
    assert (wrong_type.status_code, wrong_type.json()) == (400, {"error": "content type must be application/json"})
    for content in (b"{", b"[]", b'{"insider_id": NaN}'):
        response = await post_bytes(http, path, content)
        assert response.status_code == 400
        assert response.json()["error"].endswith("bad request")
    assert (await post(http, path, VALID_BODIES[path])).status_code == 200


@pytest.mark.parametrize("path", [DELETE, ATTRIBUTES_DELETE])
async def test_delete_bodies_over_5_000_000_bytes_are_400(http: httpx.AsyncClient, known: None, path: str) -> None:
    too_big = await post_bytes(http, path, padded(VALID_BODIES[path], 5_000_001))
    assert too_big.status_code == 400
    assert too_big.json() == {"error": "request body is bigger than maximum allowed size 5,000,000 bytes"}
    assert (await post_bytes(http, path, padded(VALID_BODIES[path], 5_000_000))).status_code == 200


@pytest.mark.parametrize("path", [ANONYMIZE, PROFILE])
async def test_anonymise_and_profile_have_no_size_limit(http: httpx.AsyncClient, known: None, path: str) -> None:
    # The reference documents none for them.
    assert (await post_bytes(http, path, padded(VALID_BODIES[path], 5_000_001))).status_code == 200


async def test_each_endpoint_records_its_own_target(sandbox: SandboxProcess, http: httpx.AsyncClient) -> None:
    for path, body in VALID_BODIES.items():
        await post(http, path, body)
    entries = sandbox.control.requests()
    assert [(e["path"], e["target"]) for e in entries] == list(TARGETS.items())
    assert entries[0]["json"] == VALID_BODIES[DELETE]


@pytest.mark.parametrize("path", VALID_BODIES)
async def test_injected_errors_follow_each_endpoints_fault_target(
    sandbox: SandboxProcess, http: httpx.AsyncClient, known: None, path: str
) -> None:
    sandbox.control.configure(error_rates={"500": 1.0}, error_targets=[FAULT_TARGETS[path]])
    failed = await post(http, path, VALID_BODIES[path])
    assert failed.status_code == 500
    assert failed.json() == {
        "success": False,
        "message": "The request processing has failed because of an unknown error.",
    }
    assert sandbox.control.requests(target=TARGETS[path])[-1]["fault"] == "error"
    others = [p for p in VALID_BODIES if FAULT_TARGETS[p] != FAULT_TARGETS[path] and p != DELETE]
    assert [(await post(http, p, VALID_BODIES[p])).status_code for p in others] == [200] * len(others)


@pytest.mark.parametrize("path", VALID_BODIES)
async def test_rate_limit_of_each_endpoint_answers_429(
    sandbox: SandboxProcess, http: httpx.AsyncClient, known: None, path: str
) -> None:
    sandbox.control.configure(rate_limit_per_minute={FAULT_TARGETS[path]: 1})
    await post(http, path, VALID_BODIES[path])
    limited = await post(http, path, VALID_BODIES[path])
    assert limited.status_code == 429
    assert limited.json() == {"error": "rejected: too many requests"}
    assert int(limited.headers["Retry-After"]) >= 1
    assert sandbox.control.requests(target=TARGETS[path])[-1]["fault"] == "rate-limit"


async def test_delete_attributes_shares_the_upserts_budget(
    sandbox: SandboxProcess, http: httpx.AsyncClient, known: None
) -> None:
    sandbox.control.configure(rate_limit_per_minute={"insider": 2})
    assert (await upsert(http, {"users": [BOB]})).status_code == 200
    assert (await post(http, ATTRIBUTES_DELETE, VALID_BODIES[ATTRIBUTES_DELETE])).status_code == 200
    assert (await upsert(http, {"users": [BOB]})).status_code == 429
    assert (await post(http, ATTRIBUTES_DELETE, VALID_BODIES[ATTRIBUTES_DELETE])).status_code == 429
    assert (await post(http, PROFILE, VALID_BODIES[PROFILE])).status_code == 200  # a budget of its own


async def test_a_blocked_identifier_fails_its_user_alone_in_upserts_and_attribute_deletes(
    sandbox: SandboxProcess, http: httpx.AsyncClient, known: None
) -> None:
    sandbox.control.configure(insider_blocked_identifiers=["bob-1"])
    blocked = {"users.1.identifiers.*.blocked": ["identifier value is blocked: bob-1"]}
    deleted = await post(http, ATTRIBUTES_DELETE, {"users": [
        {"identifiers": {"uuid": "ann-1"}, "whole": ["city"]}, {"identifiers": {"uuid": "bob-1"}, "whole": ["name"]}]})
    assert deleted.json() == {"data": {"successful": {"count": 1}, "fail": {"count": 1, "errors": blocked}}}
    assert "city" not in profiles(sandbox)["sandbox-iid-1"]["attributes"]
    assert profiles(sandbox)["sandbox-iid-2"]["attributes"]["name"] == "Bob"  # a failing user changes nothing
    upserted = await upsert(http, {"users": [ANN, BOB]})
    assert upserted.json()["data"]["fail"] == {"count": 1, "errors": blocked}


# --- delete user ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "identifiers"),
    [
        ("j_delete_user_email.json", {"email": "example@useinsider.com"}),
        ("k_delete_user_custom_identifier.json", {"custom": {"custom_identifier": "xyz123"}}),
    ],
)
async def test_documented_delete_bodies_delete_the_user(
    sandbox: SandboxProcess, http: httpx.AsyncClient, known: None, name: str, identifiers: dict[str, Any]
) -> None:
    await upsert(http, {"users": [{"identifiers": identifiers, "attributes": {"name": "Gone"}}]})
    assert len(sandbox.control.insider_users()) == 3
    response = await post_bytes(http, DELETE, example(name))
    assert (response.status_code, response.json()) == (200, {})
    assert sorted(profiles(sandbox)) == ["sandbox-iid-1", "sandbox-iid-2"]


async def test_delete_removes_every_record_sharing_an_identifier(
    sandbox: SandboxProcess, http: httpx.AsyncClient, known: None
) -> None:
    await upsert(http, {"users": [{"identifiers": {"email": "ann@example.com"}, "attributes": {"age": 30}}]})
    response = await post(http, DELETE, {"identifiers": {"email": "ann@example.com", "uuid": "nobody"}})
    assert response.json() == {}
    assert sorted(profiles(sandbox)) == ["sandbox-iid-2"]
    profile = await post(http, PROFILE, {"identifiers": {"uuid": "ann-1"}, "attributes": ["name"]})
    assert (profile.status_code, profile.json()) == (404, NO_SUCH_USER)


async def test_deleting_an_unknown_user_answers_200(sandbox: SandboxProcess, http: httpx.AsyncClient) -> None:
    # The reference documents 200 {} and no 404 for delete (unlike profile and anonymise).
    response = await post(http, DELETE, {"identifiers": {"uuid": "nobody"}})
    assert (response.status_code, response.json()) == (200, {})


async def test_a_404_on_delete_can_be_injected(sandbox: SandboxProcess, http: httpx.AsyncClient, known: None) -> None:
    sandbox.control.configure(error_rates={"404": 1.0}, error_targets=["insider-delete"])
    response = await post(http, DELETE, {"identifiers": {"uuid": "ann-1"}})
    assert (response.status_code, response.json()) == (404, NO_SUCH_USER)
    assert len(sandbox.control.insider_users()) == 2  # injected: the user was not deleted


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "identifiers must be defined: bad request"),
        ({"identifiers": None}, "identifiers must be defined: bad request"),
        ({"identifiers": {}}, "identifiers must be defined: bad request"),
        ({"identifiers": {"custom": {}}}, "identifiers must be defined: bad request"),
        ({"users": [{"identifiers": {"uuid": "ann-1"}}]}, "identifiers must be defined: bad request"),
        ({"identifiers": ["ann-1"]}, "identifiers must be an object: bad request"),
        ({"identifiers": {"custom": "L-1"}}, "identifiers.custom must be an object: bad request"),
    ],
)
@pytest.mark.parametrize("path", [DELETE, ANONYMIZE])
async def test_delete_and_anonymise_need_one_users_identifiers(
    sandbox: SandboxProcess, http: httpx.AsyncClient, known: None, path: str, body: dict[str, Any], error: str
) -> None:
    response = await post(http, path, body)
    assert (response.status_code, response.json()) == (400, {"error": error})
    assert len(sandbox.control.insider_users()) == 2


# --- anonymise -----------------------------------------------------------------------------------


async def test_anonymise_deletes_the_pii_attributes(
    sandbox: SandboxProcess, http: httpx.AsyncClient, known: None
) -> None:
    response = await post(http, ANONYMIZE, {"identifiers": {"custom": {"loyalty_id": "L-1"}}})
    assert (response.status_code, response.json()) == (200, {})

    ann = profiles(sandbox)["sandbox-iid-1"]
    assert ann["anonymized"] is True
    assert ann["attributes"] == {
        "email_optin": True,
        "city": "Cape Town",
        "static_segment_id": [1, 2, 3],
        "custom": {"tier": "Gold", "colors": ["green", "red"]},
    }
    assert ann["identifiers"] == ANN["identifiers"]  # still the way to address the user
    assert ann["events"] == ANN["events"]
    assert profiles(sandbox)["sandbox-iid-2"]["anonymized"] is False

    read = await post(http, PROFILE, {"identifiers": {"uuid": "ann-1"}, "attributes": ["*"]})
    assert "email" not in read.json()["attributes"]  # nor read back through the identifier


async def test_pii_attributes_are_a_setting(sandbox: SandboxProcess, http: httpx.AsyncClient, known: None) -> None:
    sandbox.control.configure(insider_pii_attributes=["city", "list_id", "custom.tier"])
    await post(http, ANONYMIZE, {"identifiers": {"email": "ann@example.com"}})
    attributes = profiles(sandbox)["sandbox-iid-1"]["attributes"]
    assert "city" not in attributes and "static_segment_id" not in attributes
    assert attributes["custom"] == {"colors": ["green", "red"]}
    assert attributes["name"] == "Ann"


async def test_anonymising_an_unknown_user_is_404(
    sandbox: SandboxProcess, http: httpx.AsyncClient, known: None
) -> None:
    for path, body in ((ANONYMIZE, {"identifiers": {"uuid": "nobody"}}), (ANONYMIZE_CONTACT, {"insider_id": "x"})):
        response = await post(http, path, body)
        assert (response.status_code, response.json()) == (404, NO_SUCH_USER)
    assert not any(u["anonymized"] for u in sandbox.control.insider_users())


async def test_anonymise_by_insider_id(sandbox: SandboxProcess, http: httpx.AsyncClient, known: None) -> None:
    assert (await post(http, ANONYMIZE_CONTACT, {"insider_id": "sandbox-iid-2"})).json() == {}
    assert profiles(sandbox)["sandbox-iid-2"]["attributes"] == {}
    missing = await post(http, ANONYMIZE_CONTACT, {"identifiers": {"uuid": "bob-1"}})
    assert (missing.status_code, missing.json()) == (400, {"error": "insider_id must be defined: bad request"})


# --- delete attributes ---------------------------------------------------------------------------


async def test_documented_delete_attributes_example(sandbox: SandboxProcess, http: httpx.AsyncClient) -> None:
    user = {
        "identifiers": {"uuid": "1x2y3z"},
        "attributes": {
            "name": "Ann",
            "surname": "Lee",
            "email_optin": True,
            "age": 30,
            "list_id": [1, 2, 5],
            "custom": {"custom_string_attribute": "s", "custom_array_attribute": ["value1", "value4"], "kept": 1},
        },
    }
    await upsert(http, {"users": [user]})
    response = await post_bytes(http, ATTRIBUTES_DELETE, example("g_delete_user_attribute.json"))
    # The reference's saved answer for this example.
    assert (response.status_code, response.text) == (200, '{"data": {"successful": {"count": 1}, "fail": {}}}')
    (applied,) = sandbox.control.insider_users()
    assert applied["attributes"] == {"age": 30, "static_segment_id": [5], "custom": {"kept": 1}}


async def test_partial_custom_deletion_removes_values(
    sandbox: SandboxProcess, http: httpx.AsyncClient, known: None
) -> None:
    body = {"users": [{"insider_id": "sandbox-iid-1", "custom": {"partial": {"colors": ["red", "blue"]}}}]}
    assert (await post(http, ATTRIBUTES_DELETE, body)).json()["data"]["successful"] == {"count": 1}
    assert profiles(sandbox)["sandbox-iid-1"]["attributes"]["custom"] == {"tier": "Gold", "colors": ["green"]}


async def test_delete_attributes_answers_per_user(
    sandbox: SandboxProcess, http: httpx.AsyncClient, known: None
) -> None:
    body = {
        "users": [
            {"identifiers": {"uuid": "ann-1"}, "whole": ["city"], "partial": {"static_segment_id": [2]}},
            {"whole": ["name"]},
            {"identifiers": {"uuid": "bob-1"}, "whole": "name"},
            {"identifiers": {"uuid": "bob-1"}, "whole": ["email", "name"], "partial": {"uuid": ["bob-1"]}},
            {"identifiers": {"uuid": "bob-1"}, "partial": {"static_segment_id": 2}, "custom": {"whole": [1]}},
            {"identifiers": {"uuid": "nobody"}, "whole": ["name"]},  # unknown: nothing left to delete
            "bob-1",
        ]
    }
    response = await post(http, ATTRIBUTES_DELETE, body)
    assert response.status_code == 200
    assert response.json() == {
        "data": {
            "successful": {"count": 2},
            "fail": {
                "count": 5,
                "errors": {
                    "users.1.identifiers.required": ["either insider_id or idenifiers must be specified"],
                    "users.1.insider_id.required": ["either insider_id or idenifiers must be specified"],
                    "users.2.whole.type([]string)": ["whole must be an array of attribute names"],
                    "users.3.whole.*.in(non_identifier_attributes)": ["email is an identifier and cannot be deleted"],
                    "users.3.partial.*.in(non_identifier_attributes)": ["uuid is an identifier and cannot be deleted"],
                    "users.4.partial.*.type(array)": ["static_segment_id must be an array of values to remove"],
                    "users.4.custom.whole.type([]string)": ["custom.whole must be an array of attribute names"],
                    "users.6.type(object)": ["user must be an object"],
                },
            },
        }
    }
    users = profiles(sandbox)
    assert "city" not in users["sandbox-iid-1"]["attributes"]
    assert users["sandbox-iid-1"]["attributes"]["static_segment_id"] == [1, 3]
    assert users["sandbox-iid-2"]["attributes"] == BOB["attributes"]  # its requests all failed


@pytest.mark.parametrize(
    ("users", "error"),
    [
        (None, "users must be defined: bad request"),
        ([], "users must be defined: bad request"),
        ({"0": {}}, "users must be an array: bad request"),
        ([{"identifiers": {"uuid": "u"}}] * 1001, "users must not exceed 1000: bad request"),
    ],
)
async def test_delete_attributes_request_limits(http: httpx.AsyncClient, users: Any, error: str) -> None:
    response = await post(http, ATTRIBUTES_DELETE, {"users": users})
    assert (response.status_code, response.json()) == (400, {"error": error})


async def test_delete_attributes_takes_1000_users(http: httpx.AsyncClient) -> None:
    users = [{"identifiers": {"uuid": f"u-{i}"}, "whole": ["name"]} for i in range(1000)]
    response = await post(http, ATTRIBUTES_DELETE, {"users": users})
    assert response.json()["data"]["successful"] == {"count": 1000}


# --- get profile ---------------------------------------------------------------------------------


async def test_documented_profile_request_answers_the_documented_shape(
    sandbox: SandboxProcess, http: httpx.AsyncClient
) -> None:
    user = {
        "identifiers": {"email": "sample@useinsider.com"},
        "attributes": {"name": "John", "surname": "Doe"},
        "events": [
            {"event_name": "email_click", "timestamp": "2021-01-06T23:34:09Z", "event_params": {"campaign_id": 1456}},
            {"event_name": "email_click", "timestamp": "2021-02-01T00:00:00Z", "event_params": {"campaign_id": 1}},
        ],
    }
    await upsert(http, {"users": [user]})
    response = await post_bytes(http, PROFILE, example("h_get_user_profile.json"))
    assert response.status_code == 200

    # The reference's sample answer, with its missing comma put back; it reads back another email
    # than the request's, and its iid and quota are Insider's.
    sample = json.loads(example("i_profile_response.json.txt").decode().replace('"Doe"\n', '"Doe",\n'))
    sample["attributes"]["email"] = "sample@useinsider.com"
    sample["attributes"]["iid"] = "sandbox-iid-1"
    sample["quota"] = {"cost": 1, "used": 1, "total": 1000}
    assert response.json() == sample


async def test_unknown_user_profile_is_404(http: httpx.AsyncClient, known: None) -> None:
    for body in ({"identifiers": {"email": "x@y.co"}, "attributes": ["name"]}, {"insider_id": "x", "events": {}}):
        response = await post(http, PROFILE, body)
        assert (response.status_code, response.json()) == (404, NO_SUCH_USER)


async def test_profile_attributes(http: httpx.AsyncClient, known: None) -> None:
    asked = ["name", "email", "list_id", "c_tier", "_c__colors", "c_loyalty_id", "age", "c_nothing"]
    response = await post(http, PROFILE, {"insider_id": "sandbox-iid-1", "attributes": asked})
    assert response.json() == {
        "attributes": {
            "name": "Ann",
            "email": "ann@example.com",  # an identifier, read back as an attribute
            "list_id": [1, 2, 3],
            "c_tier": "Gold",
            "_c__colors": ["green", "red"],
            "c_loyalty_id": "L-1",
            "iid": "sandbox-iid-1",
        }
    }
    everything = await post(http, PROFILE, {"identifiers": {"uuid": "bob-1"}, "attributes": ["*"]})
    assert everything.json()["attributes"] == {
        "name": "Bob",
        "email": "bob@example.com",
        "uuid": "bob-1",
        "iid": "sandbox-iid-2",
    }


async def test_profile_events_by_date_and_params(http: httpx.AsyncClient, known: None) -> None:
    query = {
        "start_date": 1609459200,  # 2021-01-01T00:00:00Z
        "end_date": 1614556800,  # 2021-03-01T00:00:00Z: the second click (08:00Z) is after it
        "wanted": [
            {"event_name": "email_click", "params": ["campaign_id", "timestamp", "missing"]},
            {"event_name": "purchase"},
            {"event_name": "sign_up", "params": []},
        ],
    }
    response = await post(http, PROFILE, {"identifiers": {"uuid": "ann-1"}, "events": query})
    assert response.json() == {
        "events": {
            "email_click": [{"campaign_id": 1456, "created_date": "2021-01-06T23:34:09Z"}],
            "purchase": [
                {
                    "event_group_id": "O1",
                    "unit_sale_price": 9.5,
                    "currency": "USD",
                    "points": 90,
                    "created_date": "2021-01-10T21:35:20Z",
                }
            ],
            "sign_up": [],
        }
    }
    unbounded = {"wanted": [{"event_name": "email_click", "params": ["timestamp"]}]}
    response = await post(http, PROFILE, {"identifiers": {"uuid": "ann-1"}, "events": unbounded})
    assert response.json()["events"]["email_click"] == [
        {"created_date": "2021-01-06T23:34:09Z"},
        {"created_date": "2021-03-01T08:00:00Z"},
    ]


async def test_the_last_applied_record_answers(http: httpx.AsyncClient, known: None) -> None:
    await upsert(http, {"users": [{"identifiers": {"email": "ann@example.com"}, "attributes": {"name": "Annie"}}]})
    response = await post(http, PROFILE, {"identifiers": {"email": "ann@example.com"}, "attributes": ["name"]})
    assert response.json()["attributes"] == {"name": "Annie", "iid": "sandbox-iid-3"}


async def test_profile_quota(sandbox: SandboxProcess, http: httpx.AsyncClient, known: None) -> None:
    body = {**VALID_BODIES[PROFILE], "quota": True}
    quotas = [(await post(http, PROFILE, body)).json()["quota"] for _ in range(2)]
    assert quotas == [{"cost": 1, "used": 1, "total": 1000}, {"cost": 1, "used": 2, "total": 1000}]
    assert "quota" not in (await post(http, PROFILE, VALID_BODIES[PROFILE])).json()
    sandbox.control.configure(rate_limit_per_minute={"insider-profile": None})
    assert (await post(http, PROFILE, body)).json()["quota"] == {"cost": 1, "used": None, "total": None}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"attributes": ["name"]}, NO_IDENTITY),
        ({"identifiers": {}, "attributes": ["name"]}, NO_IDENTITY),
        ({"identifiers": "ann-1", "attributes": ["name"]}, NO_IDENTITY),
        ({"insider_id": "i", "identifiers": "u", "attributes": ["name"]}, "identifiers must be an object: bad request"),
        ({"identifiers": {"uuid": "ann-1"}}, "attributes or events must be specified: bad request"),
        ({"insider_id": "i", "attributes": "name"}, "attributes must be an array of attribute names: bad request"),
        ({"insider_id": "i", "attributes": [1]}, "attributes must be an array of attribute names: bad request"),
        ({"insider_id": "i", "events": []}, "events must be an object: bad request"),
        (
            {"insider_id": "i", "events": {"start_date": "2021-01-01"}},
            "events.start_date must be epoch seconds: bad request",
        ),
        ({"insider_id": "i", "events": {"end_date": True}}, "events.end_date must be epoch seconds: bad request"),
        (
            {"insider_id": "i", "events": {"wanted": [{"params": []}]}},
            "events.wanted must be an array of {event_name, params}: bad request",
        ),
        (
            {"insider_id": "i", "events": {"wanted": [{"event_name": "x", "params": "a"}]}},
            "events.wanted must be an array of {event_name, params}: bad request",
        ),
        ({"insider_id": "i", "attributes": [], "quota": "yes"}, "quota must be a boolean: bad request"),
    ],
)
async def test_malformed_profile_requests_are_400(http: httpx.AsyncClient, body: dict[str, Any], error: str) -> None:
    response = await post(http, PROFILE, body)
    assert (response.status_code, response.json()) == (400, {"error": error})
