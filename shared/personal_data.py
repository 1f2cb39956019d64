"""Personal data in what the app stores: how it is recognised and what replaces it when a customer is erased.

Erasure (docs/outbound-logs.md, "Erasure") replaces bodies wholesale with `ERASED`; where a stored text is shared
with other customers (a batched request's body, a request-level error) only this customer's values are masked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

ERASED = "[erased]"
ERASED_AT = "ErasedAt"  # the column an erased entity gains: when its personal data was removed
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# International (+ and 7 to 15 digits) or national (0 and 8 to 10 more digits), spaces, dots, dashes and brackets
# between: not a date (2026-01-10) nor a bare number such as an order id.
_PHONE = re.compile(r"\+[0-9 ().-]{6,24}[0-9]|\(?0[0-9 ().-]{7,20}[0-9]")
# A value shorter than this is not masked inside other text (a name "Al" would hit every "Also").
MIN_MASKED_LENGTH = 3


def looks_personal(value: Any) -> bool:
    """An email address or a phone number: + and 7 to 15 digits, or 0 and 8 to 10 more (national), with spaces,
    dots, dashes or brackets between."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    if _EMAIL.fullmatch(text):
        return True
    digits = sum(c.isdigit() for c in text)
    return bool(_PHONE.fullmatch(text)) and (7 <= digits <= 15 if text.startswith("+") else 9 <= digits <= 11)


def personal_strings(value: Any) -> set[str]:
    """Every string in a parsed JSON value that is an email address or a phone number (iteratively, no recursion)."""
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif looks_personal(item):
            found.add(item)
    return found


def personal_strings_of_text(text: str | None) -> set[str]:
    """`personal_strings` of a stored JSON body; nothing for a body that is not (or no longer) JSON."""
    if not text:
        return set()
    try:
        return personal_strings(json.loads(text))
    except ValueError:
        return set()


def mask(text: str | None, values: Iterable[str]) -> str | None:
    """`text` with each of `values` (longest first) replaced by `ERASED`, as written and as JSON would escape it."""
    if not text:
        return text
    for value in sorted({v for v in values if v and len(v) >= MIN_MASKED_LENGTH}, key=len, reverse=True):
        for form in {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}:
            if form in text:
                text = text.replace(form, ERASED)
    return text


def erased_at() -> datetime:
    return datetime.now(UTC)
