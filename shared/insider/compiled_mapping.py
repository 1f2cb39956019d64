"""A valid mapping document compiled into the lookup tables the mapper reads per customer (pure: no I/O).

``load_mapping`` checks a document (``mapping_checks``) and compiles it; ``CompiledMapping`` keeps the
canonical document and plain tuples for the hot loop of ``mapper.map_customer``;
``source_fields_schema`` answers the customer fields a mapping reads (the connector's dynamic schema).
"""

from __future__ import annotations

import copy
from typing import Any, Literal

from shared.insider.mapper import MappedCustomer, RejectedCustomer, map_customer
from shared.insider.mapping_checks import check_mapping, mapping_warnings
from shared.insider.mapping_schema import CUSTOMER_ID_SOURCE
from shared.insider.names import DEFAULT_ATTRIBUTES, DEFAULT_EVENT_PARAMS, INSIDER_ID, REQUIRED_EVENT_PARAMS
from shared.insider.values import Converter
from shared.insider.values.converters import (
    ATTRIBUTE_CONVERTERS,
    IDENTIFIER_CONVERTERS,
    PARAM_CONVERTERS,
    VALUE_SCHEMAS,
)
from shared.insider.values.custom import to_custom_value
from shared.insider.values.text import to_id_string

__all__ = ["CompiledMapping", "EventPlan", "load_mapping", "source_fields_schema"]

# Hot-loop rows are plain tuples:
#   identifier: (source, from_id, key, custom, convert, field)
#   attribute:  (source, from_id, key, custom, convert, field, appends)  appends: the mode of an array value
#   parameter:  (source, key, custom, convert)
IdentifierRule = tuple[str, bool, str, bool, Converter, str]
AttributeRule = tuple[str, bool, str, bool, Converter, str, bool]
ParamRule = tuple[str, str, bool, Converter]


class EventPlan:
    """How one source event is sent: its Insider name, parameter rules and required parameters."""

    __slots__ = ("consumed", "insider", "required", "reserved", "rules")

    def __init__(
        self,
        insider: str,
        rules: tuple[ParamRule, ...],
        required: tuple[tuple[str, str], ...],
        reserved: frozenset[str],
    ) -> None:
        self.insider = insider
        self.rules = rules
        self.required = required  # (insider key, source name)
        self.consumed = frozenset(rule[0] for rule in rules)
        self.reserved = reserved  # names an unmapped parameter may not take


def _source_field(source: str) -> str:
    return CUSTOMER_ID_SOURCE if source == CUSTOMER_ID_SOURCE else f"attributes.{source}"


def _attribute_converter(row: dict[str, Any]) -> Converter:
    # A default: true row names a root attribute the app does not list: its value is sent as given.
    if row["custom"] or row["insider"] not in ATTRIBUTE_CONVERTERS:
        return to_custom_value
    return ATTRIBUTE_CONVERTERS[row["insider"]]


def _event_plan(row: dict[str, Any]) -> EventPlan:
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
    custom_names = frozenset(param["insider"] for param in row["params"] if param["custom"])
    reserved = frozenset(DEFAULT_EVENT_PARAMS) | custom_names
    return EventPlan(row["insider"], rules, required, reserved)


