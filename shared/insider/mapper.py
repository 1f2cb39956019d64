"""Source customers + a compiled mapping -> Insider UCD user objects (pure: no I/O).

``map_customer`` turns one source customer into an Insider user object, or rejects it with every
problem found, in small steps: the customer ID, the address (``insider_id`` or ``identifiers``),
the attributes, the events (``event_mapper``), and the array flag. Nothing is ever sent from here.
The rules are described in ``docs/insider-mapping.md``; the hot loops read the tuples
``compiled_mapping`` prepared and call the converters of ``shared.insider.values`` directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shared.insider.event_mapper import map_events
from shared.insider.mapper_common import NO_PARAMS, add_unmapped, problem, type_problem
from shared.insider.names import INSIDER_ID
from shared.insider.values import ABSENT, ValueRejected
from shared.insider.values.text import to_id_string

if TYPE_CHECKING:
    from shared.insider.compiled_mapping import CompiledMapping

__all__ = ["MappedCustomer", "RejectedCustomer", "map_customer"]


@dataclass(slots=True)
class MappedCustomer:
    """A customer ready to send. ``user`` is the Insider user object.

    ``warnings`` lists items that were dropped in ``unmapped: custom`` mode (or an attribute that
    repeated an identifier with a different value, or arrays of both append modes), shaped like
    rejection errors. ``event_sources[i]`` is the index in the source ``events`` list of
    ``user["events"][i]``.
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


class _Arrays:
    """The append modes of the array values one user carries (Insider's flag is per user, §3)."""

    __slots__ = ("appended", "overwritten")

    def __init__(self) -> None:
        self.appended: str | None = None  # the field of the first appended array
        self.overwritten: str | None = None


# --------------------------------------------------------------------------------------------
# The customer
# --------------------------------------------------------------------------------------------


def map_customer(mapping: CompiledMapping, customer: Any) -> MappedCustomer | RejectedCustomer:
    """Map one source customer to an Insider user object, validating every value first.

    Never raises for bad input: a customer that is not an object, lacks an ``id`` or has any
    invalid mapped value is returned as :class:`RejectedCustomer` with every problem found.
    """
    if not isinstance(customer, dict):
        return RejectedCustomer(None, None, [type_problem("customer", "a customer", "a JSON object", customer)])
    errors: list[dict[str, str]] = []
    raw_id = customer.get("id")
    customer_id = raw_id if isinstance(raw_id, str) and raw_id.strip() else _bad_customer_id(raw_id, errors)
    raw_name = customer.get("name")
    customer_name = raw_name if isinstance(raw_name, str) else None
    attributes = customer.get("attributes")
    if attributes is None:
        attributes = NO_PARAMS
    elif not isinstance(attributes, dict):
        errors.append(type_problem("attributes", "attributes", "an object", attributes))
        attributes = NO_PARAMS

    user = _address(mapping, customer_id, raw_id, attributes, errors)
    payload_errors_from = len(errors)
    warnings: list[dict[str, str]] = []
    arrays = _Arrays() if mapping.array_modes_vary else None
    out_attributes = _attributes(mapping, customer_id, attributes, user.get("identifiers"), errors, warnings, arrays)
    out_events, event_sources = map_events(mapping, customer.get("events"), errors, warnings)

    if not out_attributes and not out_events and len(errors) == payload_errors_from:
        errors.append(
            problem(
                "customer",
                "attribute-or-event-required",
                "nothing to send besides identifiers: Insider needs at least one attribute or one event per user",
            )
        )
    if errors:
        return RejectedCustomer(customer_id, customer_name, errors)
    # Key order as in Insider's example B (§10): address, attributes, not_append, events.
    if out_attributes:
        user["attributes"] = out_attributes
    if mapping.not_append if arrays is None else _overwrites_arrays(mapping, arrays, warnings):
        user["not_append"] = True
    if out_events:
        user["events"] = out_events
    assert customer_id is not None  # a missing ID is an error, handled above
    return MappedCustomer(customer_id, customer_name, user, warnings, event_sources)


def _bad_customer_id(raw_id: Any, errors: list[dict[str, str]]) -> None:
    """Record why ``raw_id`` (missing, blank or not a string) is not a customer ID."""
    if raw_id is None or isinstance(raw_id, str):
        errors.append(problem("id", "required", "the customer ID is missing or blank"))
    else:
        errors.append(type_problem("id", "the customer ID", "a string", raw_id))


def _overwrites_arrays(mapping: CompiledMapping, arrays: _Arrays, warnings: list[dict[str, str]]) -> bool:
    """Whether the user carries ``not_append: true``: its arrays are all overwritten.

    Without an ``append`` row every array follows ``options.notAppend``. Otherwise the arrays the user
    carries decide; a user with appended and overwritten arrays is sent appending, as Insider's own
    priority rule has it for ``append`` over ``not_append`` (§3), and a warning says so.
    """
    if arrays.appended is None and arrays.overwritten is None:
        return mapping.not_append
    if arrays.appended is not None and arrays.overwritten is not None:
        warnings.append(
            problem(
                arrays.overwritten,
                "append-conflict",
                f"appended, not overwritten: Insider takes not_append per user and {arrays.appended} is appended",
            )
        )
    return arrays.appended is None


