"""Source customers + a compiled mapping -> Insider UCD user objects (pure: no I/O).

``map_customer`` turns one source customer into an Insider user object, or rejects it with every
problem found, in small steps: the customer ID, the address (``insider_id`` or ``identifiers``),
the attributes, the events, and the array flag. Nothing is ever sent from here. The rules are
described in ``docs/insider-mapping.md``; the hot loops read the tuples ``compiled_mapping``
prepared and call the converters of ``shared.insider.values`` directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from shared.insider.names import INSIDER_ID, is_custom_name, is_event_name, normalise_name
from shared.insider.values import ABSENT, ValueRejected
from shared.insider.values.custom import to_custom_value
from shared.insider.values.datetimes import to_rfc3339
from shared.insider.values.text import to_id_string

if TYPE_CHECKING:
    from shared.insider.compiled_mapping import CompiledMapping, EventPlan

__all__ = ["MappedCustomer", "RejectedCustomer", "map_customer"]

_NO_PARAMS: Final[Mapping[str, Any]] = {}


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


def _problem(field_name: str, rule: str, message: str) -> dict[str, str]:
    return {"field": field_name, "rule": rule, "message": message}


def _type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number" if isinstance(value, int | float) else type(value).__name__
    )


def _type_problem(field_name: str, what: str, expected: str, value: Any) -> dict[str, str]:
    return _problem(field_name, "type", f"{what} must be {expected}, got {_type_name(value)}")


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
        return RejectedCustomer(None, None, [_type_problem("customer", "a customer", "a JSON object", customer)])
    errors: list[dict[str, str]] = []
    raw_id = customer.get("id")
    customer_id = raw_id if isinstance(raw_id, str) and raw_id.strip() else _bad_customer_id(raw_id, errors)
    raw_name = customer.get("name")
    customer_name = raw_name if isinstance(raw_name, str) else None
    attributes = customer.get("attributes")
    if attributes is None:
        attributes = _NO_PARAMS
    elif not isinstance(attributes, dict):
        errors.append(_type_problem("attributes", "attributes", "an object", attributes))
        attributes = _NO_PARAMS

    user = _address(mapping, customer_id, raw_id, attributes, errors)
    payload_errors_from = len(errors)
    warnings: list[dict[str, str]] = []
    arrays = _Arrays() if mapping.array_modes_vary else None
    out_attributes = _attributes(mapping, customer_id, attributes, user.get("identifiers"), errors, warnings, arrays)
    out_events, event_sources = _events(mapping, customer.get("events"), errors, warnings)

    if not out_attributes and not out_events and len(errors) == payload_errors_from:
        errors.append(
            _problem(
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
        errors.append(_problem("id", "required", "the customer ID is missing or blank"))
    else:
        errors.append(_type_problem("id", "the customer ID", "a string", raw_id))


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
            _problem(
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
        errors.append(_problem("identifiers", "identifier-required", mapping.missing_identifiers_message))
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
        name = _add_unmapped(field_name, source, value, reserved, custom_attributes, warnings, "attribute")
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
                    _problem(
                        f"attributes.{key}",
                        "identifier-attribute",
                        f"not sent: Insider takes {key} from identifiers only, and the identifier "
                        f"is {identifiers[key]!r}",
                    )
                )


def _add_unmapped(
    field_name: str,
    source: Any,
    value: Any,
    reserved: frozenset[str],
    target: dict[str, Any],
    warnings: list[dict[str, str]],
    kind: str,
) -> str | None:
    """``unmapped: custom``: send an unmapped attribute / parameter as a custom one (its name), or report it."""
    name = normalise_name(source) if isinstance(source, str) else None
    if name is None or not is_custom_name(name):
        warnings.append(
            _problem(
                field_name,
                "custom-name",
                f"not sent: unmapped {kind} name {source!r} does not normalise to a snake_case name",
            )
        )
        return None
    if name in reserved or name in target:
        warnings.append(
            _problem(
                field_name,
                "name-taken",
                f"not sent: unmapped {kind} {source!r} normalises to {name!r}, which is a default "
                f"Insider name or already used; map it explicitly",
            )
        )
        return None
    try:
        target[name] = to_custom_value(value)
    except ValueRejected as exc:
        warnings.append(_problem(field_name, exc.rule, f"not sent: {exc.message}"))
        return None
    return name


# --------------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------------


def _events(
    mapping: CompiledMapping, source_events: Any, errors: list[dict[str, str]], warnings: list[dict[str, str]]
) -> tuple[list[dict[str, Any]], list[int]]:
    """The user's ``events`` and, for each, its index in the source list."""
    out_events: list[dict[str, Any]] = []
    event_sources: list[int] = []
    if source_events is None:
        return out_events, event_sources
    if not isinstance(source_events, list):
        errors.append(_type_problem("events", "events", "an array", source_events))
        return out_events, event_sources
    for index, event in enumerate(source_events):
        mapped = _map_event(mapping, index, event, errors, warnings)
        if mapped is not None:
            out_events.append(mapped)
            event_sources.append(index)
    return out_events, event_sources


