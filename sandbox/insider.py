"""Insider UCD `POST /api/user/v1/upsert`: auth headers, request limits, per-user results.

Request-level problems answer 4xx (insider-api.md §6.3); per-user validation problems answer 200
with `data.fail` (§6.2). Users that pass are recorded as applied in the sandbox state.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from sandbox.faults import FAULT_HEADER
from sandbox.insider_replies import odd_upsert_reply, results_body
from sandbox.insider_store import appends_arrays
from sandbox.insider_validation import check_user, is_url
from sandbox.state import ENTRY_KEY, STATE_KEY

MAX_BODY_BYTES = 5_000_000
MAX_USERS = 1000
TOP_LEVEL_FIELDS = frozenset({"users", "skip_hook", "error_callback_endpoint", "append"})

ACCESS_DENIED = {
    "success": False,
    "message": "Access Denied. You do not have sufficient access to perform this action.",
}


def _reject_constant(name: str) -> Any:
    # Python's json takes NaN and Infinity; JSON (and so Insider) does not.
    raise ValueError(f"{name} is not JSON")


def _bad_request(error: str) -> web.Response:
    return web.json_response({"error": error}, status=400)


async def upsert(request: web.Request) -> web.Response:
    """POST /api/user/v1/upsert."""
    state = request.app[STATE_KEY]
    config = state.config
    # Exact match: an upper-case partner name is refused ("The partner name should be lowercase").
    if (
        request.headers.get("X-PARTNER-NAME") != config.insider_partner_name
        or request.headers.get("X-REQUEST-TOKEN") != config.insider_api_key
    ):
        return web.json_response(ACCESS_DENIED, status=403)
    if request.content_type != "application/json":
        return _bad_request("content type must be application/json")
    raw = await request.read()
    if len(raw) > MAX_BODY_BYTES:
        return _bad_request("request body is bigger than maximum allowed size 5,000,000 bytes")
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except ValueError:
        # Undocumented text; shaped like Insider's other 400s.
        return _bad_request("request body is not valid JSON: bad request")
    if not isinstance(body, dict):
        return _bad_request("request body must be a JSON object: bad request")
    users = body.get("users")
    if not users:
        return _bad_request("users must be defined: bad request")
    if not isinstance(users, list):
        return _bad_request("users must be an array: bad request")
    if len(users) > MAX_USERS:
        # Not documented by Insider; text chosen in the style of its other 400 errors.
        return _bad_request("users must not exceed 1000: bad request")
    for flag in ("skip_hook", "append"):
        if flag in body and not isinstance(body[flag], bool):
            return _bad_request(f"{flag} must be a boolean: bad request")
    callback = body.get("error_callback_endpoint")
    if callback is not None and not is_url(callback):
        return _bad_request("error_callback_endpoint must be a URL: bad request")

    entry = request.get(ENTRY_KEY)
    errors: dict[str, list[str]] = {}
    failed = 0
    accepted: list[tuple[dict[str, Any], list[str]]] = []
    for index, user in enumerate(users):
        check = check_user(index, user, purchase_requires_quantity=config.purchase_requires_quantity)
        if check.errors:
            failed += 1
            errors.update(check.errors)
        else:
            # Top-level keys the reference does not define are accepted too; each user notes them.
            undocumented = [key for key in body if key not in TOP_LEVEL_FIELDS] + check.undocumented
            accepted.append((user, undocumented))
    # Only a request that would be answered 200 gets (and uses up) an odd reply.
    odd = state.take_upsert_reply()
    if odd is None or odd["apply"]:
        for user, undocumented in accepted:
            state.insider_users.apply(
                user,
                skip_hook=bool(body.get("skip_hook", False)),
                request_seq=entry.seq if entry else None,
                undocumented=undocumented,
                append=appends_arrays(user, body.get("append")),
            )
    if odd is not None:
        if entry is not None:
            entry.fault = "reply"
        response = odd_upsert_reply(odd["kind"], len(users))
        response.headers[FAULT_HEADER] = "reply"
        return response
    return web.json_response(results_body(len(accepted), failed, errors))
