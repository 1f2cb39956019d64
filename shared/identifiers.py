"""Request identifiers: taken from the caller when given, otherwise a new ULID (sortable, unique)."""

from __future__ import annotations

import re
from urllib.parse import quote

from ulid import ULID

IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
_IDENTIFIER_RE = re.compile(IDENTIFIER_PATTERN)
# A customer id becomes a Table key, percent-encoded (Insider request status; the outbound log's customer index
# RowKey, where a long one is shortened with its hash), and a
# key holds 512 UTF-16 code units: so at most 256 characters and 500 once encoded (256 ASCII letters and
# digits; about 80 characters of scripts that take 2 UTF-8 bytes, 55 of those that take 3).
MAX_CUSTOMER_ID_CHARS = 256
MAX_CUSTOMER_ID_KEY_CHARS = 500
# What str.strip() strips, for the document's patterns: spelt out, as `\s` means another set in ECMA-262 (the
# document's regular expressions), which would let a validator take a value this app refuses.
_WHITESPACE = r"\t\n\x0b\x0c\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
WHITESPACE_PATTERN = f"[{_WHITESPACE}]"
NOT_BLANK_PATTERN = f"[^{_WHITESPACE}]"  # holds a character that str.strip() keeps


def new_identifier() -> str:
    return str(ULID())


def customer_id_problem(value: str) -> str | None:
    """Why `value` cannot be a customer id, or None."""
    if len(value) > MAX_CUSTOMER_ID_CHARS:
        return f"must be at most {MAX_CUSTOMER_ID_CHARS} characters"
    if len(quote(value, safe="")) > MAX_CUSTOMER_ID_KEY_CHARS:
        return (f"must be at most {MAX_CUSTOMER_ID_KEY_CHARS} characters once percent-encoded as UTF-8 "
                "(about 80 characters of non-Latin scripts)")
    return None


def is_valid_identifier(value: str) -> bool:
    return bool(_IDENTIFIER_RE.fullmatch(value))  # match() would let "$" accept a trailing newline
