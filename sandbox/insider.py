"""Insider UCD `POST /api/user/v1/upsert`: auth headers, request limits, per-user results.

Request-level problems answer 4xx (insider-api.md §6.3); per-user validation problems answer 200
with `data.fail` (§6.2). Users that pass are recorded as applied in the sandbox state.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox.faults import FAULT_HEADER
from sandbox.insider_replies import odd_upsert_reply, results_body
from sandbox.insider_request import bad_request, endpoint, read_body, users_of
from sandbox.insider_store import appends_arrays
from sandbox.insider_validation import check_blocked, check_user, is_url
from sandbox.state import ENTRY_KEY, STATE_KEY

TOP_LEVEL_FIELDS = frozenset({"users", "skip_hook", "error_callback_endpoint", "append"})


@endpoint
async def upsert(request: web.Request) -> web.Response:
    """POST /api/user/v1/upsert."""
    state = request.app[STATE_KEY]
    config = state.config
    body = await read_body(request)
    users = users_of(body)
    for flag in ("skip_hook", "append"):
        if flag in body and not isinstance(body[flag], bool):
            raise bad_request(f"{flag} must be a boolean: bad request")
    callback = body.get("error_callback_endpoint")
    if callback is not None and not is_url(callback):
        raise bad_request("error_callback_endpoint must be a URL: bad request")

    entry = request.get(ENTRY_KEY)
    errors: dict[str, list[str]] = {}
    failed = 0
    accepted: list[tuple[dict[str, Any], list[str]]] = []
    for index, user in enumerate(users):
        check = check_user(index, user, purchase_requires_quantity=config.purchase_requires_quantity)
        check_blocked(user, config.insider_blocked_identifiers, check)
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
