"""Who may use the operations page and the routes it calls: the function key, or Entra ID sign-in.

`OPERATIONS_AUTH=function-key` (the default): those routes are function-key routes like every other, the host
checks the key before the app runs, and `X-MS-CLIENT-PRINCIPAL` means nothing (anyone can send that header to an
app without App Service Authentication in front of it).

`OPERATIONS_AUTH=entra`: App Service Authentication (Easy Auth) runs in front of the app and puts the signed-in
user's claims in `X-MS-CLIENT-PRINCIPAL` (base64 JSON with `claims`); it removes that header from what a client
sends, so only it can set it. The operations routes are then anonymous to the host, and the app lets in a request
whose principal's `groups` claim holds `OPERATIONS_ALLOWED_GROUP_ID` (403 otherwise, 401 without a principal).
A function key does not open them in this mode: the host checks keys only on key-level routes and tells a
Python app nothing of a key it saw, so the app could not tell a valid key from any other string. In Azure the
app refuses the header unless the platform says Easy Auth is on (`WEBSITE_AUTH_ENABLED`): a deployment that set
`entra` but not the sign-in answers 503 instead of trusting a header anyone could forge. docs/operations.md.

Imported by `function_app` at indexing (auth levels and the guard): standard library and azure.functions only.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import azure.functions as func

from shared.settings import OperationsAccess
from shared.web.problems import Problem

PRINCIPAL_HEADER = "x-ms-client-principal"
GROUP_CLAIM_TYPES = frozenset({"groups", "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"})
SIGN_IN_PATH = "/.auth/login/aad"

Handler = Callable[[func.HttpRequest], Awaitable[func.HttpResponse]]


def auth_level(access: OperationsAccess) -> func.AuthLevel:
    """The host's auth level of the operations routes: the function key, unless Entra sign-in replaces it."""
    return func.AuthLevel.ANONYMOUS if access.entra else func.AuthLevel.FUNCTION


def principal_groups(header: str) -> set[str] | None:
    """The group ids in an `X-MS-CLIENT-PRINCIPAL` value (lowercase); None when it is not one."""
    try:
        body = json.loads(base64.b64decode(header, validate=True))
    except (binascii.Error, ValueError):
        return None
    claims = body.get("claims") if isinstance(body, dict) else None
    if not isinstance(claims, list):
        return None
    return {str(claim.get("val", "")).lower() for claim in claims
            if isinstance(claim, dict) and claim.get("typ") in GROUP_CLAIM_TYPES}


def _refused(status: int, title: str, detail: str) -> Problem:
    return Problem(status, title, detail, extra={"signIn": SIGN_IN_PATH} if status == 401 else {})


def authorize(access: OperationsAccess, headers: Mapping[str, str]) -> None:
    """Let the request through, or raise the 401/403/503 problem that says why not."""
    if not access.entra:
        return  # the host has checked the function key
    if access.allowed_group_id is None:
        raise Problem(503, "Service Unavailable", "OPERATIONS_AUTH=entra needs OPERATIONS_ALLOWED_GROUP_ID")
    if access.in_azure and not access.app_service_auth_enabled:
        raise Problem(503, "Service Unavailable", "OPERATIONS_AUTH=entra but App Service Authentication is off "
                      "(WEBSITE_AUTH_ENABLED): X-MS-CLIENT-PRINCIPAL is not trusted")
    header = headers.get(PRINCIPAL_HEADER)
    if not header:
        raise _refused(401, "Unauthorized", "sign in with Entra ID (App Service Authentication); with "
                       "OPERATIONS_AUTH=entra the operations routes take no function key")
    groups = principal_groups(header)
    if groups is None:
        raise _refused(401, "Unauthorized", "the sign-in header is not an App Service Authentication principal")
    if access.allowed_group_id not in groups:
        raise _refused(403, "Forbidden", "you are signed in, but not a member of the group allowed to operate "
                       "this app (OPERATIONS_ALLOWED_GROUP_ID)")


def operations_route(access: OperationsAccess) -> Callable[[Handler], Handler]:
    """Wear it under `http_endpoint`: the route then answers only whom `authorize` lets in."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(req: func.HttpRequest, *args: Any, **kwargs: Any) -> func.HttpResponse:
            authorize(access, req.headers)
            return await handler(req, *args, **kwargs)

        return guarded

    return decorate
