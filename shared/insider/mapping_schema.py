"""The mapping document's JSON Schema (draft 2020-12), built from Insider's name lists.

Published at ``shared/insider/schemas/insider-mapping.schema.json`` (kept equal to
:func:`mapping_json_schema` by a test) and in the OpenAPI document. ``mapping_checks`` validates
documents against it and adds the checks a schema cannot express; ``compiled_mapping`` compiles
valid ones. The format is described in ``docs/insider-mapping.md``.
"""

from __future__ import annotations

import copy
from typing import Any, Final

from shared.insider.names import (
    ARRAY_ATTRIBUTES,
    CUSTOM_NAME_PATTERN,
    DEFAULT_ATTRIBUTES,
    DEFAULT_EVENT_PARAMS,
    DEFAULT_IDENTIFIERS,
    EVENT_NAME_PATTERN,
    REQUIRED_EVENT_PARAMS,
)

__all__ = ["CUSTOMER_ID_SOURCE", "MAPPING_SCHEMA", "SEMANTIC", "mapping_json_schema"]

#: A mapping row whose ``source`` is this name reads the customer ID, not an attribute.
CUSTOMER_ID_SOURCE: Final = "id"

#: Marks the schema rules that the semantic checks (mapping_checks.py) also report, with a message of their own:
#: their JSON Schema errors are left out there, so each problem is listed once.
SEMANTIC: Final = "Also a semantic check of load_mapping, which reports it in its own words."


def _row_schema(title: str, defaults: tuple[str, ...], kind: str) -> dict[str, Any]:
    return {
        "title": title,
        "type": "object",
        "required": ["source", "insider"],
        "additionalProperties": False,
        "properties": {
            "source": {"$ref": "#/$defs/sourceName"},
            "insider": {
                "type": "string",
                "description": f"Insider {kind} name: a default name, or with custom: true a custom name.",
            },
            "custom": {
                "type": "boolean",
                "default": False,
                "description": f"true: a custom {kind} (sent under custom).",
            },
        },
        # Two conditions rather than if/else, so a non-boolean "custom" reports only its own type.
        "allOf": [
            {
                "if": {"required": ["custom"], "properties": {"custom": {"const": True}}},
                "then": {"properties": {"insider": {"$ref": "#/$defs/customName", "$comment": SEMANTIC,
                                                    "not": {"enum": list(defaults)}}}},
            },
            {
                "if": {"properties": {"custom": {"const": False}}},
                "then": {"properties": {"insider": {"enum": list(defaults)}}},
            },
        ],
    }


def _attribute_row_schema() -> dict[str, Any]:
    """A profile row: an identifier-style row plus ``default`` (an unlisted root attribute) and ``append``."""
    schema = _row_schema("Attribute mapping", DEFAULT_ATTRIBUTES, "attribute")
    schema["properties"]["insider"]["description"] = (
        "Insider attribute name: a default name, with custom: true a custom name, or with default: true "
        "a root attribute this app does not list."
    )
    schema["properties"]["default"] = {
        "type": "boolean",
        "default": False,
        "description": "true: a root attribute of attributes that the app does not list (sent as given, with a "
        "warning in preview).",
    }
    schema["properties"]["append"] = {
        "type": "boolean",
        "description": "Array values only: true appends them to the user's array, false overwrites it "
        "(not_append: true). Absent: options.notAppend decides.",
    }
    # The listed names apply unless the row says custom or default; a default: true name is snake_case.
    schema["allOf"][1]["if"] = {"properties": {"custom": {"const": False}, "default": {"const": False}}}
    schema["allOf"].append(
        {
            "if": {"required": ["default"], "properties": {"default": {"const": True}}},
            "then": {"properties": {"insider": {"$ref": "#/$defs/customName"}}},
        }
    )
    # custom or default, not both
    schema["allOf"].append({
        "if": {"required": ["custom", "default"],
               "properties": {"custom": {"const": True}, "default": {"const": True}}},
        "then": {"$comment": SEMANTIC, "not": {}},
    })
    # append only on a row that can send an array: custom, a listed array attribute, or an unlisted root one.
    schema["allOf"].append(
        {
            "if": {
                "required": ["append", "insider"],
                "properties": {"custom": {"const": False}, "insider": {"not": {"enum": list(ARRAY_ATTRIBUTES)}}},
                "not": {"required": ["default"], "properties": {
                    "default": {"const": True}, "insider": {"not": {"enum": list(DEFAULT_ATTRIBUTES)}}}},
            },
            "then": {"$comment": SEMANTIC, "not": {"required": ["append"]}},
        }
    )
    return schema


