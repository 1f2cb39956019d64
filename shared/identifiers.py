"""Request identifiers: taken from the caller when given, otherwise a new ULID (sortable, unique)."""

from __future__ import annotations

import re

from ulid import ULID

IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
_IDENTIFIER_RE = re.compile(IDENTIFIER_PATTERN)


def new_identifier() -> str:
    return str(ULID())


def is_valid_identifier(value: str) -> bool:
    return bool(_IDENTIFIER_RE.match(value))
