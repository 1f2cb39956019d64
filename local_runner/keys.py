"""Function-key authorization, as the host applies it to HTTP triggers."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass

KEY_HEADER = "x-functions-key"
KEY_QUERY = "code"
DEFAULT_FUNCTION_KEY = "local-dev-function-key"
DEFAULT_MASTER_KEY = "local-dev-master-key"
FUNCTION_KEY_SETTING = "LOCAL_FUNCTION_KEY"
MASTER_KEY_SETTING = "LOCAL_MASTER_KEY"

ANONYMOUS = "anonymous"
FUNCTION = "function"
ADMIN = "admin"


@dataclass(frozen=True)
class Keys:
    """The function (host default) key and the master key."""

    function_key: str = DEFAULT_FUNCTION_KEY
    master_key: str = DEFAULT_MASTER_KEY

    @classmethod
    def from_settings(cls, settings: Mapping[str, str]) -> Keys:
        return cls(settings.get(FUNCTION_KEY_SETTING) or DEFAULT_FUNCTION_KEY,
                   settings.get(MASTER_KEY_SETTING) or DEFAULT_MASTER_KEY)


def normalize_level(level: object) -> str:
    """`func.AuthLevel.FUNCTION` / "Function" / None → "function" (None is the host default)."""
    if level is None:
        return FUNCTION
    text = str(getattr(level, "value", level)).strip().lower()
    if text not in (ANONYMOUS, FUNCTION, ADMIN):
        raise ValueError(f"unknown auth level {level!r}")
    return text


def presented_key(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """The key of a request: the `x-functions-key` header, else the `code` query parameter."""
    for name, value in headers.items():
        if name.lower() == KEY_HEADER:
            return value
    for name, value in query.items():  # ASP.NET Core query keys are case-insensitive
        if name.lower() == KEY_QUERY:
            return value
    return None


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def is_authorized(level: str, key: str | None, keys: Keys) -> bool:
    """anonymous: always; function: function or master key; admin: master key only."""
    if level == ANONYMOUS:
        return True
    if not key:
        return False
    master = _same(key, keys.master_key)
    if level == ADMIN:
        return master
    return _same(key, keys.function_key) or master