def _required_params_schema(event: str, params: tuple[str, ...]) -> dict[str, Any]:
    """An Insider `event` is sent only with each of `params` mapped (as a default parameter)."""
    return {
        "if": {"required": ["insider"], "properties": {"insider": {"const": event}}},
        "then": {
            "$comment": SEMANTIC,
            "required": ["params"],
            "properties": {"params": {"allOf": [
                {"$comment": SEMANTIC, "contains": {"type": "object", "required": ["insider"], "properties": {
                    "insider": {"const": param}, "custom": {"const": False}}}}
                for param in params]}},
        },
    }


def _build_schema() -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:inquba-insider-functions:schema:insider-mapping",
        "title": "Insider mapping",
        "description": (
            "How source customers (ID, attributes, events) become Insider UCD upsert users. "
            "See docs/insider-mapping.md."
        ),
        "type": "object",
        "required": ["identifiers"],
        "additionalProperties": False,
        "properties": {
            "$schema": {"type": "string"},
            "identifiers": {
                "type": "array",
                "minItems": 1,
                "description": "Identifiers sent under identifiers (custom ones under identifiers.custom); each "
                "source and each Insider identifier at most once.",
                "items": {"$ref": "#/$defs/identifier"},
            },
            "insiderId": {"$ref": "#/$defs/insiderId"},
            "profile": {
                "type": "array",
                "default": [],
                "description": "Attributes sent under attributes (custom ones under attributes.custom); each "
                "source and each Insider attribute at most once.",
                "items": {"$ref": "#/$defs/attribute"},
            },
            "events": {
                "type": "array",
                "default": [],
                "description": "Source events sent to Insider; unmapped events follow options.unmapped. Each "
                "source event at most once (an Insider event may take several).",
                "items": {"$ref": "#/$defs/event"},
            },
            "options": {"$ref": "#/$defs/options"},
        },
        "$defs": {
            "sourceName": {
                "type": "string",
                "minLength": 1,
                "description": 'Source field: "id" (the customer ID) or an attribute / parameter name.',
            },
            "customName": {"type": "string", "pattern": CUSTOM_NAME_PATTERN},
            "eventName": {"type": "string", "pattern": EVENT_NAME_PATTERN},
            "identifier": _row_schema("Identifier mapping", DEFAULT_IDENTIFIERS, "identifier"),
            "insiderId": {
                "title": "Insider ID mapping",
                "type": "object",
                "required": ["source"],
                "additionalProperties": False,
                "description": "A customer with a value here is sent as insider_id, in place of identifiers; "
                "the others are sent with their identifiers.",
                "properties": {"source": {"$ref": "#/$defs/sourceName"}},
            },
            "attribute": _attribute_row_schema(),
            "eventParam": _row_schema("Event parameter mapping", DEFAULT_EVENT_PARAMS, "event parameter"),
            "event": {
                "title": "Event mapping",
                "type": "object",
                "required": ["source", "insider"],
                "additionalProperties": False,
                "properties": {
                    "source": {"$ref": "#/$defs/sourceName"},
                    "insider": {"$ref": "#/$defs/eventName"},
                    "params": {"type": "array", "default": [], "items": {"$ref": "#/$defs/eventParam"},
                               "description": "Each source and each Insider parameter at most once; " + "; ".join(
                                   f"a {event} event needs {', '.join(params)}"
                                   for event, params in REQUIRED_EVENT_PARAMS.items()) + "."},
                },
                "allOf": [_required_params_schema(event, params) for event, params in REQUIRED_EVENT_PARAMS.items()],
            },
            "options": {
                "title": "Options",
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "skipHook": {
                        "type": "boolean",
                        "default": False,
                        "description": "Sent as the top-level skip_hook of every upsert request.",
                    },
                    "notAppend": {
                        "type": "boolean",
                        "default": False,
                        "description": "true: array attributes are overwritten (the user carries not_append: true) "
                        "unless their row says append: true; false: appended unless their row says append: false.",
                    },
                    "unmapped": {
                        "enum": ["drop", "custom"],
                        "default": "drop",
                        "description": "drop: ignore what is not mapped; custom: send it as custom.",
                    },
                },
            },
        },
    }


#: The mapping document's JSON Schema (treat as read-only; :func:`mapping_json_schema` returns a copy).
MAPPING_SCHEMA: Final[dict[str, Any]] = _build_schema()


def mapping_json_schema() -> dict[str, Any]:
    """The JSON Schema of the mapping document (a fresh copy)."""
    return copy.deepcopy(MAPPING_SCHEMA)
