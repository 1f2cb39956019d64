"""Secret redaction for everything that is logged: headers, form bodies, JSON bodies and plain text.

Two layers: keys known to carry secrets are masked wherever they appear, and the values of the
configured secrets (and of tokens in use) are masked anywhere in the text, whatever the key.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

REDACTED = "***REDACTED***"
SECRET_KEYS = frozenset(
    {
        "password",
        "client_secret",
        "clientsecret",
        "access_token",
        "accesstoken",
        "refresh_token",
        "id_token",
        "token",
        "authorization",
        "authorizationtoken",
        "x-request-token",
        "x-functions-key",
        "api_key",
        "apikey",
        "secret",
    }
)


def is_secret_key(key: str) -> bool:
    return key.lower().replace("-", "_") in SECRET_KEYS or key.lower() in SECRET_KEYS


class Redactor:
    """Masks secret keys and known secret values; `add_secret` registers values learnt at run time."""

    def __init__(self, secret_values: Iterable[str] = ()) -> None:
        self._values: set[str] = {v for v in secret_values if v and len(v) >= 4}
        self._exact: frozenset[str] = frozenset()  # masked where a JSON string is exactly one of them

    def including(self, values: Iterable[str]) -> Redactor:
        """A redactor that also masks `values` (a call's personal data): as whole JSON strings, whatever their
        length (a customer ID such as "12"), and anywhere in text when they are email addresses or phone numbers."""
        from shared.personal_data import looks_personal

        wider = Redactor()
        given = {v for v in values if v}
        wider._values = self._values | {v for v in given if looks_personal(v)}
        wider._exact = self._exact | given
        return wider

    def add_secret(self, value: str | None) -> None:
        if value and len(value) >= 4:
            self._values.add(value)

    def text(self, value: str) -> str:
        for secret in sorted(self._values, key=len, reverse=True):
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {k: (REDACTED if is_secret_key(k) else self.text(v)) for k, v in headers.items()}

    def json_value(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: (REDACTED if is_secret_key(str(k)) else self.json_value(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.json_value(v) for v in value]
        if isinstance(value, str):
            return REDACTED if value in self._exact else self.text(value)
        return value

    def body(self, body: bytes | str | None, content_type: str | None = None) -> str | None:
        """A request or response body as text with secrets masked; form and JSON bodies by key."""
        if body is None:
            return None
        text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
        if not text:
            return text
        kind = (content_type or "").lower()
        if "x-www-form-urlencoded" in kind:
            pairs = parse_qsl(text, keep_blank_values=True)
            return self.text(urlencode([(k, REDACTED if is_secret_key(k) else v) for k, v in pairs]))
        if "json" in kind or text.lstrip()[:1] in ("{", "["):
            try:
                return json.dumps(self.json_value(json.loads(text)), ensure_ascii=False)
            except ValueError:
                pass
        return self.text(text)