class CompiledMapping:
    """A validated mapping with precompiled lookups. Build it with :func:`load_mapping`.

    The attributes without a docstring of their own are the mapper's lookup tables.
    """

    __slots__ = (
        "array_modes_vary",
        "consumed_attributes",
        "document",
        "events",
        "identifier_rules",
        "insider_id_rule",
        "missing_identifiers_message",
        "not_append",
        "profile_rules",
        "reserved_attribute_names",
        "reserved_event_names",
        "shadowed_attributes",
        "skip_hook",
        "unmapped",
        "unmapped_custom",
        "unmapped_event_plan",
        "warnings",
    )

    skip_hook: bool
    not_append: bool
    unmapped: Literal["drop", "custom"]
    #: What the document sends that the app cannot check, as ``{"path", "message"}`` (shown by preview).
    warnings: list[dict[str, str]]

    def __init__(self, document: dict[str, Any]) -> None:
        # ``document`` has passed validation and is in canonical form (see ``_canonical``).
        self.document = document
        options = document["options"]
        self.skip_hook = options["skipHook"]
        self.not_append = options["notAppend"]
        self.unmapped = options["unmapped"]
        self.unmapped_custom = self.unmapped == "custom"
        self.warnings = mapping_warnings(document)
        self._compile_identifiers(document)
        self._compile_profile(document)
        self.events = {row["source"]: _event_plan(row) for row in document["events"]}
        self.unmapped_event_plan = EventPlan("", (), (), frozenset(DEFAULT_EVENT_PARAMS))
        self.reserved_event_names = frozenset(REQUIRED_EVENT_PARAMS) | frozenset(
            row["insider"] for row in document["events"]
        )

    def _compile_identifiers(self, document: dict[str, Any]) -> None:
        self.identifier_rules: tuple[IdentifierRule, ...] = tuple(
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
        insider_id = document.get("insiderId")
        self.insider_id_rule: tuple[str, bool, str] | None = None
        fields = [rule[5] for rule in self.identifier_rules]
        if insider_id is not None:
            source = insider_id["source"]
            self.insider_id_rule = (source, source == CUSTOMER_ID_SOURCE, _source_field(source))
            fields.insert(0, self.insider_id_rule[2])
        self.missing_identifiers_message = "none of the mapped identifiers has a value (" + ", ".join(fields) + ")"

    def _compile_profile(self, document: dict[str, Any]) -> None:
        appends_by_default = not document["options"]["notAppend"]
        self.profile_rules: tuple[AttributeRule, ...] = tuple(
            (
                row["source"],
                row["source"] == CUSTOMER_ID_SOURCE,
                row["insider"],
                row["custom"],
                _attribute_converter(row),
                _source_field(row["source"]),
                row.get("append", appends_by_default),
            )
            for row in document["profile"]
        )
        # Without a row of its own, every array of a user follows options.notAppend: one flag per mapping.
        self.array_modes_vary = any("append" in row for row in document["profile"])
        self.consumed_attributes = frozenset(row["source"] for row in (*document["identifiers"], *document["profile"]))
        self.reserved_attribute_names = frozenset(DEFAULT_ATTRIBUTES) | frozenset(
            row["insider"] for row in document["profile"] if row["custom"]
        )
        root_identifiers = {row["insider"] for row in document["identifiers"] if not row["custom"]}
        self.shadowed_attributes = tuple(
            row["insider"] for row in document["profile"] if not row["custom"] and row["insider"] in root_identifiers
        )

    def to_document(self) -> dict[str, Any]:
        """The mapping as a document in canonical form (every default spelled out).

        ``load_mapping(m.to_document()).to_document() == m.to_document()``, and a document that is
        already canonical comes back unchanged.
        """
        return copy.deepcopy(self.document)

    def map(self, customer: Any) -> MappedCustomer | RejectedCustomer:
        """Same as :func:`shared.insider.mapper.map_customer` (``map_customer(self, customer)``)."""
        return map_customer(self, customer)

    def __repr__(self) -> str:
        return (
            f"CompiledMapping(identifiers={len(self.identifier_rules)}, profile={len(self.profile_rules)}, "
            f"events={len(self.events)}, unmapped={self.unmapped!r})"
        )


def _canonical_row(row: dict[str, Any]) -> dict[str, Any]:
    return {"source": row["source"], "insider": row["insider"], "custom": row.get("custom", False)}


def _canonical_attribute(row: dict[str, Any]) -> dict[str, Any]:
    # default and append are written only when they change something, so older canonical documents stay so.
    canonical = _canonical_row(row)
    if row.get("default") is True:
        canonical["default"] = True
    if "append" in row:
        canonical["append"] = row["append"]
    return canonical


def _canonical(document: dict[str, Any]) -> dict[str, Any]:
    options = document.get("options", {})
    canonical: dict[str, Any] = {}
    if "$schema" in document:
        canonical["$schema"] = document["$schema"]
    canonical["identifiers"] = [_canonical_row(row) for row in document["identifiers"]]
    if "insiderId" in document:
        canonical["insiderId"] = {"source": document["insiderId"]["source"]}
    canonical["profile"] = [_canonical_attribute(row) for row in document.get("profile", [])]
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

    Raises :class:`~shared.insider.mapping_checks.MappingInvalid` listing every problem: JSON
    Schema violations and semantic ones (duplicate sources, duplicate Insider names, custom names
    that are default names, rows that contradict themselves, purchase / cart_page_view events
    missing a required parameter).
    """
    check_mapping(document)
    return CompiledMapping(_canonical(document))


def source_fields_schema(mapping: CompiledMapping) -> dict[str, dict[str, Any]]:
    """The customer fields ``mapping`` reads, as JSON schemas of objects (the connector's dynamic schema).

    ``attributes``: the insider_id, identifier and profile sources (``id`` is the customer's own field,
    not an attribute); ``eventParams``: the parameter sources of every mapped event. Each field says
    where it is sent; one read with two different value types gets no type.
    """
    attributes: dict[str, list[tuple[dict[str, Any], str]]] = {}
    if mapping.insider_id_rule is not None and not mapping.insider_id_rule[1]:
        attributes[mapping.insider_id_rule[0]] = [(VALUE_SCHEMAS[to_id_string], INSIDER_ID)]
    for rules, root in ((mapping.identifier_rules, "identifiers"), (mapping.profile_rules, "attributes")):
        for source, from_id, key, custom, convert, *_ in rules:
            if not from_id:
                attributes.setdefault(source, []).append((VALUE_SCHEMAS[convert], _target(root, custom, key)))
    params: dict[str, list[tuple[dict[str, Any], str]]] = {}
    for event, plan in mapping.events.items():
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
