"""Booleans and numbers: true/false words, integers, ages, finite numbers, integer lists."""

from __future__ import annotations

import math
import re
from typing import Any, Final

from shared.insider.values import ABSENT, ValueRejected, describe

__all__ = ["to_age", "to_boolean", "to_int_list", "to_integer", "to_number"]

_INTEGER_RE = re.compile(r"[+-]?[0-9]+", re.ASCII)
_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_TRUE_WORDS: Final = frozenset({"true", "1", "yes"})
_FALSE_WORDS: Final = frozenset({"false", "0", "no"})


def to_boolean(value: Any) -> Any:
    """true/false, 1/0 (number or string), "yes"/"no" (any case) -> bool."""
    if value is True or value is False:
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
        if not word:
            return ABSENT
    elif isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ValueRejected("boolean", f"must be true/false, 1/0 or yes/no, got {describe(value)}")


def to_integer(value: Any) -> Any:
    """An integer: a JSON integer, an integral finite number or an integer string."""
    if type(value) is int:
        return value
    if isinstance(value, bool):
        raise ValueRejected("integer", f"must be an integer, got {describe(value)}")
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return int(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return ABSENT
        if _INTEGER_RE.fullmatch(text) is not None:
            return int(text)
    raise ValueRejected("integer", f"must be an integer, got {describe(value)}")


def to_age(value: Any) -> Any:
    """``age``: a non-negative integer (see :func:`to_integer` for accepted forms)."""
    result = to_integer(value)
    if result is not ABSENT and result < 0:
        raise ValueRejected("integer", f"must be a non-negative integer, got {describe(value)}")
    return result


def to_number(value: Any) -> Any:
    """A finite number; numeric strings become int (no fraction/exponent) or float."""
    kind = type(value)
    if kind is int:
        return value
    if kind is str:  # the usual source form, checked before the subclasses below
        return _number_from_text(value)
    if kind is float:
        if math.isfinite(value):
            return value
    elif isinstance(value, bool):
        pass
    elif isinstance(value, int):
        return int(value)
    elif isinstance(value, float):
        if math.isfinite(value):
            return float(value)
    elif isinstance(value, str):
        return _number_from_text(value)
    raise ValueRejected("number", f"must be a finite number, got {describe(value)}")


def _number_from_text(value: str) -> Any:
    text = value.strip()
    if not text:
        return ABSENT
    if _NUMBER_RE.fullmatch(text) is not None:
        if "." not in text and "e" not in text and "E" not in text:
            return int(text)  # the number pattern without fraction or exponent: an integer
        number = float(text)
        if math.isfinite(number):
            return number
    raise ValueRejected("number", f"must be a finite number, got {describe(value)}")


def to_int_list(value: Any) -> Any:
    """A list of integers (``static_segment_id``, ``list_id``); a single value becomes a list."""
    if isinstance(value, list | tuple):
        result = []
        for item in value:
            try:
                number = to_integer(item)
            except ValueRejected:
                raise ValueRejected("integer-list", f"every item must be an integer: {describe(value)}") from None
            if number is ABSENT:
                raise ValueRejected("integer-list", f"every item must be an integer: {describe(value)}")
            result.append(number)
        return result
    try:
        number = to_integer(value)
    except ValueRejected:
        raise ValueRejected(
            "integer-list", f"must be an integer or a list of integers, got {describe(value)}"
        ) from None
    return ABSENT if number is ABSENT else [number]