def _map_event(
    mapping: CompiledMapping,
    index: int,
    event: Any,
    errors: list[dict[str, str]],
    warnings: list[dict[str, str]],
) -> dict[str, Any] | None:
    if not isinstance(event, dict):
        errors.append(_type_problem(f"events[{index}]", "an event", "an object", event))
        return None
    source_name = event.get("name")
    plan = mapping.events.get(source_name) if isinstance(source_name, str) else None
    if plan is not None:
        insider_name = plan.insider
    else:
        unmapped = _unmapped_event(mapping, index, source_name, errors, warnings)
        if unmapped is None:
            return None
        insider_name, plan = unmapped
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
        errors.append(_type_problem(f"events[{index}].params", "params", "an object", params))
        params = _NO_PARAMS
    event_params = _event_params(mapping, index, insider_name, plan, params, errors, warnings)
    if event_params:
        out["event_params"] = event_params
    return out


def _unmapped_event(
    mapping: CompiledMapping, index: int, source_name: Any, errors: list[dict[str, str]], warnings: list[dict[str, str]]
) -> tuple[str, EventPlan] | None:
    """A source event the mapping does not name: its Insider name and plan in ``unmapped: custom`` mode,
    else None (an error says why for a missing or non-string name)."""
    if not isinstance(source_name, str) or not source_name:
        if source_name is None or source_name == "":
            errors.append(_problem(f"events[{index}].name", "required", "the event name is missing"))
        else:
            errors.append(_type_problem(f"events[{index}].name", "the event name", "a string", source_name))
        return None
    if not mapping.unmapped_custom:
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
    if insider_name in mapping.reserved_event_names:
        warnings.append(
            _problem(
                f"events[{index}].name",
                "name-taken",
                f"not sent: unmapped event {source_name!r} normalises to {insider_name!r}, which "
                "is mapped from another source event or needs required parameters; map it explicitly",
            )
        )
        return None
    return insider_name, mapping.unmapped_event_plan


def _event_params(
    mapping: CompiledMapping,
    index: int,
    insider_name: str,
    plan: EventPlan,
    params: Mapping[str, Any],
    errors: list[dict[str, str]],
    warnings: list[dict[str, str]],
) -> dict[str, Any]:
    """The event's ``event_params``: mapped rows, required ones checked, then (``unmapped: custom``) the rest."""
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
            _require_param(index, insider_name, key, source, params.get(source), errors)
    if mapping.unmapped_custom and params:
        for source, value in params.items():
            if source not in plan.consumed and value is not None:
                field_name = f"events[{index}].params.{source}"
                _add_unmapped(field_name, source, value, plan.reserved, custom_params, warnings, "parameter")
    if custom_params:
        event_params["custom"] = custom_params
    return event_params


def _require_param(
    index: int, insider_name: str, key: str, source: str, raw: Any, errors: list[dict[str, str]]
) -> None:
    """A required parameter that is missing or blank (a present but invalid one has its value error already)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        errors.append(
            _problem(
                f"events[{index}].params.{source}",
                "required",
                f"Insider rejects a {insider_name} event without {key} (mapped from {source})",
            )
        )
