"""What every simulated Insider endpoint checks first, in this order: auth, content type, size, JSON.

insider-api.md §8: the other UCD endpoints use "the same host and headers" as the upsert. A check
that fails raises `Refused`, which `endpoint` turns into the answer.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from sandbox.insider_replies import ACCESS_DENIED
from sandbox.state import STATE_KEY

MAX_BODY_BYTES = 5_000_000
MAX_USERS = 1000



class Refused(Exception):
    """A request answered with an error before (or instead of) doing anything."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def bad_request(error: str) -> Refused:
    return Refused(web.json_response({"error": error}, status=400))


Handler = Callable[[web.Request], Awaitable[web.Response]]


def endpoint(handler: Handler) -> Handler:
    """Answer a `Refused` raised by `handler` with its response."""

    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except Refused as refused:
            return refused.response

    return wrapper


def _reject_constant(name: str) -> Any:
    # Python's json takes NaN and Infinity; JSON (and so Insider) does not.
    raise ValueError(f"{name} is not JSON")


async def read_body(request: web.Request, *, max_bytes: int | None = MAX_BODY_BYTES) -> dict[str, Any]:
    """The JSON object of an Insider request, after the checks every endpoint makes.

    `max_bytes=None` for endpoints the reference gives no size limit.
    """
    config = request.app[STATE_KEY].config
    # Exact match: an upper-case partner name is refused ("The partner name should be lowercase").
    if (
        request.headers.get("X-PARTNER-NAME") != config.insider_partner_name
        or request.headers.get("X-REQUEST-TOKEN") != config.insider_api_key
    ):
        raise Refused(web.json_response(ACCESS_DENIED, status=403))
    if request.content_type != "application/json":
        raise bad_request("content type must be application/json")
    raw = await request.read()
    if max_bytes is not None and len(raw) > max_bytes:
        raise bad_request(f"request body is bigger than maximum allowed size {max_bytes:,} bytes")
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except ValueError:
        # Undocumented text; shaped like Insider's other 400s.
        raise bad_request("request body is not valid JSON: bad request") from None
    if not isinstance(body, dict):
        raise bad_request("request body must be a JSON object: bad request")
    return body


def users_of(body: dict[str, Any]) -> list[Any]:
    """`users` of a batch request (upsert, delete attributes): 1 to 1,000 of them."""
    users = body.get("users")
    if not users:
        raise bad_request("users must be defined: bad request")
    if not isinstance(users, list):
        raise bad_request("users must be an array: bad request")
    if len(users) > MAX_USERS:
        # Not documented by Insider; text chosen in the style of its other 400 errors.
        raise bad_request(f"users must not exceed {MAX_USERS}: bad request")
    return users


def names_an_identifier(identifiers: Any) -> bool:
    """Whether an `identifiers` object names at least one identifier (an empty `custom` names none)."""
    if not isinstance(identifiers, dict):
        return False
    return any(name != "custom" or not isinstance(value, dict) or value for name, value in identifiers.items())


def identifiers_of(body: dict[str, Any]) -> dict[str, Any]:
    """`identifiers` of a one-user request (delete, anonymise): an object naming an identifier."""
    identifiers = body.get("identifiers")
    if identifiers is not None and not isinstance(identifiers, dict):
        raise bad_request("identifiers must be an object: bad request")
    if not names_an_identifier(identifiers):
        raise bad_request("identifiers must be defined: bad request")
    if "custom" in identifiers and not isinstance(identifiers["custom"], dict):
        raise bad_request("identifiers.custom must be an object: bad request")
    return identifiers
