"""inQuba Journey wire format: the token request and Events/Transactions requests (see docs/decisions.md)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import httpx

from shared.inquba.token_cache import TokenGrant, cache_key

TOKEN_SCOPE = "openid cx_api"
PATHS = {"event": "Events", "transaction": "Transactions"}


@dataclass(frozen=True)
class InqubaConnection:
    """Where and as whom to ask for tokens, and where to publish."""

    token_url: str
    tenant: str
    username: str
    password: str
    client_id: str
    client_secret: str
    api_url: str

    @property
    def cache_key(self) -> str:
        """Secrets are part of the key (hashed): a wrong password must not be answered a cached token."""
        secrets = hashlib.sha256(f"{self.password}\n{self.client_secret}".encode()).hexdigest()
        return cache_key(self.token_url, self.username, f"{self.client_id}\n{secrets}")

    def __repr__(self) -> str:
        return f"InqubaConnection(token_url={self.token_url!r}, tenant={self.tenant!r})"


def token_request(connection: InqubaConnection) -> httpx.Request:
    """The connector's password grant: form-encoded, client id and secret in the body."""
    form = {
        "username": connection.username,
        "password": connection.password,
        "grant_type": "password",
        "client_id": connection.client_id,
        "scope": TOKEN_SCOPE,
        "client_secret": connection.client_secret,
    }
    return httpx.Request(
        "POST",
        connection.token_url,
        data=form,
        headers={"Accept": "application/json"},
    )


class TokenResponseError(ValueError):
    """The token endpoint answered 200 without a usable access_token."""


def parse_token_response(body: bytes) -> TokenGrant:
    """Only access_token is documented; expires_in is used when present, anything else ignored."""
    try:
        data: Any = json.loads(body)
    except ValueError as exc:
        raise TokenResponseError("token response is not JSON") from exc
    if not isinstance(data, dict) or not isinstance(data.get("access_token"), str) or not data["access_token"]:
        raise TokenResponseError("token response has no access_token")
    expires_in = data.get("expires_in")
    try:
        lifetime = float(expires_in) if expires_in is not None else None
    except (TypeError, ValueError):
        lifetime = None
    return TokenGrant(data["access_token"], lifetime)


def publish_request(connection: InqubaConnection, kind: str, body: dict[str, Any]) -> httpx.Request:
    """Events or Transactions; the bearer token is added by the auth step (publishing.BearerToken)."""
    return httpx.Request(
        "POST",
        f"{connection.api_url.rstrip('/')}/{PATHS[kind]}",
        json=body,
        headers={"TenantName": connection.tenant, "Accept": "application/json"},
    )
