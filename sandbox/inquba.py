"""inQuba Journey: token endpoint (OAuth2 password grant, form body) and the Events/Transactions API.

Follows inquba-api.md: the token form carries username, password, grant_type=password,
client_id, scope="openid cx_api" and client_secret; Events/Transactions take one JSON object with
`<kind>DefinitionCode`, `isTest` and `attributes: [{code, value}]` (strings) and answer 200 with a
JSON string. Documented error meanings: 401 credentials, 404 tenant/host, 500 attributes.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from sandbox.recorder import FORM_CONTENT_TYPE, parse_form
from sandbox.state import STATE_KEY

SCOPE = "openid cx_api"
SUCCESS_BODY = "Success"


def _oauth_error(status: int, error: str, description: str) -> web.Response:
    return web.json_response(
        {"error": error, "error_description": description},
        status=status,
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


def _not_found() -> web.Response:
    # Unknown tenant: the real host would not exist / not route; no body is documented.
    return web.Response(status=404)


async def token(request: web.Request) -> web.Response:
    """POST /{tenant}/connect/token."""
    state = request.app[STATE_KEY]
    tenant = request.match_info["tenant"]
    account = state.config.tenants.get(tenant)
    if account is None:
        return _not_found()
    if request.content_type != FORM_CONTENT_TYPE:
        return _oauth_error(400, "invalid_request", f"Content-Type must be {FORM_CONTENT_TYPE}")

    form = parse_form(await request.read())
    fields: dict[str, str] = {}
    for name in ("grant_type", "username", "password", "client_id", "client_secret", "scope"):
        value = form.get(name)
        if isinstance(value, list):
            return _oauth_error(400, "invalid_request", f"{name} is repeated")
        if value is not None:
            fields[name] = value

    if "grant_type" not in fields:
        return _oauth_error(400, "invalid_request", "grant_type is missing")
    if fields["grant_type"] != "password":
        return _oauth_error(400, "unsupported_grant_type", "only grant_type=password is supported")
    # The form fields are required (an Authorization header, which the reference does not mention, is
    # ignored: HTTP Basic credentials alone leave them missing).
    if fields.get("client_id") != account["client_id"] or fields.get("client_secret") != account["client_secret"]:
        return _oauth_error(401, "invalid_client", "unknown client or wrong client secret")
    if fields.get("scope") != SCOPE:
        return _oauth_error(400, "invalid_scope", f"scope must be {SCOPE!r}")
    if "username" not in fields or "password" not in fields:
        return _oauth_error(400, "invalid_request", "username and password are required")
    if fields["username"] != account["username"] or fields["password"] != account["password"]:
        return _oauth_error(401, "invalid_grant", "invalid username or password")

    lifetime = state.config.token_lifetime_seconds
    body: dict[str, Any] = {"access_token": state.tokens.issue(tenant, lifetime), "token_type": "Bearer"}
    if state.config.include_expires_in:
        body["expires_in"] = lifetime
    body["scope"] = SCOPE
    return web.json_response(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def _bearer_token(request: web.Request) -> str | None:
    """The token of `Authorization: Bearer <t>`; a bare `<t>` is accepted too (reference §7)."""
    value = request.headers.get("Authorization", "").strip()
    if not value:
        return None
    scheme, _, rest = value.partition(" ")
    if scheme.lower() == "bearer":
        return rest.strip() or None
    return None if rest else value


def _unauthorized(description: str) -> web.Response:
    return web.Response(
        status=401, headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{description}"'}
    )


def _bad_request(detail: str) -> web.Response:
    return web.json_response({"error": "bad request", "detail": detail}, status=400)


def _attributes_error(detail: str) -> web.Response:
    # Documented meaning of 500: "Event or transaction attributes wrongly defined".
    return web.json_response({"error": "attributes wrongly defined", "detail": detail}, status=500)


def _check_attributes(attributes: Any) -> str | None:
    """Why `attributes` is not an array of {code: string, value: string}, or None if it is."""
    if not isinstance(attributes, list):
        return "attributes must be an array of {code, value} objects"
    for i, item in enumerate(attributes):
        if not isinstance(item, dict):
            return f"attributes[{i}] must be an object"
        for key in ("code", "value"):
            if not isinstance(item.get(key), str):
                return f"attributes[{i}].{key} must be a string"
    return None


async def _publish(request: web.Request, code_field: str, body_required: bool) -> web.Response:
    state = request.app[STATE_KEY]
    tenant = request.match_info["tenant"]
    if tenant not in state.config.tenants:
        return _not_found()
    token_value = _bearer_token(request)
    if token_value is None:
        return _unauthorized("missing bearer token")
    if not state.tokens.is_valid(token_value, tenant):
        return _unauthorized("invalid, expired or foreign token")

    raw = await request.read()
    if raw.strip():
        if request.content_type != "application/json":
            return web.json_response({"error": "Content-Type must be application/json"}, status=415)
        try:
            body = json.loads(raw)
        except ValueError as exc:
            return _bad_request(f"body is not valid JSON: {exc}")
    else:
        body = None
    if body is None:
        return _bad_request("a JSON body is required") if body_required else _success()
    if not isinstance(body, dict):
        return _bad_request("body must be a JSON object")

    code = body.get(code_field)
    if code is not None and not isinstance(code, str):
        return _bad_request(f"{code_field} must be a string")
    is_test = body.get("isTest")
    if is_test is not None and not isinstance(is_test, bool):
        return _bad_request("isTest must be a boolean")
    if body.get("attributes") is not None:
        problem = _check_attributes(body["attributes"])
        if problem:
            return _attributes_error(problem)
    return _success()


def _success() -> web.Response:
    return web.json_response(SUCCESS_BODY)


async def events(request: web.Request) -> web.Response:
    """POST /tenants/{tenant}/cems/api/Events (body required)."""
    return await _publish(request, "eventDefinitionCode", body_required=True)


async def transactions(request: web.Request) -> web.Response:
    """POST /tenants/{tenant}/cems/api/Transactions (body optional per the swagger)."""
    return await _publish(request, "transactionDefinitionCode", body_required=False)
