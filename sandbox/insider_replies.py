"""Insider's reply bodies: documented errors, `data.successful` / `data.fail`, and odd 200s on request.

The odd replies (`insider_upsert_reply` in the config) are 200s the app cannot read as a confirmation:
a body that is not JSON, an unknown shape, failures without a `users.<i>` index, counts that do not
add up. They are a control like the faults, not something insider-api.md documents.
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

NOT_JSON: Final = "not-json"
EMPTY: Final = "empty"
UNKNOWN_SHAPE: Final = "unknown-shape"
UNINDEXED_FAILURES: Final = "unindexed-failures"
SHORT_COUNT: Final = "short-count"
EXCESS_FAIL_COUNT: Final = "excess-fail-count"
UPSERT_REPLY_KINDS: Final = (NOT_JSON, EMPTY, UNKNOWN_SHAPE, UNINDEXED_FAILURES, SHORT_COUNT, EXCESS_FAIL_COUNT)

# Documented error bodies (insider-api.md §6.3 for the delete APIs' 403, §8 for the profile's 404).
ACCESS_DENIED: Final = {
    "success": False,
    "message": "Access Denied. You do not have sufficient access to perform this action.",
}
NO_SUCH_USER: Final = {"error": "no such user for these identifiers: no data"}


def results_body(successful: int, failed: int, errors: dict[str, list[str]]) -> dict[str, Any]:
    """The documented reply (insider-api.md §6.1, §6.2): a count of 0 is an empty object."""
    return {
        "data": {
            "successful": {"count": successful} if successful else {},
            "fail": {"count": failed, "errors": errors} if failed else {},
        }
    }


def odd_upsert_reply(kind: str, users_sent: int) -> web.Response:
    """The 200 of `kind` for an upsert of `users_sent` users."""
    if kind == NOT_JSON:
        # What a proxy or captive portal in the way would answer.
        return web.Response(text="<html><body>OK</body></html>", content_type="text/html")
    if kind == EMPTY:
        return web.Response(body=b"", content_type="application/json")
    if kind == UNKNOWN_SHAPE:
        return web.json_response({"success": True})
    if kind == UNINDEXED_FAILURES:
        body = results_body(0, users_sent, {"unification": ["user could not be unified"]})
    elif kind == SHORT_COUNT:
        # One user fewer than sent is counted, none is listed as failed.
        body = results_body(users_sent - 1, 0, {})
    elif kind == EXCESS_FAIL_COUNT:
        # Every user counted as failed, none listed.
        body = {"data": {"successful": {}, "fail": {"count": users_sent, "errors": {}}}}
    else:
        raise ValueError(f"unknown upsert reply kind {kind!r}")
    return web.json_response(body)
