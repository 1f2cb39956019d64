"""Source customers + a mapping document -> Insider UCD user objects (pure: no I/O).

``load_mapping`` validates a mapping document (JSON Schema draft 2020-12 plus semantic checks) and
compiles it into lookup tables; ``map_customer`` turns one source customer into an Insider user
object, or rejects it with every problem found. Nothing is ever sent from here. The document
format, rules and choices are described in ``docs/insider-mapping.md``; the JSON Schema is
published at ``shared/insider/schemas/insider-mapping.schema.json`` (kept equal to
:func:`mapping_json_schema` by a test).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from jsonschema import Draft202012Validator

from shared.insider.values import (
    ABSENT,
    ATTRIBUTE_CONVERTERS,
    CUSTOM_NAME_PATTERN,
    DEFAULT_ATTRIBUTES,
    DEFAULT_EVENT_PARAMS,
    DEFAULT_IDENTIFIERS,
    EVENT_NAME_PATTERN,
    IDENTIFIER_CONVERTERS,
    PARAM_CONVERTERS,
    REQUIRED_EVENT_PARAMS,
    VALUE_SCHEMAS,
    Converter,
    ValueRejected,
    is_custom_name,
    is_event_name,
    normalise_name,
    to_custom_value,
    to_id_string,
    to_rfc3339,
)

__all__ = [
    "CUSTOMER_ID_SOURCE",
    "MAPPING_SCHEMA",
    "CompiledMapping",
    "MappedCustomer",
    "MappingInvalid",
    "RejectedCustomer",
    "load_mapping",
    "map_customer",
    "mapping_json_schema",
    "source_fields_schema",
]

#: A mapping row whose ``source`` is this name reads the customer ID, not an attribute.
CUSTOMER_ID_SOURCE: Final = "id"

# --------------------------------------------------------------------------------------------
# JSON Schema (draft 2020-12)
# --------------------------------------------------------------------------------------------


# Marks the schema rules that the semantic checks below also report, with a message of their own: their
# JSON Schema errors are left out (``_schema_problems``), so each problem is listed once.
_SEMANTIC: Final = "Also a semantic check of load_mapping, which reports it in its own words."


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
                "then": {"properties": {"insider": {"$ref": "#/$defs/customName", "$comment": _SEMANTIC,
                                                    "not": {"enum": list(defaults)}}}},
            },
            {
                "if": {"properties": {"custom": {"const": False}}},
                "then": {"properties": {"insider": {"enum": list(defaults)}}},
            },
        ],
    }


def _required_params_schema(event: str, params: tuple[str, ...]) -> dict[str, Any]:
    """An Insider `event` is sent only with each of `params` mapped (as a default parameter)."""
    return {
        "if": {"required": ["insider"], "properties": {"insider": {"const": event}}},
        "then": {
            "$comment": _SEMANTIC,
            "required": ["params"],
            "properties": {"params": {"allOf": [
                {"$comment": _SEMANTIC, "contains": {"type": "object", "required": ["insider"], "properties": {
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
            "attribute": _row_schema("Attribute mapping", DEFAULT_ATTRIBUTES, "attribute"),
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
                        "description": "true: every user carries not_append: true (array attributes are overwritten).",
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
_VALIDATOR: Final = Draft202012Validator(MAPPING_SCHEMA)


def mapping_json_schema() -> dict[str, Any]:
    """The JSON Schema of the mapping document (a fresh copy)."""
    return copy.deepcopy(MAPPING_SCHEMA)


# --------------------------------------------------------------------------------------------
# Mapping errors
# --------------------------------------------------------------------------------------------


class MappingInvalid(ValueError):
    """The mapping document is invalid. ``errors``: every problem as ``{"path", "message"}``.

    ``path`` is a JSON Pointer into the document (``""`` is the document itself).
    """

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        lines = "; ".join(f"{e['path'] or '/'}: {e['message']}" for e in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(f"invalid Insider mapping, {len(errors)} problem(s): {lines}{more}")


def _pointer(parts: tuple[Any, ...]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


_KIND_BY_SECTION: Final = {
    "identifiers": ("identifier", DEFAULT_IDENTIFIERS),
    "profile": ("attribute", DEFAULT_ATTRIBUTES),
    "params": ("event parameter", DEFAULT_EVENT_PARAMS),
}


def _schema_problems(document: Any) -> list[tuple[tuple[Any, ...], str]]:
    problems: list[tuple[tuple[Any, ...], str]] = []
    for error in _VALIDATOR.iter_errors(document):
        if isinstance(error.schema, dict) and error.schema.get("$comment") == _SEMANTIC:
            continue  # _semantic_problems says it
        path = tuple(error.absolute_path)
        validator = error.validator
        if validator == "additionalProperties" and isinstance(error.instance, dict):
            known = error.schema.get("properties", {})
            for key in error.instance:
                if key not in known:
                    problems.append(((*path, key), "unknown property"))
            continue
        if validator == "required" and isinstance(error.instance, dict):
            for key in error.validator_value:
                if key not in error.instance:
                    problems.append(((*path, key), "required property is missing"))
            continue
        message = error.message
        leaf = path[-1] if path else None
        section = path[-3] if len(path) >= 3 else None
        if leaf == "insider" and isinstance(error.instance, str):
            if validator == "enum" and section in _KIND_BY_SECTION:
                kind, _ = _KIND_BY_SECTION[section]
                message = (
                    f"{error.instance!r} is not a default Insider {kind} name; "
                    f"set custom to true to send it as a custom {kind}"
                )
            elif validator == "pattern" and section == "events":
                message = (
                    f"{error.instance!r} is not a safe Insider event name: use lowercase letters, "
                    "digits and _ only, starting with a letter or digit"
                )
            elif validator == "pattern":
                message = (
                    f"{error.instance!r} is not a valid custom name: use snake_case "
                    "(lowercase letters, digits and _, starting with a letter or digit)"
                )
        problems.append((path, message))
    return problems


def _rows(document: Any, key: str) -> list[tuple[int, dict[str, Any]]]:
    """The object rows of a list section, with their index (other rows get schema errors only)."""
    section = document.get(key) if isinstance(document, dict) else None
    if not isinstance(section, list):
        return []
    return [(index, row) for index, row in enumerate(section) if isinstance(row, dict)]


def _check_rows(
    prefix: tuple[Any, ...],
    rows: list[tuple[int, dict[str, Any]]],
    kind: str,
    defaults: tuple[str, ...],
    problems: list[tuple[tuple[Any, ...], str]],
) -> None:
    sources: dict[str, int] = {}
    targets: dict[tuple[bool, str], int] = {}
    for index, row in rows:
        source, insider, custom = row.get("source"), row.get("insider"), row.get("custom") is True
        if not isinstance(source, str):
            pass
        elif source in sources:
            problems.append(
                (
                    (*prefix, index, "source"),
                    f"source {source!r} is already mapped at {_pointer((*prefix, sources[source]))}",
                )
            )
        else:
            sources[source] = index
        if not isinstance(insider, str):
            continue
        target = (custom, insider)
        if target in targets:
            label = f"custom {kind}" if custom else f"{kind}"
            problems.append(
                (
                    (*prefix, index, "insider"),
                    f"Insider {label} {insider!r} is already mapped at {_pointer((*prefix, targets[target]))}",
                )
            )
        else:
            targets[target] = index
        if custom and insider in defaults:
            problems.append(
                (
                    (*prefix, index, "insider"),
                    f"{insider!r} is a default Insider {kind} name; drop custom: true to use the "
                    f"default {kind}, or choose another custom name",
                )
            )


def _semantic_problems(document: Any) -> list[tuple[tuple[Any, ...], str]]:
    problems: list[tuple[tuple[Any, ...], str]] = []
    _check_rows(("identifiers",), _rows(document, "identifiers"), "identifier", DEFAULT_IDENTIFIERS, problems)
    _check_rows(("profile",), _rows(document, "profile"), "attribute", DEFAULT_ATTRIBUTES, problems)
    sources: dict[str, int] = {}
    for index, event in _rows(document, "events"):
        source = event.get("source")
        if not isinstance(source, str):
            pass
        elif source in sources:
            problems.append(
                (
                    ("events", index, "source"),
                    f"source event {source!r} is already mapped at /events/{sources[source]}",
                )
            )
        else:
            sources[source] = index
        param_rows = _rows(event, "params")
        _check_rows(("events", index, "params"), param_rows, "event parameter", DEFAULT_EVENT_PARAMS, problems)
        insider = event.get("insider")
        required = REQUIRED_EVENT_PARAMS.get(insider) if isinstance(insider, str) else None
        if required:
            mapped = {row.get("insider") for _, row in param_rows  # an invalid row's name may be any JSON
                      if row.get("custom") is not True and isinstance(row.get("insider"), str)}
            missing = [name for name in required if name not in mapped]
            if missing:
                problems.append(
                    (
                        ("events", index, "params"),
                        f"Insider rejects a {insider} event without "
                        f"{', '.join(required)}; map a source parameter to: {', '.join(missing)}",
                    )
                )
    return problems


_SECTION_ORDER: Final = {"$schema": 0, "identifiers": 1, "profile": 2, "events": 3, "options": 4}


def _sort_key(problem: tuple[tuple[Any, ...], str]) -> tuple[Any, ...]:
    """Document order: sections as written in the docs, then indices numerically, then keys."""
    path, message = problem
    head = (_SECTION_ORDER.get(path[0], 5),) if path else ()
    return (head, tuple((0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in path), message)


# --------------------------------------------------------------------------------------------
# Compiled mapping
# --------------------------------------------------------------------------------------------

# Hot-loop rows are plain tuples:
#   identifier: (source, from_id, key, custom, convert, field)
#   attribute:  (source, from_id, key, custom, convert, field)
#   parameter:  (source, key, custom, convert)


class _EventPlan:
    __slots__ = ("consumed", "insider", "required", "reserved", "rules")

    def __init__(
        self,
        insider: str,
        rules: tuple[tuple[str, str, bool, Converter], ...],
        required: tuple[tuple[str, str], ...],
        reserved: frozenset[str],
    ) -> None:
        self.insider = insider
        self.rules = rules
        self.required = required  # (insider key, source name)
        self.consumed = frozenset(rule[0] for rule in rules)
        self.reserved = reserved  # names an unmapped parameter may not take


_NO_PARAMS: Final[Mapping[str, Any]] = {}


class CompiledMapping:
    """A validated mapping with precompiled lookups. Build it with :func:`load_mapping`."""

    __slots__ = (
        "_consumed_attributes",
        "_document",
        "_events",
        "_identifier_rules",
        "_missing_identifiers_message",
        "_profile_rules",
        "_reserved_attribute_names",
        "_reserved_event_names",
        "_shadowed_attributes",
        "_unmapped_custom",
        "_unmapped_event_plan",
        "not_append",
        "skip_hook",
        "unmapped",
    )

    skip_hook: bool
    not_append: bool
    unmapped: Literal["drop", "custom"]

    def __init__(self, document: dict[str, Any]) -> None:
        # ``document`` has passed validation and is in canonical form (see ``_canonical``).
        self._document = document
        options = document["options"]
        self.skip_hook = options["skipHook"]
        self.not_append = options["notAppend"]
        self.unmapped = options["unmapped"]
        self._unmapped_custom = self.unmapped == "custom"

        self._identifier_rules = tuple(
            (
                row["source"],
                row["source"] == CUSTOMER_ID_SOURCE,
                row["insider"],
                row["custom"],
                to_id_string if row["custom"] else IDENTIFIER_CONVERTERS[row["insider"]],
                _source_field(row["source"]),
            )
            for row in document["identifiers"]
        )
        self._missing_identifiers_message = (
            "none of the mapped identifiers has a value (" + ", ".join(rule[5] for rule in self._identifier_rules) + ")"
        )
        self._profile_rules = tuple(
            (
                row["source"],
                row["source"] == CUSTOMER_ID_SOURCE,
                row["insider"],
                row["custom"],
                to_custom_value if row["custom"] else ATTRIBUTE_CONVERTERS[row["insider"]],
                _source_field(row["source"]),
            )
            for row in document["profile"]
        )
        self._consumed_attributes = frozenset(row["source"] for row in (*document["identifiers"], *document["profile"]))
        self._reserved_attribute_names = frozenset(DEFAULT_ATTRIBUTES) | frozenset(
            row["insider"] for row in document["profile"] if row["custom"]
        )
        root_identifiers = {row["insider"] for row in document["identifiers"] if not row["custom"]}
        self._shadowed_attributes = tuple(
            row["insider"] for row in document["profile"] if not row["custom"] and row["insider"] in root_identifiers
        )

        events: dict[str, _EventPlan] = {}
        for row in document["events"]:
            rules = tuple(
                (
                    param["source"],
                    param["insider"],
                    param["custom"],
                    to_custom_value if param["custom"] else PARAM_CONVERTERS[param["insider"]],
                )
                for param in row["params"]
            )
            by_insider = {param["insider"]: param["source"] for param in row["params"] if not param["custom"]}
            required = tuple((name, by_insider[name]) for name in REQUIRED_EVENT_PARAMS.get(row["insider"], ()))
            reserved = frozenset(DEFAULT_EVENT_PARAMS) | frozenset(
                param["insider"] for param in row["params"] if param["custom"]
            )
            events[row["source"]] = _EventPlan(row["insider"], rules, required, reserved)
        self._events = events
        self._unmapped_event_plan = _EventPlan("", (), (), frozenset(DEFAULT_EVENT_PARAMS))
        self._reserved_event_names = frozenset(REQUIRED_EVENT_PARAMS) | frozenset(
            row["insider"] for row in document["events"]
        )

    def to_document(self) -> dict[str, Any]:
        """The mapping as a document in canonical form (every default spelled out).

        ``load_mapping(m.to_document()).to_document() == m.to_document()``, and a document that is
        already canonical comes back unchanged.
        """
        return copy.deepcopy(self._document)

    def map(self, customer: Any) -> MappedCustomer | RejectedCustomer:
        """Same as :func:`map_customer` (``map_customer(self, customer)``)."""
        return map_customer(self, customer)

    def __repr__(self) -> str:
        return (
            f"CompiledMapping(identifiers={len(self._identifier_rules)}, profile={len(self._profile_rules)}, "
            f"events={len(self._events)}, unmapped={self.unmapped!r})"
        )


def _source_field(source: str) -> str:
    return CUSTOMER_ID_SOURCE if source == CUSTOMER_ID_SOURCE else f"attributes.{source}"


def _canonical_row(row: dict[str, Any]) -> dict[str, Any]:
    return {"source": row["source"], "insider": row["insider"], "custom": row.get("custom", False)}


def _canonical(document: dict[str, Any]) -> dict[str, Any]:
    options = document.get("options", {})
    canonical: dict[str, Any] = {}
    if "$schema" in document:
        canonical["$schema"] = document["$schema"]
    canonical["identifiers"] = [_canonical_row(row) for row in document["identifiers"]]
    canonical["profile"] = [_canonical_row(row) for row in document.get("profile", [])]
    canonical["events"] = [
        {
            "source": event["source"],
            "insider": event["insider"],
            "params": [_canonical_row(param) for param in event.get("params", [])],
        }
        for event in document.get("events", [])
    ]
    canonical["options"] = {
        "skipHook": options.get("skipHook", False),
        "notAppend": options.get("notAppend", False),
        "unmapped": options.get("unmapped", "drop"),
    }
    return canonical


def load_mapping(document: dict[str, Any]) -> CompiledMapping:
    """Validate a mapping document and compile it.

    Raises :class:`MappingInvalid` listing every problem: JSON Schema violations and semantic
    ones (duplicate sources, duplicate Insider names, custom names that are default names,
    purchase / cart_page_view events missing a required parameter).
    """
    problems = _schema_problems(document) + _semantic_problems(document)
    if problems:
        unique = sorted(set(problems), key=_sort_key)
        raise MappingInvalid([{"path": _pointer(path), "message": message} for path, message in unique])
    return CompiledMapping(_canonical(document))


def source_fields_schema(mapping: CompiledMapping) -> dict[str, dict[str, Any]]:
    """The customer fields ``mapping`` reads, as JSON schemas of objects (the connector's dynamic schema).

    ``attributes``: the identifier and profile sources (``id`` is the customer's own field, not an
    attribute); ``eventParams``: the parameter sources of every mapped event. Each field says where it
    is sent; one read with two different value types gets no type.
    """
    attributes: dict[str, list[tuple[dict[str, Any], str]]] = {}
    for rules, root in ((mapping._identifier_rules, "identifiers"), (mapping._profile_rules, "attributes")):
        for source, from_id, key, custom, convert, _ in rules:
            if not from_id:
                attributes.setdefault(source, []).append((VALUE_SCHEMAS[convert], _target(root, custom, key)))
    params: dict[str, list[tuple[dict[str, Any], str]]] = {}
    for event, plan in mapping._events.items():
        for source, key, custom, convert in plan.rules:
            target = f"{_target('event_params', custom, key)} of {event} events"
            params.setdefault(source, []).append((VALUE_SCHEMAS[convert], target))
    return {"attributes": _fields_schema(attributes), "eventParams": _fields_schema(params)}


def _target(root: str, custom: bool, key: str) -> str:
    return f"{root}.custom.{key}" if custom else f"{root}.{key}"


def _fields_schema(fields: dict[str, list[tuple[dict[str, Any], str]]]) -> dict[str, Any]:
    properties = {}
    for source, uses in fields.items():
        first = uses[0][0]
        schema = copy.deepcopy(first) if all(value == first for value, _ in uses) else {}
        schema["description"] = "Sent to Insider as " + ", ".join(target for _, target in uses) + "."
        properties[source] = schema
    return {"type": "object", "properties": properties}


# --------------------------------------------------------------------------------------------
# Mapping customers
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class MappedCustomer:
    """A customer ready to send. ``user`` is the Insider user object.

    ``warnings`` lists items that were dropped in ``unmapped: custom`` mode (or an attribute that
    repeated an identifier with a different value), shaped like rejection errors.
    ``event_sources[i]`` is the index in the source ``events`` list of ``user["events"][i]``.
    """

    customer_id: str
    customer_name: str | None
    user: dict[str, Any]
    warnings: list[dict[str, str]] = field(default_factory=list)
    event_sources: list[int] = field(default_factory=list)


@dataclass(slots=True)
class RejectedCustomer:
    """A customer that must not be sent. ``errors``: every problem as ``{"field", "rule", "message"}``."""

    customer_id: str | None
    customer_name: str | None
    errors: list[dict[str, str]]


def _problem(field_name: str, rule: str, message: str) -> dict[str, str]:
    return {"field": field_name, "rule": rule, "message": message}


def _type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number" if isinstance(value, int | float) else type(value).__name__
    )


def map_customer(mapping: CompiledMapping, customer: Any) -> MappedCustomer | RejectedCustomer:
    """Map one source customer to an Insider user object, validating every value first.

    Never raises for bad input: a customer that is not an object, lacks an ``id`` or has any
    invalid mapped value is returned as :class:`RejectedCustomer` with every problem found.
    """
    if not isinstance(customer, dict):
        return RejectedCustomer(
            None,
            None,
            [_problem("customer", "type", f"a customer must be a JSON object, got {_type_name(customer)}")],
        )
    errors: list[dict[str, str]] = []
    warnings: list[dict[str, str]] = []
    unmapped_custom = mapping._unmapped_custom

    raw_id = customer.get("id")
    customer_id: str | None
    if isinstance(raw_id, str) and raw_id.strip():
        customer_id = raw_id
    else:
        customer_id = None
        if raw_id is None or isinstance(raw_id, str):
            errors.append(_problem("id", "required", "the customer ID is missing or blank"))
        else:
            errors.append(_problem("id", "type", f"the customer ID must be a string, got {_type_name(raw_id)}"))
    raw_name = customer.get("name")
    customer_name = raw_name if isinstance(raw_name, str) else None

    attributes = customer.get("attributes")
    if attributes is None:
        attributes = _NO_PARAMS
    elif not isinstance(attributes, dict):
        errors.append(_problem("attributes", "type", f"attributes must be an object, got {_type_name(attributes)}"))
        attributes = _NO_PARAMS

    # -- identifiers -------------------------------------------------------------------------
    identifiers: dict[str, Any] = {}
    custom_identifiers: dict[str, Any] = {}
    seen_identifier = False
    for source, from_id, key, custom, convert, field_name in mapping._identifier_rules:
        if from_id:
            if customer_id is None:
                seen_identifier = seen_identifier or raw_id is not None
                continue
            value = customer_id
        else:
            value = attributes.get(source)
            if value is None:
                continue
        try:
            value = convert(value)
        except ValueRejected as exc:
            seen_identifier = True
            errors.append({"field": field_name, "rule": exc.rule, "message": exc.message})
            continue
        if value is ABSENT:
            continue
        seen_identifier = True
        if custom:
            custom_identifiers[key] = value
        else:
            identifiers[key] = value
    if not seen_identifier:
        errors.append(_problem("identifiers", "identifier-required", mapping._missing_identifiers_message))
    payload_errors_from = len(errors)

    # -- attributes --------------------------------------------------------------------------
    out_attributes: dict[str, Any] = {}
    custom_attributes: dict[str, Any] = {}
    for source, from_id, key, custom, convert, field_name in mapping._profile_rules:
        value = customer_id if from_id else attributes.get(source)
        if value is None:
            continue
        try:
            value = convert(value)
        except ValueRejected as exc:
            errors.append({"field": field_name, "rule": exc.rule, "message": exc.message})
            continue
        if value is ABSENT:
            continue
        if custom:
            custom_attributes[key] = value
        else:
            out_attributes[key] = value

    if unmapped_custom and attributes:
        consumed = mapping._consumed_attributes
        reserved = mapping._reserved_attribute_names
        for source, value in attributes.items():
            if source in consumed or value is None:
                continue
            _add_unmapped(f"attributes.{source}", source, value, reserved, custom_attributes, warnings, "attribute")

    for key in mapping._shadowed_attributes:
        if key in identifiers and key in out_attributes:
            value = out_attributes.pop(key)
            if value != identifiers[key]:
                warnings.append(
                    _problem(
                        f"attributes.{key}",
                        "identifier-attribute",
                        f"not sent: Insider takes {key} from identifiers only, and the identifier "
                        f"is {identifiers[key]!r}",
                    )
                )

    # -- events ------------------------------------------------------------------------------
    out_events: list[dict[str, Any]] = []
    event_sources: list[int] = []
    source_events = customer.get("events")
    if source_events is not None:
        if not isinstance(source_events, list):
            errors.append(_problem("events", "type", f"events must be an array, got {_type_name(source_events)}"))
        else:
            for index, event in enumerate(source_events):
                mapped = _map_event(mapping, index, event, errors, warnings, unmapped_custom)
                if mapped is not None:
                    out_events.append(mapped)
                    event_sources.append(index)

    if not out_attributes and not custom_attributes and not out_events and len(errors) == payload_errors_from:
        errors.append(
            _problem(
                "customer",
                "attribute-or-event-required",
                "nothing to send besides identifiers: Insider needs at least one attribute or one event per user",
            )
        )
    if errors:
        return RejectedCustomer(customer_id, customer_name, errors)

    if custom_identifiers:
        identifiers["custom"] = custom_identifiers
    user: dict[str, Any] = {"identifiers": identifiers}
    if custom_attributes:
        out_attributes["custom"] = custom_attributes
    if out_attributes:
        user["attributes"] = out_attributes
    if out_events:
        user["events"] = out_events
    if mapping.not_append:
        user["not_append"] = True
    assert customer_id is not None  # a missing ID is an error, handled above
    return MappedCustomer(customer_id, customer_name, user, warnings, event_sources)


def _add_unmapped(
    field_name: str,
    source: Any,
    value: Any,
    reserved: frozenset[str],
    target: dict[str, Any],
    warnings: list[dict[str, str]],
    kind: str,
) -> None:
    """``unmapped: custom``: send an unmapped attribute / parameter as a custom one, or report it."""
    name = normalise_name(source) if isinstance(source, str) else None
    if name is None or not is_custom_name(name):
        warnings.append(
            _problem(
                field_name,
                "custom-name",
                f"not sent: unmapped {kind} name {source!r} does not normalise to a snake_case name",
            )
        )
        return
    if name in reserved or name in target:
        warnings.append(
            _problem(
                field_name,
                "name-taken",
                f"not sent: unmapped {kind} {source!r} normalises to {name!r}, which is a default "
                f"Insider name or already used; map it explicitly",
            )
        )
        return
    try:
        target[name] = to_custom_value(value)
    except ValueRejected as exc:
        warnings.append(_problem(field_name, exc.rule, f"not sent: {exc.message}"))


def _map_event(
    mapping: CompiledMapping,
    index: int,
    event: Any,
    errors: list[dict[str, str]],
    warnings: list[dict[str, str]],
    unmapped_custom: bool,
) -> dict[str, Any] | None:
    if not isinstance(event, dict):
        errors.append(_problem(f"events[{index}]", "type", f"an event must be an object, got {_type_name(event)}"))
        return None
    source_name = event.get("name")
    if not isinstance(source_name, str) or not source_name:
        if source_name is None or source_name == "":
            errors.append(_problem(f"events[{index}].name", "required", "the event name is missing"))
        else:
            errors.append(
                _problem(
                    f"events[{index}].name", "type", f"the event name must be a string, got {_type_name(source_name)}"
                )
            )
        return None
    plan = mapping._events.get(source_name)
    if plan is None:
        if not unmapped_custom:
            return None
        insider_name = normalise_name(source_name)
        if not is_event_name(insider_name):
            warnings.append(
                _problem(
                    f"events[{index}].name",
                    "event-name",
                    f"not sent: unmapped event {source_name!r} does not normalise to a safe Insider event name",
                )
            )
            return None
        if insider_name in mapping._reserved_event_names:
            warnings.append(
                _problem(
                    f"events[{index}].name",
                    "name-taken",
                    f"not sent: unmapped event {source_name!r} normalises to {insider_name!r}, which "
                    "is mapped from another source event or needs required parameters; map it explicitly",
                )
            )
            return None
        plan = mapping._unmapped_event_plan
    else:
        insider_name = plan.insider

    out: dict[str, Any] = {"event_name": insider_name}
    timestamp = event.get("timestamp")
    if timestamp is None:
        errors.append(_problem(f"events[{index}].timestamp", "required", "the event timestamp is missing"))
    else:
        try:
            timestamp = to_rfc3339(timestamp)
        except ValueRejected as exc:
            errors.append({"field": f"events[{index}].timestamp", "rule": exc.rule, "message": exc.message})
        else:
            if timestamp is ABSENT:
                errors.append(_problem(f"events[{index}].timestamp", "required", "the event timestamp is blank"))
            else:
                out["timestamp"] = timestamp

    params = event.get("params")
    if params is None:
        params = _NO_PARAMS
    elif not isinstance(params, dict):
        errors.append(
            _problem(f"events[{index}].params", "type", f"params must be an object, got {_type_name(params)}")
        )
        params = _NO_PARAMS

    event_params: dict[str, Any] = {}
    custom_params: dict[str, Any] = {}
    for source, key, custom, convert in plan.rules:
        value = params.get(source)
        if value is None:
            continue
        try:
            value = convert(value)
        except ValueRejected as exc:
            errors.append({"field": f"events[{index}].params.{source}", "rule": exc.rule, "message": exc.message})
            continue
        if value is ABSENT:
            continue
        if custom:
            custom_params[key] = value
        else:
            event_params[key] = value
    for key, source in plan.required:
        if key not in event_params:
            raw = params.get(source)
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                errors.append(
                    _problem(
                        f"events[{index}].params.{source}",
                        "required",
                        f"Insider rejects a {insider_name} event without {key} (mapped from {source})",
                    )
                )
    if unmapped_custom and params:
        consumed = plan.consumed
        for source, value in params.items():
            if source in consumed or value is None:
                continue
            _add_unmapped(
                f"events[{index}].params.{source}", source, value, plan.reserved, custom_params, warnings, "parameter"
            )

    if custom_params:
        event_params["custom"] = custom_params
    if event_params:
        out["event_params"] = event_params
    return out
