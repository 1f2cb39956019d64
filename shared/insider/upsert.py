"""Upsert request bodies for Insider UCD: build, pack into requests, read partial failures (pure: no I/O).

Reference: ``insider-api.md`` §1.2 (body), §5.1 (1,000 users and 5 MB per request) and §6.2
(per-user failures come back in a 200 response under ``data.fail.errors``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

from shared.insider.compiled_mapping import CompiledMapping

__all__ = [
    "MAX_BYTES",
    "MAX_USERS",
    "UNATTRIBUTED",
    "PackedRequests",
    "UpsertReply",
    "build_upsert_body",
    "encode_body",
    "pack_users",
    "read_upsert_reply",
    "split_failures",
]

#: Insider's limits per upsert request (§5.1): "a maximum of 1,000 records" and "must not exceed 5 MB".
MAX_USERS: Final = 1000
MAX_BYTES: Final = 5_000_000
#: Key of :func:`split_failures` results that could not be tied to a user of the request.
UNATTRIBUTED: Final = -1


def encode_body(body: dict[str, Any]) -> bytes:
    """The exact bytes to send: compact JSON, UTF-8, non-ASCII kept as is.

    :func:`pack_users` measures request sizes with this same encoding.
    """
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def build_upsert_body(
    mapping: CompiledMapping, users: list[dict[str, Any]], error_callback_endpoint: str | None = None
) -> dict[str, Any]:
    """``{"skip_hook": <mapping option>, "error_callback_endpoint"?: <URL>, "users": users}``.

    ``skip_hook`` is always written, ``false`` included (Insider's default, and the form of the
    vendor's main sample), so a logged request shows which behaviour was asked for.
    ``error_callback_endpoint`` (§1.2, example B) only when one is configured
    (``INSIDER_ERROR_CALLBACK_URL``): Insider notifies it when a unification fails after the 200.
    """
    return _envelope(mapping.skip_hook, error_callback_endpoint, users)


def _envelope(skip_hook: bool, error_callback_endpoint: str | None, users: list[Any]) -> dict[str, Any]:
    # Key order as in example B (§10): skip_hook, error_callback_endpoint, users.
    if error_callback_endpoint is None:
        return {"skip_hook": skip_hook, "users": users}
    return {"skip_hook": skip_hook, "error_callback_endpoint": error_callback_endpoint, "users": users}


class PackedRequests(list[list[int]]):
    """Result of :func:`pack_users`: a list of requests, each a list of user indices.

    ``oversized`` maps the index of every user that cannot be sent even alone to the size in
    bytes of a request holding only that user; those users are in no request.
    """

    oversized: dict[int, int]

    def __init__(self) -> None:
        super().__init__()
        self.oversized = {}


def _encoded_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def pack_users(
    users: list[dict[str, Any]],
    max_users: int = MAX_USERS,
    max_bytes: int = MAX_BYTES,
    *,
    skip_hook: bool = False,
    error_callback_endpoint: str | None = None,
) -> PackedRequests:
    """Pack user indices into requests that hold at most ``max_users`` users and ``max_bytes`` bytes.

    Sizes are exact for the body ``build_upsert_body`` makes and ``encode_body`` encodes (pass
    the mapping's ``skip_hook``: ``true`` is one byte shorter than ``false``; and the
    ``error_callback_endpoint`` the bodies will carry). Users keep their
    order; a request is closed when the next user would break either limit. A user too large to
    fit in a request on its own is left out and reported in ``result.oversized``.
    """
    if max_users < 1:
        raise ValueError("max_users must be at least 1")
    envelope = _encoded_size(_envelope(skip_hook, error_callback_endpoint, []))  # {"skip_hook":false,"users":[]}
    result = PackedRequests()
    current: list[int] = []
    current_bytes = envelope
    for index, user in enumerate(users):
        size = _encoded_size(user)
        if envelope + size > max_bytes:
            result.oversized[index] = envelope + size
            continue
        added = size + (1 if current else 0)  # a comma between users
        if current and (len(current) >= max_users or current_bytes + added > max_bytes):
            result.append(current)
            current, current_bytes = [], envelope
            added = size
        current.append(index)
        current_bytes += added
    if current:
        result.append(current)
    return result


_USER_KEY_RE: Final = re.compile(r"users\.([0-9]+)(?:\.(.*))?", re.ASCII | re.DOTALL)


def _messages(value: Any) -> list[Any]:
    if isinstance(value, list):
        return list(value)
    return [value]


def split_failures(response_json: Any, user_count: int) -> dict[int, list[dict[str, Any]]]:
    """Per-user failures of a 200 upsert response, keyed by the user's index in the request.

    ``data.fail.errors`` keys such as ``users.3.events.0.event_params.*.required`` become
    ``{3: [{"path": "events.0.event_params.*.required", "messages": [...]}]}``. Keys that name no
    user of the request (other shapes, or an index >= ``user_count``) go under
    :data:`UNATTRIBUTED` (-1) with the whole key as ``path``; so does an ``error`` body or a
    ``fail.count`` larger than the number of users named in ``errors``, so nothing is lost.
    A response without failures gives ``{}``.
    """
    result: dict[int, list[dict[str, Any]]] = {}

    def unattributed(path: str, messages: list[Any]) -> None:
        result.setdefault(UNATTRIBUTED, []).append({"path": path, "messages": messages})

    if not isinstance(response_json, dict):
        unattributed("", [f"unrecognised response: {response_json!r}"[:500]])
        return result
    data = response_json.get("data")
    if not isinstance(data, dict):
        if "error" in response_json:
            unattributed("error", _messages(response_json["error"]))
        else:
            unattributed("", [f"unrecognised response: {response_json!r}"[:500]])
        return result
    fail = data.get("fail")
    if not fail:
        return result
    if not isinstance(fail, dict):
        unattributed("data.fail", _messages(fail))
        return result
    errors = fail.get("errors")
    if isinstance(errors, dict):
        for key, value in errors.items():
            match = _USER_KEY_RE.fullmatch(key) if isinstance(key, str) else None
            if match is not None and int(match.group(1)) < user_count:
                result.setdefault(int(match.group(1)), []).append(
                    {"path": match.group(2) or "", "messages": _messages(value)}
                )
            else:
                unattributed(str(key), _messages(value))
    elif errors is not None:
        unattributed("data.fail.errors", _messages(errors))
    count = fail.get("count")
    attributed = len(result) - (1 if UNATTRIBUTED in result else 0)
    if isinstance(count, int) and not isinstance(count, bool) and count > attributed:
        unattributed(
            "data.fail.count",
            [f"{count} user(s) failed but errors name {attributed}"],
        )
    return result


@dataclass(frozen=True)
class UpsertReply:
    """What a 200 upsert reply says: failures per user index, and whether the rest can be counted as applied.

    ``unconfirmed`` is None only when the reply has the documented shape (``data.successful`` and
    ``data.fail``) and its counts add up: ``fail.count`` users named in ``errors`` and ``successful.count``
    plus ``fail.count`` equal to the users sent. Otherwise it says why, and the users without a named
    failure are not known to be applied.
    """

    failures: dict[int, list[dict[str, Any]]]
    unconfirmed: str | None


def _count(part: Any) -> int | None:
    """``{}`` counts 0; ``{"count": n, ...}`` counts n; anything else is not the documented shape."""
    if part == {}:
        return 0
    if isinstance(part, dict):
        count = part.get("count")
        if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
            return count
    return None


def _unconfirmed_reason(response_json: Any, failures: dict[int, list[dict[str, Any]]], user_count: int) -> str | None:
    data = response_json.get("data") if isinstance(response_json, dict) else None
    if not isinstance(data, dict) or "successful" not in data or "fail" not in data:
        return "the reply is not the documented {data: {successful, fail}}"
    successful, failed = _count(data["successful"]), _count(data["fail"])
    if successful is None or failed is None:
        return "the reply's successful or fail part has no count"
    named = len(failures) - (UNATTRIBUTED in failures)
    if failed != named:
        return f"fail.count is {failed} but errors name {named} user(s)"
    if successful + failed != user_count:
        return f"successful.count {successful} + fail.count {failed} is not the {user_count} user(s) sent"
    if UNATTRIBUTED in failures:
        return "the reply has failures it ties to no user of the request"
    return None


def read_upsert_reply(body: bytes | str, user_count: int) -> UpsertReply:
    """Read a 200 upsert reply as strictly as its documented shape allows (see :class:`UpsertReply`)."""
    try:
        response_json = json.loads(body)
    except ValueError:
        return UpsertReply({}, "the reply is not JSON")
    failures = split_failures(response_json, user_count)
    reason = _unconfirmed_reason(response_json, failures, user_count)
    if reason is not None:
        failures = {k: v for k, v in failures.items() if k != UNATTRIBUTED}
    return UpsertReply(failures, reason)
