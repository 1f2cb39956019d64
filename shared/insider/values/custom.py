"""Custom attribute and parameter values: a JSON scalar or a list of scalars, passed through as given."""

from __future__ import annotations

import math
from typing import Any, Final

from shared.insider.values import ValueRejected, describe

__all__ = ["to_custom_value"]

_SCALAR_TYPES: Final = (str, bool, int)


def _is_scalar(value: Any) -> bool:
    kind = type(value)
    if kind is str or kind is int or kind is bool:
        return True
    if kind is float or isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, _SCALAR_TYPES)


def to_custom_value(value: Any) -> Any:
    """Custom attribute / parameter value: a JSON scalar or a list of scalars, passed through as given.

    Datetimes are strings and are sent as given. Objects and nested lists are rejected, as are
    values that are not JSON (NaN, infinity, non-JSON Python types) and ``null`` inside a list.
    """
    kind = type(value)
    if kind is str or kind is int or kind is bool:
        return value
    if kind is list or isinstance(value, list | tuple):
        for item in value:
            if not _is_scalar(item):
                if isinstance(item, dict | list | tuple):
                    message = f"lists may only hold scalars, not nested objects or lists: {describe(value)}"
                else:
                    message = f"lists may only hold strings, numbers or booleans: {describe(value)}"
                raise ValueRejected("custom-value", message)
        return value if kind is list else list(value)
    if _is_scalar(value):
        return value
    if isinstance(value, dict):
        raise ValueRejected("custom-value", f"nested objects are not allowed: {describe(value)}")
    raise ValueRejected("custom-value", f"must be a string, number, boolean or a list of those, got {describe(value)}")

