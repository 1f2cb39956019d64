"""The mapping document: published schema, default mapping, round trips, and every problem listed."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from shared.insider.compiled_mapping import CompiledMapping, load_mapping
from shared.insider.mapping_checks import MappingInvalid
from shared.insider.mapping_schema import MAPPING_SCHEMA, mapping_json_schema

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "shared" / "insider" / "schemas" / "insider-mapping.schema.json"
DEFAULT_FILE = ROOT / "shared" / "insider" / "mapping.default.json"

BRIEF_EXAMPLE: dict[str, Any] = {
    "identifiers": [
        {"source": "id", "insider": "uuid"},
        {"source": "email", "insider": "email"},
        {"source": "loyalty_number", "insider": "loyalty_number", "custom": True},
    ],
    "profile": [
        {"source": "first_name", "insider": "name"},
        {"source": "tier", "insider": "loyalty_tier", "custom": True},
    ],
    "events": [
        {
            "source": "purchase",
            "insider": "purchase",
            "params": [
                {"source": "order_id", "insider": "event_group_id"},
                {"source": "points", "insider": "points_earned", "custom": True},
                {"source": "currency", "insider": "currency"},
                {"source": "amount", "insider": "unit_sale_price"},
            ],
        }
    ],
    "options": {"skipHook": False, "notAppend": False, "unmapped": "drop"},
}


def _problems(document: Any) -> list[dict[str, str]]:
    with pytest.raises(MappingInvalid) as caught:
        load_mapping(document)
    return caught.value.errors


def _paths(document: Any) -> list[str]:
    return [problem["path"] for problem in _problems(document)]


# -- published files -----------------------------------------------------------------------------


def test_published_schema_file_equals_the_schema_in_code() -> None:
    """The file is generated from ``mapping_json_schema()``; regenerate it when this fails."""
    assert json.loads(SCHEMA_FILE.read_text(encoding="utf-8")) == mapping_json_schema()


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(MAPPING_SCHEMA)
    assert MAPPING_SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_lists_default_names_as_enums() -> None:
    defs = MAPPING_SCHEMA["$defs"]
    assert defs["identifier"]["allOf"][1]["then"]["properties"]["insider"]["enum"] == ["uuid", "email", "phone_number"]
    assert "static_segment_id" in defs["attribute"]["allOf"][1]["then"]["properties"]["insider"]["enum"]
    assert "event_group_id" in defs["eventParam"]["allOf"][1]["then"]["properties"]["insider"]["enum"]


def test_default_mapping_file_is_valid_and_canonical() -> None:
    document = json.loads(DEFAULT_FILE.read_text(encoding="utf-8"))
    Draft202012Validator(MAPPING_SCHEMA).validate(document)
    mapping = load_mapping(document)
    assert mapping.to_document() == document
    assert mapping.skip_hook is False
    assert mapping.not_append is False
    assert mapping.unmapped == "drop"


def test_mapping_json_schema_returns_a_copy() -> None:
    schema = mapping_json_schema()
    schema["title"] = "changed"
    assert MAPPING_SCHEMA["title"] == "Insider mapping"


# -- valid documents and round trips ---------------------------------------------------------------


def test_brief_example_loads() -> None:
    mapping = load_mapping(BRIEF_EXAMPLE)
    assert isinstance(mapping, CompiledMapping)


def test_minimal_document_fills_defaults_in_canonical_form() -> None:
    mapping = load_mapping({"identifiers": [{"source": "id", "insider": "uuid"}]})
    assert mapping.to_document() == {
        "identifiers": [{"source": "id", "insider": "uuid", "custom": False}],
        "profile": [],
        "events": [],
        "options": {"skipHook": False, "notAppend": False, "unmapped": "drop"},
    }


def test_round_trip_is_stable_and_lossless() -> None:
    first = load_mapping(BRIEF_EXAMPLE).to_document()
    second = load_mapping(first).to_document()
    assert first == second
    # Only the implicit defaults were added.
    assert first["identifiers"][0] == {"source": "id", "insider": "uuid", "custom": False}
    assert first["events"][0]["params"][1] == {"source": "points", "insider": "points_earned", "custom": True}


def test_to_document_is_a_copy_and_input_is_not_kept() -> None:
    document = copy.deepcopy(BRIEF_EXAMPLE)
    mapping = load_mapping(document)
    document["identifiers"].clear()
    out = mapping.to_document()
    out["profile"].clear()
    assert len(mapping.to_document()["identifiers"]) == 3
    assert len(mapping.to_document()["profile"]) == 2


def test_schema_key_is_kept() -> None:
    document = {"$schema": "schemas/insider-mapping.schema.json", "identifiers": [{"source": "id", "insider": "uuid"}]}
    assert load_mapping(document).to_document()["$schema"] == "schemas/insider-mapping.schema.json"


def test_options_are_exposed() -> None:
    document = copy.deepcopy(BRIEF_EXAMPLE)
    document["options"] = {"skipHook": True, "notAppend": True, "unmapped": "custom"}
    mapping = load_mapping(document)
    assert (mapping.skip_hook, mapping.not_append, mapping.unmapped) == (True, True, "custom")


def test_two_source_events_may_feed_one_insider_event() -> None:
    document = {
        "identifiers": [{"source": "id", "insider": "uuid"}],
        "events": [
            {"source": "order_shipped", "insider": "order_update"},
            {"source": "order_delivered", "insider": "order_update"},
        ],
    }
    load_mapping(document)


def test_same_source_may_feed_an_identifier_and_an_attribute() -> None:
    load_mapping(
        {
            "identifiers": [{"source": "email", "insider": "email"}],
            "profile": [{"source": "email", "insider": "contact_email", "custom": True}],
        }
    )


# -- invalid documents: every problem listed -------------------------------------------------------


@pytest.mark.parametrize("document", [None, [], "mapping", 3])
def test_non_object_document(document: Any) -> None:
    problems = _problems(document)
    assert [p["path"] for p in problems] == [""]
    assert "object" in problems[0]["message"]


def test_identifiers_are_required_and_not_empty() -> None:
    assert _paths({}) == ["/identifiers"]
    assert _paths({"identifiers": []}) == ["/identifiers"]


def test_every_problem_is_listed_in_document_order() -> None:
    document = {
        "identifiers": [
            {"source": "id", "insider": "uid"},  # not a default identifier
            {"source": "email", "insider": "email", "custom": True},  # default name used as custom
            {"source": "card", "insider": "Card Number", "custom": True},  # not snake_case
            {"source": "email", "insider": "loyalty_id", "custom": True, "extra": 1},  # dup source, unknown key
            {"source": "", "insider": "phone_number"},  # empty source
            {"source": "alt", "insider": "uuid"},  # ok
            {"source": "alt2", "insider": "uuid"},  # duplicate Insider identifier
            {"insider": "phone_number"},  # source missing (and phone_number mapped twice)
        ],
        "profile": [
            {"source": "first_name", "insider": "first_name"},  # not a default attribute
            {"source": "tier", "insider": "loyalty_tier", "custom": "yes"},  # custom not boolean
            {"source": "fname", "insider": "name"},
            {"source": "fname", "insider": "surname"},  # duplicate source
            {"source": "given", "insider": "name"},  # duplicate Insider attribute
            {"source": "t", "insider": "name", "custom": True},  # default name used as custom
        ],
        "events": [
            {
                "source": "purchase",
                "insider": "purchase",
                "params": [
                    {"source": "order_id", "insider": "order_id"},  # not a default param
                    {"source": "points", "insider": "points", "custom": True},
                    {"source": "pts", "insider": "points", "custom": True},  # duplicate custom param
                    {"source": "points", "insider": "bonus", "custom": True},  # duplicate source
                ],
            },  # and event_group_id, currency, unit_sale_price are not mapped
            {"source": "view", "insider": "homepageView"},  # unsafe event name
            {"source": "purchase", "insider": "order_again"},  # duplicate source event
            {"source": "cart", "insider": "cart_page_view", "params": [{"source": "c", "insider": "currency"}]},
        ],
        "options": {"skipHook": "no", "unmapped": "everything", "batch": 10},
        "version": 2,
    }
    problems = _problems(document)
    paths = [p["path"] for p in problems]
    assert paths == [
        "/identifiers/0/insider",
        "/identifiers/1/insider",
        "/identifiers/2/insider",
        "/identifiers/3/extra",
        "/identifiers/3/source",
        "/identifiers/4/source",
        "/identifiers/6/insider",
        "/identifiers/7/insider",  # phone_number is also mapped at /identifiers/4
        "/identifiers/7/source",
        "/profile/0/insider",
        "/profile/1/custom",
        "/profile/3/source",
        "/profile/4/insider",
        "/profile/5/insider",
        "/events/0/params",
        "/events/0/params/0/insider",
        "/events/0/params/2/insider",
        "/events/0/params/3/source",
        "/events/1/insider",
        "/events/2/source",
        "/events/3/params",
        "/options/batch",
        "/options/skipHook",
        "/options/unmapped",
        "/version",
    ]
    messages = {p["path"]: p["message"] for p in problems}
    assert "not a default Insider identifier name" in messages["/identifiers/0/insider"]
    assert "default Insider identifier name" in messages["/identifiers/1/insider"]
    assert "snake_case" in messages["/identifiers/2/insider"]
    assert messages["/identifiers/3/extra"] == "unknown property"
    assert "already mapped at /identifiers/1" in messages["/identifiers/3/source"]
    assert "already mapped at /identifiers/5" in messages["/identifiers/6/insider"]
    assert messages["/identifiers/7/source"] == "required property is missing"
    assert "set custom to true" in messages["/profile/0/insider"]
    assert "already mapped at /profile/2" in messages["/profile/4/insider"]
    assert "event_group_id, currency, unit_sale_price" in messages["/events/0/params"]
    assert "not a default Insider event parameter name" in messages["/events/0/params/0/insider"]
    assert "safe Insider event name" in messages["/events/1/insider"]
    assert "event_group_id, unit_sale_price" in messages["/events/3/params"]


def test_error_paths_escape_json_pointer_characters() -> None:
    paths = _paths({"identifiers": [{"source": "id", "insider": "uuid", "a/b~c": 1}]})
    assert paths == ["/identifiers/0/a~1b~0c"]


def test_mapping_invalid_message_summarises() -> None:
    with pytest.raises(MappingInvalid) as caught:
        load_mapping({"identifiers": [{"source": "id", "insider": "uid"}], "options": {"unmapped": "x"}})
    text = str(caught.value)
    assert "2 problem(s)" in text
    assert "/identifiers/0/insider" in text
    assert isinstance(caught.value, ValueError)


def test_malformed_sections_do_not_crash_semantic_checks() -> None:
    paths = _paths(
        {
            "identifiers": [None, 5, {"source": 1, "insider": []}],
            "profile": "first_name",
            "events": [{"source": "p", "insider": "purchase", "params": "x"}],
        }
    )
    assert "/identifiers/0" in paths
    assert "/identifiers/1" in paths
    assert "/identifiers/2/source" in paths
    assert "/profile" in paths
    assert "/events/0/params" in paths
