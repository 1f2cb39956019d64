"""Source events of one customer -> the user's Insider ``events`` (pure: no I/O).

Each event: its plan (mapped, or in ``unmapped: custom`` mode its normalised name), its RFC 3339
timestamp, and its parameters with the ones Insider requires (§4). See ``docs/insider-mapping.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from shared.insider.mapper_common import NO_PARAMS, add_unmapped, problem, type_problem
from shared.insider.names import is_event_name, normalise_name
from shared.insider.values import ABSENT, ValueRejected
from shared.insider.values.datetimes import to_rfc3339

if TYPE_CHECKING:
    from shared.insider.compiled_mapping import CompiledMapping, EventPlan

__all__ = ["map_events"]


def map_events(
    mapping: CompiledMapping, source_events: Any, errors: list[dict[str, str]], warnings: list[dict[str, str]]
) -> tuple[list[dict[str, Any]], list[int]]:
    """The user's ``events`` and, for each, its index in the source list."""
    out_events: list[dict[str, Any]] = []
    event_sources: list[int] = []
    if source_events is None:
        return out_events, event_sources
    if not isinstance(source_events, list):
        errors.append(type_problem("events", "events", "an array", source_events))
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
        errors.append(type_problem(f"events[{index}]", "an event", "an object", event))
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
        errors.append(problem(f"events[{index}].timestamp", "required", "the event timestamp is missing"))
    else:
        try:
            timestamp = to_rfc3339(timestamp)
        except ValueRejected as exc:
            errors.append({"field": f"events[{index}].timestamp", "rule": exc.rule, "message": exc.message})
        else:
            if timestamp is ABSENT:
                errors.append(problem(f"events[{index}].timestamp", "required", "the event timestamp is blank"))
            else:
                out["timestamp"] = timestamp
    params = event.get("params")
    if params is None:
        params = NO_PARAMS
    elif not isinstance(params, dict):
        errors.append(type_problem(f"events[{index}].params", "params", "an object", params))
        params = NO_PARAMS
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
            errors.append(problem(f"events[{index}].name", "required", "the event name is missing"))
        else:
            errors.append(type_problem(f"events[{index}].name", "the event name", "a string", source_name))
        return None
    if not mapping.unmapped_custom:
        return None
    insider_name = normalise_name(source_name)
    if not is_event_name(insider_name):
        warnings.append(
            problem(
                f"events[{index}].name",
                "event-name",
                f"not sent: unmapped event {source_name!r} does not normalise to a safe Insider event name",
            )
        )
        return None
    if insider_name in mapping.reserved_event_names:
        warnings.append(
            problem(
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
                add_unmapped(field_name, source, value, plan.reserved, custom_params, warnings, "parameter")
    if custom_params:
        event_params["custom"] = custom_params
    return event_params


def _require_param(
    index: int, insider_name: str, key: str, source: str, raw: Any, errors: list[dict[str, str]]
) -> None:
    """A required parameter that is missing or blank (a present but invalid one has its value error already)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        errors.append(
            problem(
                f"events[{index}].params.{source}",
                "required",
                f"Insider rejects a {insider_name} event without {key} (mapped from {source})",
            )
        )