# --------------------------------------------------------------------------------------------
# Address: insider_id or identifiers
# --------------------------------------------------------------------------------------------


def _address(
    mapping: CompiledMapping,
    customer_id: str | None,
    raw_id: Any,
    attributes: Mapping[str, Any],
    errors: list[dict[str, str]],
) -> dict[str, Any]:
    """The user object's address: ``{"insider_id": ...}`` when the mapping reads one and it has a value
    (§1.3: it sits in place of ``identifiers``), else ``{"identifiers": {...}}``."""
    if mapping.insider_id_rule is not None:
        insider_id = _insider_id(mapping.insider_id_rule, customer_id, attributes, errors)
        if insider_id is not None:
            return {INSIDER_ID: insider_id}
    identifiers: dict[str, Any] = {}
    custom_identifiers: dict[str, Any] = {}
    seen_identifier = False
    for source, from_id, key, custom, convert, field_name in mapping.identifier_rules:
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
        errors.append(problem("identifiers", "identifier-required", mapping.missing_identifiers_message))
    if custom_identifiers:
        identifiers["custom"] = custom_identifiers
    return {"identifiers": identifiers}


def _insider_id(
    rule: tuple[str, bool, str], customer_id: str | None, attributes: Mapping[str, Any], errors: list[dict[str, str]]
) -> Any:
    """The customer's insider_id as sent (a string), or None when it has none (an invalid one is an error)."""
    source, from_id, field_name = rule
    value = customer_id if from_id else attributes.get(source)
    if value is None:
        return None
    # An integer ID is sent as its decimal string, like uuid: the reference gives insider_id as a string.
    try:
        value = to_id_string(value)
    except ValueRejected as exc:
        errors.append({"field": field_name, "rule": exc.rule, "message": exc.message})
        return None
    return None if value is ABSENT else value


# --------------------------------------------------------------------------------------------
# Attributes
# --------------------------------------------------------------------------------------------


def _attributes(
    mapping: CompiledMapping,
    customer_id: str | None,
    attributes: Mapping[str, Any],
    identifiers: dict[str, Any] | None,
    errors: list[dict[str, str]],
    warnings: list[dict[str, str]],
    arrays: _Arrays | None,
) -> dict[str, Any]:
    """The ``attributes`` object: mapped rows, then (``unmapped: custom``) the rest as custom ones."""
    out_attributes: dict[str, Any] = {}
    custom_attributes: dict[str, Any] = {}
    for source, from_id, key, custom, convert, field_name, appends in mapping.profile_rules:
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
        if arrays is not None and type(value) is list:
            _note_array(arrays, appends, field_name)
    if mapping.unmapped_custom and attributes:
        _unmapped_attributes(mapping, attributes, custom_attributes, warnings, arrays)
    if identifiers and mapping.shadowed_attributes:
        _drop_shadowed(mapping.shadowed_attributes, identifiers, out_attributes, warnings)
    if custom_attributes:
        out_attributes["custom"] = custom_attributes
    return out_attributes


def _note_array(arrays: _Arrays, appends: bool, field_name: str) -> None:
    if appends:
        arrays.appended = arrays.appended or field_name
    else:
        arrays.overwritten = arrays.overwritten or field_name


def _unmapped_attributes(
    mapping: CompiledMapping,
    attributes: Mapping[str, Any],
    custom_attributes: dict[str, Any],
    warnings: list[dict[str, str]],
    arrays: _Arrays | None,
) -> None:
    consumed = mapping.consumed_attributes
    reserved = mapping.reserved_attribute_names
    for source, value in attributes.items():
        if source in consumed or value is None:
            continue
        field_name = f"attributes.{source}"
        name = add_unmapped(field_name, source, value, reserved, custom_attributes, warnings, "attribute")
        if arrays is not None and name is not None and type(custom_attributes[name]) is list:
            _note_array(arrays, not mapping.not_append, field_name)


def _drop_shadowed(
    shadowed: tuple[str, ...],
    identifiers: dict[str, Any],
    out_attributes: dict[str, Any],
    warnings: list[dict[str, str]],
) -> None:
    """Insider takes a root identifier from ``identifiers`` only (§1.3): the attribute of that name is not sent."""
    for key in shadowed:
        if key in identifiers and key in out_attributes:
            value = out_attributes.pop(key)
            if value != identifiers[key]:
                warnings.append(
                    problem(
                        f"attributes.{key}",
                        "identifier-attribute",
                        f"not sent: Insider takes {key} from identifiers only, and the identifier "
                        f"is {identifiers[key]!r}",
                    )
                )


