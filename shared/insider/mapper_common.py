"""What the customer and the event mappers share: problem records and the rule for unmapped items (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from shared.insider.names import is_custom_name, normalise_name
from shared.insider.values import ValueRejected
from shared.insider.values.custom import to_custom_value

__all__ = ["NO_PARAMS", "add_unmapped", "problem", "type_problem"]

#: An absent attributes / params object, read like an empty one.
NO_PARAMS: Final[Mapping[str, Any]] = {}


def problem(field_name: str, rule: str, message: str) -> dict[str, str]:
    """A rejection error or a warning: the source field, the rule's stable key, a message for people."""
    return {"field": field_name, "rule": rule, "message": message}


def _type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number" if isinstance(value, int | float) else type(value).__name__
    )


def type_problem(field_name: str, what: str, expected: str, value: Any) -> dict[str, str]:
    """The ``type`` problem of a value that is not the JSON type expected."""
    return problem(field_name, "type", f"{what} must be {expected}, got {_type_name(value)}")


def add_unmapped(
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
            problem(
                field_name,
                "custom-name",
                f"not sent: unmapped {kind} name {source!r} does not normalise to a snake_case name",
            )
        )
        return None
    if name in reserved or name in target:
        warnings.append(
            problem(
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
        warnings.append(problem(field_name, exc.rule, f"not sent: {exc.message}"))
        return None
    return name
