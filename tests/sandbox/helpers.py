"""Constants and small calls shared by the sandbox tests."""

from __future__ import annotations

import json
from typing import Any

import httpx

TOKEN_FORM = {
    "username": "sandbox-user",
    "password": "sandbox-password",
    "grant_type": "password",
    "client_id": "sandbox-client",
    "scope": "openid cx_api",
    "client_secret": "sandbox-secret",
}
INSIDER_HEADERS = {"X-PARTNER-NAME": "sandboxpartner", "X-REQUEST-TOKEN": "sandbox-insider-key"}
UPSERT = "/api/user/v1/upsert"
ACCESS_DENIED = {
    "success": False,
    "message": "Access Denied. You do not have sufficient access to perform this action.",
}


async def get_token(http: httpx.AsyncClient, tenant: str = "sandbox", **overrides: str) -> str:
    response = await http.post(f"/{tenant}/connect/token", data={**TOKEN_FORM, **overrides})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


async def upsert(http: httpx.AsyncClient, body: Any, **kwargs: Any) -> httpx.Response:
    return await http.post(UPSERT, json=body, headers=INSIDER_HEADERS, **kwargs)


def padded(body: dict[str, Any], size: int) -> bytes:
    """`body` with an undocumented top-level `padding` key (Insider accepts it), exactly `size` bytes long."""
    base = len(json.dumps({**body, "padding": ""}).encode())
    encoded = json.dumps({**body, "padding": "x" * (size - base)}).encode()
    assert len(encoded) == size
    return encoded
