"""Value rules for Insider UCD upsert payloads (pure: no I/O), one module per kind of value.

Every converter takes one source value that is not ``None`` and returns the value exactly as it
will be sent to Insider, returns :data:`ABSENT` when the value counts as "not given" (a blank
string), or raises :class:`ValueRejected` naming the rule that failed. The rules follow the
Insider reference (``insider-api.md`` §1.3, §2.1, §4 and §9); see ``docs/insider-mapping.md``.

- ``text``: strings, IDs, email, E.164 phone, country, language, currency, URL, string lists
- ``numbers``: booleans, integers, numbers, integer lists
- ``datetimes``: RFC 3339 timestamps and UTC birthdays
- ``custom``: custom attribute / parameter values (scalars or lists of scalars, as given)
- ``converters``: which converter each Insider name uses, and the JSON value each expects

Converters are plain functions with precompiled patterns so the mapper can call them in a tight
loop; nothing here allocates a regex or a validator per call. This module holds what they share.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

__all__ = ["ABSENT", "Converter", "ValueRejected", "describe"]


class ValueRejected(ValueError):
    """A source value breaks an Insider rule. ``rule`` is a stable key, ``message`` is for people."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


class _Absent:
    """Marker for "no value": a blank string where Insider expects a typed value."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False


ABSENT: Final = _Absent()

Converter = Callable[[Any], Any]


def describe(value: Any) -> str:
    """A value as shown in a rejection message: its repr, cut at 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
