"""Turn an HTTP request body into a validated model, or a 4xx problem naming each bad field."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import azure.functions as func
from pydantic import BaseModel, ValidationError

from shared.web.problems import FieldError, Problem, bad_request

M = TypeVar("M", bound=BaseModel)
MAX_JSON_DEPTH = 32
MAX_ERRORS_REPORTED = 100  # a 400 lists at most this many fields, and says how many problems there were
_SURROGATE = re.compile("[\ud800-\udfff]")
_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
}


def field_path(loc: tuple[int | str, ...], prefix: str = "") -> str:
    """('attributes', 0, 'value') -> 'attributes[0].value'."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path or "body"


def field_errors(exc: ValidationError, prefix: str = "") -> list[FieldError]:
    errors = []
    for error in exc.errors(include_url=False):
        message = _MESSAGES.get(error["type"]) or str(error["msg"]).removeprefix("Value error, ")
        errors.append(FieldError(field_path(tuple(error["loc"]), prefix), message))
    return errors


def invalid(detail: str, errors: list[FieldError]) -> Problem:
    """A 400 listing the first MAX_ERRORS_REPORTED problems; `{count}` in `detail` becomes how many there are."""
    shown = "" if len(errors) <= MAX_ERRORS_REPORTED else f"; the first {MAX_ERRORS_REPORTED} are listed"
    return bad_request(detail.format(count=len(errors)) + shown, errors[:MAX_ERRORS_REPORTED])


def _inspect(value: Any) -> tuple[int, bool]:
    """Nesting depth of a parsed JSON value, and whether a string or key holds a lone surrogate; no recursion.

    JSON may escape half a UTF-16 pair (`"\\ud800"`): it parses, but no UTF-8 text can hold it, so every later
    encode (Table keys, blobs, upsert bodies, the answer itself) would fail.
    """
    deepest, lone, stack = 0, False, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, str):
            lone = lone or (not item.isascii() and _SURROGATE.search(item) is not None)
        elif isinstance(item, dict):
            lone = lone or any(not k.isascii() and _SURROGATE.search(k) is not None for k in item)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest, lone


def read_json(req: func.HttpRequest, max_bytes: int, *, exact_numbers: bool = True) -> Any:
    """The JSON body: 415 for another content type, 413 past `max_bytes`, 400 for malformed JSON.

    `exact_numbers` parses decimals as `Decimal`, so `1.50` can be forwarded as written (inQuba takes
    strings); Insider takes JSON numbers, so its routes parse them as floats.
    """
    content_type = (req.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise Problem(415, "Unsupported Media Type", "send the body as application/json",
                      errors=[FieldError("Content-Type", "must be application/json")])
    body = req.get_body() or b""
    if len(body) > max_bytes:
        raise Problem(413, "Content Too Large", f"the body is {len(body)} bytes; the limit is {max_bytes}")
    try:
        value = json.loads(body.decode("utf-8"), parse_float=Decimal if exact_numbers else float)
    except UnicodeDecodeError:
        raise bad_request("the body is not UTF-8", [FieldError("body", "must be UTF-8 encoded JSON")]) from None
    except RecursionError:
        raise bad_request("the body is nested too deeply", [FieldError("body", "is nested too deeply")]) from None
    except ValueError as exc:
        raise bad_request("the body is not valid JSON", [FieldError("body", f"invalid JSON: {exc}")]) from None
    depth, lone_surrogate = _inspect(value)
    if depth > MAX_JSON_DEPTH:
        raise bad_request("the body is nested too deeply",
                          [FieldError("body", f"is nested more than {MAX_JSON_DEPTH} levels deep")])
    if lone_surrogate:
        raise bad_request("the body is not valid Unicode",
                          [FieldError("body", "has a \\u escape of half a surrogate pair (\\ud800-\\udfff)")])
    return value


def parse_model(model: type[M], value: Any, prefix: str = "", detail: str = "the request has invalid fields") -> M:
    """Validate a parsed value; every bad field named in one 400 problem (`detail`, see `invalid`)."""
    if not isinstance(value, dict):
        raise bad_request("the body must be a JSON object", [FieldError(prefix or "body", "must be a JSON object")])
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise invalid(detail, field_errors(exc, prefix)) from None


def parse_body(req: func.HttpRequest, model: type[M], max_bytes: int) -> M:
    return parse_model(model, read_json(req, max_bytes))


def parse_params(req: func.HttpRequest, model: type[M]) -> M:
    """Query parameters as a model, exactly as sent (an empty one is a bad value, not an absent one); unknown ones
    (`code`) are the model's to ignore; every bad one named in one 400 problem."""
    return parse_model(model, dict(req.params))


EARLIEST_YEAR, LATEST_YEAR = 1970, 2999  # a Table key holds epoch milliseconds of these, and date arithmetic fits
EARLIEST_TIME = datetime(EARLIEST_YEAR, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(LATEST_YEAR, 1, 1, tzinfo=UTC) - timedelta(milliseconds=1)


def parse_iso_time(value: object) -> datetime:
    """An ISO 8601 date-time as UTC (a time without an offset is UTC); ValueError saying what is expected.

    A time outside the years 1970 to 2999 is the first or last moment of them: no record is older than 1970 (a
    time before any is "from the start") or as new as 2999, so a bound out there means the same as the clamped one.
    """
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            raise ValueError("must be an ISO 8601 date-time, such as 2026-01-31T12:00:00Z") from None
    try:
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:  # an offset past year 1 or 9999
        moment = EARLIEST_TIME if moment.year < EARLIEST_YEAR else LATEST_TIME
    return min(max(moment, EARLIEST_TIME), LATEST_TIME)
