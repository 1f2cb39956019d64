"""Issue 14: insider_id addressing, per-attribute append, unlisted root attributes, the error callback.

The reference's own examples (B for insider_id and not_append, A for appended arrays) are in
test_examples.py; these tests cover the rules around them.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from shared.insider.compiled_mapping import CompiledMapping, load_mapping, source_fields_schema
from shared.insider.mapper import MappedCustomer, RejectedCustomer, map_customer
from shared.insider.mapping_checks import MappingInvalid
from shared.insider.upsert import build_upsert_body, encode_body, pack_users

DOCUMENT: dict[str, Any] = {
    "identifiers": [{"source": "id", "insider": "uuid"}, {"source": "email", "insider": "email"}],
    "insiderId": {"source": "iid"},
    "profile": [
        {"source": "first_name", "insider": "name"},
        {"source": "email", "insider": "email"},
        {"source": "lists", "insider": "list_id", "append": False},
        {"source": "colours", "insider": "favorite_color", "custom": True, "append": True},
        {"source": "card", "insider": "loyalty_card", "default": True},
    ],
}


def _load(**changes: Any) -> CompiledMapping:
    document = copy.deepcopy(DOCUMENT)
    document.update(changes)
    return load_mapping(document)


def _mapped(result: Any) -> MappedCustomer:
    assert isinstance(result, MappedCustomer), result
    return result


def _problems(document: Any) -> dict[str, str]:
    with pytest.raises(MappingInvalid) as caught:
        load_mapping(document)
    return {problem["path"]: problem["message"] for problem in caught.value.errors}


# -- insider_id ----------------------------------------------------------------------------------


def test_insider_id_takes_the_place_of_identifiers_and_an_integer_is_sent_as_a_string() -> None:
    result = _mapped(map_customer(_load(), {"id": "C-1", "attributes": {"iid": 42, "email": "a@b.co"}}))
    # The identifiers are not sent, so the email attribute is (no "identifiers win" here).
    assert result.user == {"insider_id": "42", "attributes": {"email": "a@b.co"}}


def test_identifiers_are_not_read_when_the_insider_id_addresses_the_user() -> None:
    mapping = _load(profile=[{"source": "first_name", "insider": "name"}])
    result = _mapped(map_customer(mapping, {"id": "C-1", "attributes": {"iid": "i-1", "email": "not an email",
                                                                        "first_name": "Ann"}}))
    assert result.user == {"insider_id": "i-1", "attributes": {"name": "Ann"}}


def test_without_an_insider_id_the_identifiers_address_the_user() -> None:
    result = _mapped(map_customer(_load(), {"id": "C-1", "attributes": {"iid": None, "first_name": "Ann"}}))
    assert result.user == {"identifiers": {"uuid": "C-1"}, "attributes": {"name": "Ann"}}


def test_an_invalid_insider_id_rejects_the_customer() -> None:
    result = map_customer(_load(), {"id": "C-1", "attributes": {"iid": {"x": 1}, "first_name": "Ann"}})
    assert isinstance(result, RejectedCustomer)
    assert [(e["field"], e["rule"]) for e in result.errors] == [("attributes.iid", "string")]


def test_no_insider_id_and_no_identifier_names_both_sources() -> None:
    document = {"identifiers": [{"source": "email", "insider": "email"}], "insiderId": {"source": "iid"},
                "profile": [{"source": "first_name", "insider": "name"}]}
    result = map_customer(load_mapping(document), {"id": "C-1", "attributes": {"first_name": "Ann"}})
    assert isinstance(result, RejectedCustomer)
    assert result.errors[0]["rule"] == "identifier-required"
    assert "(attributes.iid, attributes.email)" in result.errors[0]["message"]


def test_insider_id_can_be_the_customer_id_and_is_a_source_field() -> None:
    mapping = _load(insiderId={"source": "id"})
    assert _mapped(map_customer(mapping, {"id": "C-1", "attributes": {"first_name": "A"}})).user == {
        "insider_id": "C-1", "attributes": {"name": "A"}}
    fields = source_fields_schema(_load())["attributes"]["properties"]
    assert fields["iid"] == {"type": "string", "description": "Sent to Insider as insider_id."}


def test_insider_id_rows_are_checked() -> None:
    assert _problems({**DOCUMENT, "insiderId": {"source": "", "custom": True}}) == {
        "/insiderId/custom": "unknown property",
        "/insiderId/source": "'' should be non-empty",
    }
    assert _problems({**DOCUMENT, "insiderId": {}}) == {"/insiderId/source": "required property is missing"}


# -- append per attribute ------------------------------------------------------------------------


def test_a_user_whose_arrays_are_all_overwritten_carries_not_append() -> None:
    result = _mapped(map_customer(_load(), {"id": "C-1", "attributes": {"lists": [1], "first_name": "A"}}))
    assert result.user == {"identifiers": {"uuid": "C-1"}, "attributes": {"name": "A", "list_id": [1]},
                           "not_append": True}


def test_a_user_whose_arrays_are_all_appended_carries_no_flag() -> None:
    result = _mapped(map_customer(_load(), {"id": "C-1", "attributes": {"colours": ["red"]}}))
    assert result.user == {"identifiers": {"uuid": "C-1"}, "attributes": {"custom": {"favorite_color": ["red"]}}}


def test_a_scalar_value_of_an_array_capable_row_does_not_steer_the_flag() -> None:
    result = _mapped(map_customer(_load(), {"id": "C-1", "attributes": {"colours": "red", "lists": [1]}}))
    assert result.user["not_append"] is True


def test_both_kinds_in_one_user_are_appended_with_a_warning() -> None:
    # Insider's flag is per user (§3): "append" wins, as it does over "not_append" in Insider's own rule.
    result = _mapped(map_customer(_load(), {"id": "C-1", "attributes": {"lists": [1], "colours": ["red"]}}))
    assert "not_append" not in result.user
    assert [(w["field"], w["rule"]) for w in result.warnings] == [("attributes.lists", "append-conflict")]
    assert "attributes.colours is appended" in result.warnings[0]["message"]


def test_a_user_without_arrays_follows_the_mapping_option() -> None:
    plain = _mapped(map_customer(_load(), {"id": "C-1", "attributes": {"first_name": "A"}}))
    assert "not_append" not in plain.user
    option = _load(options={"notAppend": True})
    assert _mapped(map_customer(option, {"id": "C-1", "attributes": {"first_name": "A"}})).user["not_append"] is True


def test_rows_without_append_follow_the_option_and_rows_with_it_override_it() -> None:
    document = {"identifiers": [{"source": "id", "insider": "uuid"}], "options": {"notAppend": True},
                "profile": [{"source": "a", "insider": "a_list", "custom": True},
                            {"source": "b", "insider": "b_list", "custom": True, "append": True}]}
    mapping = load_mapping(document)
    assert _mapped(map_customer(mapping, {"id": "C", "attributes": {"a": [1]}})).user["not_append"] is True
    assert "not_append" not in _mapped(map_customer(mapping, {"id": "C", "attributes": {"b": [1]}})).user


def test_unmapped_custom_arrays_follow_the_option() -> None:
    mapping = _load(options={"unmapped": "custom"})
    result = _mapped(map_customer(mapping, {"id": "C-1", "attributes": {"lists": [1], "tags": ["x"]}}))
    assert "not_append" not in result.user  # tags is appended (the option's default), so the user appends
    assert [(w["field"], w["rule"]) for w in result.warnings] == [("attributes.lists", "append-conflict")]


def test_append_applies_to_arrays_only() -> None:
    document = copy.deepcopy(DOCUMENT)
    document["profile"].append({"source": "x", "insider": "surname", "append": True})
    document["profile"].append({"source": "y", "insider": "favourite", "custom": True, "append": "yes"})
    problems = _problems(document)
    assert problems["/profile/5/append"].startswith("'surname' is never an array; append applies to static_segment_id")
    assert problems["/profile/6/append"] == "'yes' is not of type 'boolean'"
    assert len(problems) == 2


def test_a_mapping_with_both_modes_warns() -> None:
    (warning,) = [w for w in _load().warnings if w["path"] == "/profile"]
    assert warning["message"].startswith("/profile/3 appends its arrays and /profile/2 overwrites them")
    same = _load(profile=[{"source": "lists", "insider": "list_id", "append": False}])
    assert same.warnings == []


# -- default: true (a root attribute the app does not list) --------------------------------------


def test_an_unlisted_root_attribute_is_sent_as_given_with_a_mapping_warning() -> None:
    mapping = _load()
    result = _mapped(map_customer(mapping, {"id": "C-1", "attributes": {"card": ["gold", 2]}}))
    assert result.user["attributes"] == {"loyalty_card": ["gold", 2]}
    assert mapping.warnings[0]["path"] == "/profile/4/insider"
    assert mapping.warnings[0]["message"].startswith("'loyalty_card' is not a default attribute this app lists")


def test_default_true_on_a_listed_attribute_keeps_its_value_rule_and_warns_nothing() -> None:
    mapping = _load(profile=[{"source": "c", "insider": "country", "default": True}])
    assert mapping.warnings == []
    rejected = map_customer(mapping, {"id": "C-1", "attributes": {"c": "Atlantis"}})
    assert isinstance(rejected, RejectedCustomer) and rejected.errors[0]["rule"] == "iso3166-alpha2"


def test_default_rows_are_checked() -> None:
    document = copy.deepcopy(DOCUMENT)
    document["profile"] = [
        {"source": "a", "insider": "Loyalty Card", "default": True},
        {"source": "b", "insider": "tier", "default": True, "custom": True},
        {"source": "c", "insider": "card_type"},
        {"source": "d", "insider": "loyalty_card", "default": True},
        {"source": "e", "insider": "loyalty_card", "default": True},
    ]
    problems = _problems(document)
    assert problems["/profile/0/insider"].startswith("'Loyalty Card' is not a valid custom name: use snake_case")
    assert problems["/profile/1/default"].startswith("a row is custom (sent under attributes.custom) or default")
    assert problems["/profile/2/insider"].endswith(
        "set custom to true to send it as a custom attribute, or default to true to send it at the root of attributes")
    assert problems["/profile/4/insider"] == "Insider attribute 'loyalty_card' is already mapped at /profile/3"
    assert len(problems) == 4


# -- canonical form ------------------------------------------------------------------------------


def test_canonical_form_keeps_the_new_keys_only_where_given() -> None:
    document = _load().to_document()
    assert document["insiderId"] == {"source": "iid"}
    assert list(document)[:3] == ["identifiers", "insiderId", "profile"]
    assert document["profile"][0] == {"source": "first_name", "insider": "name", "custom": False}
    assert document["profile"][2] == {"source": "lists", "insider": "list_id", "custom": False, "append": False}
    assert document["profile"][4] == {"source": "card", "insider": "loyalty_card", "custom": False, "default": True}
    assert load_mapping(document).to_document() == document


# -- error_callback_endpoint ---------------------------------------------------------------------


def test_the_error_callback_is_a_request_level_key_and_packing_counts_it() -> None:
    mapping = _load()
    users = [{"identifiers": {"uuid": f"u{i}"}, "attributes": {"name": "x" * 50}} for i in range(10)]
    callback = "https://hooks.example.com/insider-errors"
    body = build_upsert_body(mapping, users[:1], callback)
    assert list(body) == ["skip_hook", "error_callback_endpoint", "users"]
    assert "error_callback_endpoint" not in build_upsert_body(mapping, users[:1])
    three_users = len(encode_body(build_upsert_body(mapping, users[:3])))
    assert [len(request) for request in pack_users(users, max_bytes=three_users)] == [3, 3, 3, 1]
    packed = pack_users(users, max_bytes=three_users, error_callback_endpoint=callback)
    assert [len(request) for request in packed] == [2, 2, 2, 2, 2]
    for request in packed:
        assert len(encode_body(build_upsert_body(mapping, [users[i] for i in request], callback))) <= three_users
