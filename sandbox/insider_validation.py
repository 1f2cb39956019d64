"""Per-user validation of an Insider UCD upsert, answered inside a 200 as `data.fail.errors`.

Error keys are `users.<i>.<path>.<rule>` and values are lists of messages. Where insider-api.md
gives a rule key and message they are used verbatim (identifier rules, `identifiers.required`,
`event_name` regexp, purchase `event_params.*.required`). The other keys follow the same pattern:
`<path>.required` for a missing field, `<path>.type(...)` for a container of the wrong type, and
`<path>.*.<rule>` for a value rule on a field or on the members of a map (see sandbox/README.md).

Only rules the reference states are enforced: its "must"/"required" sentences, its limits and the
types of its parameter tables. Fields it does not define (unknown user or event fields, non-default
root attributes or event parameters) and types it does not give are accepted, and listed as
`undocumented` so tests can see them; the app's own validation decides what it sends.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

EMAIL_PATTERN = r"^.+@.+\..+$"
PHONE_PATTERN = r"^\+[1-9]\d{6,14}$"
# The regex Insider prints for event names accepts `homepageView`, which the server rejected. The
# rule checked is the printed one without upper-case letters: the least strict rule that fits both
# facts (the reference's stricter "safe rule" is advice for senders, not an observed rejection).
EVENT_NAME_PRINTED_PATTERN = r"^[a-z0-9][a-zA-Z0-9._-]*$"
EVENT_NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"
COUNTRY_PATTERN = r"^[A-Z]{2}$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"

_EMAIL = re.compile(EMAIL_PATTERN)
_PHONE = re.compile(PHONE_PATTERN, re.ASCII)
_EVENT_NAME = re.compile(EVENT_NAME_PATTERN, re.ASCII)
_COUNTRY = re.compile(COUNTRY_PATTERN, re.ASCII)
_CURRENCY = re.compile(CURRENCY_PATTERN, re.ASCII)
# RFC 3339 §5.6: "T" and "Z" may be lower case.
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|([+-])(\d{2}):(\d{2}))", re.ASCII
)

IDENTIFIERS_REQUIRED = "either insider_id or idenifiers must be specified"  # sic, as Insider spells it
ROOT_IDENTIFIERS = ("email", "phone_number", "uuid")
USER_FIELDS = frozenset(
    {"identifiers", "insider_id", "attributes", "events", "not_append", "append", "object_attributes"}
)
EVENT_FIELDS = frozenset({"event_name", "timestamp", "event_params"})

BOOLEAN_ATTRIBUTES = frozenset({"email_optin", "gdpr_optin", "sms_optin", "whatsapp_optin"})
STRING_ATTRIBUTES = frozenset({"name", "surname", "gender", "language", "city", "uuid", "lo"})
NUMBER_ARRAY_ATTRIBUTES = frozenset({"static_segment_id", "list_id"})
SPECIAL_ATTRIBUTES = frozenset({"email", "phone_number", "birthday", "age", "country", "custom"})
DEFAULT_ATTRIBUTES = BOOLEAN_ATTRIBUTES | STRING_ATTRIBUTES | NUMBER_ARRAY_ATTRIBUTES | SPECIAL_ATTRIBUTES

# Default event parameters with the type insider-api.md §4 gives each ("String", "Float", ...);
# anything else belongs in event_params.custom, but is accepted (and listed as undocumented).
EVENT_PARAM_TYPES: dict[str, str] = {
    "event_group_id": "string",
    "product_id": "string",
    "name": "string",
    "url": "url",
    "currency": "currency",
    "locale": "string",
    "color": "string",
    "size": "string",
    "shipping_cost": "string",
    "promotion_name": "string",
    "product_image_url": "string",
    "session_id": "string",
    "taxonomy": "array",
    "quantity": "integer",
    "unit_price": "number",
    "unit_sale_price": "number",
    "promotion_discount": "number",
    "stock": "number",
}
# Defaults of Insider's own Segment code (insider-api.md §4) that the reference gives no type: any value.
UNTYPED_EVENT_PARAMS = frozenset({"campaign_id", "campaign_name", "user_agent", "variant_id", "referrer"})

REQUIRED_EVENT_PARAMS: dict[str, tuple[str, ...]] = {
    "purchase": ("event_group_id", "unit_sale_price", "currency", "quantity"),
    "cart_page_view": ("event_group_id", "unit_sale_price", "currency"),
}


def show(value: Any) -> str:
    """A value as it appears in a message: strings raw, everything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_url(value: Any) -> bool:
    """An absolute URL: a scheme and a host, no white space."""
    if not isinstance(value, str) or any(c.isspace() for c in value):
        return False
    parts = urlsplit(value)
    return bool(parts.scheme and parts.netloc)


def parse_rfc3339(value: Any) -> datetime | None:
    """The datetime of an RFC 3339 date-time string, else None (a leap second 60 counts as 59)."""
    if not isinstance(value, str):
        return None
    match = _RFC3339.fullmatch(value)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    try:
        if match.group(8) in ("Z", "z"):
            tz = UTC
        else:
            off_hours, off_minutes = int(match.group(10)), int(match.group(11))
            if off_hours > 23 or off_minutes > 59:
                return None
            sign = -1 if match.group(9) == "-" else 1
            tz = timezone(sign * timedelta(hours=off_hours, minutes=off_minutes))
        # RFC 3339 allows second 60 (a leap second); datetime does not.
        return datetime(year, month, day, hour, minute, 59 if second == 60 else second, tzinfo=tz)
    except ValueError:
        return None


@dataclass
class UserCheck:
    """Errors of one user, keyed `users.<index>.<key>`, and the paths the reference does not define."""

    index: int
    errors: dict[str, list[str]] = field(default_factory=dict)
    undocumented: list[str] = field(default_factory=list)

    def add(self, key: str, message: str) -> None:
        self.errors.setdefault(f"users.{self.index}.{key}", []).append(message)

    def note(self, path: str) -> None:
        """`path` (below the user) is not defined by the reference; it is accepted as sent."""
        self.undocumented.append(f"users.{self.index}.{path}")


def check_blocked(user: Any, blocked: list[str], out: UserCheck) -> None:
    """An identifier value Identity Resolution Management blocks fails the user (the config's
    `insider_blocked_identifiers`; IRM lets an account block values such as "undefined" or "null", §1.3)."""
    identifiers = user.get("identifiers") if isinstance(user, dict) else None
    if not blocked or not isinstance(identifiers, dict):
        return
    custom = identifiers.get("custom")
    values = [v for k, v in identifiers.items() if k != "custom"] + list(custom.values() if isinstance(custom, dict)
                                                                          else [])
    for value in values:
        if isinstance(value, str) and value in blocked:
            out.add("identifiers.*.blocked", f"identifier value is blocked: {show(value)}")


def validate_user(index: int, user: Any, *, purchase_requires_quantity: bool = False) -> dict[str, list[str]]:
    """All validation errors of `users[index]`; empty when Insider would accept the user."""
    return check_user(index, user, purchase_requires_quantity=purchase_requires_quantity).errors


def check_user(index: int, user: Any, *, purchase_requires_quantity: bool = False) -> UserCheck:
    """Validate `users[index]`: its errors and its undocumented (accepted) fields."""
    out = UserCheck(index)
    if not isinstance(user, dict):
        out.add("type(object)", f"user must be an object: {show(user)}")
        return out
    for key in user:
        if key not in USER_FIELDS:
            out.note(key)
    _check_identity(user, out)

    attributes, events = user.get("attributes"), user.get("events")
    if not attributes and not events:
        message = "either attributes or events must be specified"
        out.add("attributes.required", message)
        out.add("events.required", message)
    if attributes is not None:
        _check_attributes(attributes, out)
    if events is not None:
        _check_events(events, out, purchase_requires_quantity)
    return out


def _check_identity(user: dict[str, Any], out: UserCheck) -> None:
    identifiers = user.get("identifiers")
    has_identifiers = False
    if identifiers is not None:
        if isinstance(identifiers, dict):
            has_identifiers = _check_identifiers(identifiers, out)
        else:
            out.add("identifiers.type(object)", "identifiers must be an object")
            has_identifiers = True  # reported above; not also "missing"
    if not has_identifiers and user.get("insider_id") is None:
        out.add("identifiers.required", IDENTIFIERS_REQUIRED)
        out.add("insider_id.required", IDENTIFIERS_REQUIRED)


def _check_identifiers(identifiers: dict[str, Any], out: UserCheck) -> bool:
    """Validate the identifiers object; True if it names at least one identifier."""
    present = False
    for key, value in identifiers.items():
        if key == "custom":
            if not isinstance(value, dict):
                out.add("identifiers.custom.type(object)", "identifiers.custom must be an object")
            # Custom identifier values have no documented type: any value is taken.
            present = present or not isinstance(value, dict) or bool(value)
            continue
        present = True
        if key not in ROOT_IDENTIFIERS:
            out.add("identifiers.*.in(defaults_column)", "key must be one of phone_number(pn), email(em) or uuid")
        elif key == "email" and not (isinstance(value, str) and _EMAIL.fullmatch(value)):
            out.add(f"identifiers.*.regexp({EMAIL_PATTERN})", f"not a valid email address: {show(value)}")
        elif key == "phone_number" and not (isinstance(value, str) and _PHONE.fullmatch(value)):
            out.add(f"identifiers.*.regexp({PHONE_PATTERN})", f"user has an invalid phone number: {show(value)}")
        elif key == "uuid" and not isinstance(value, str):
            out.add("identifiers.*.type(string)", f"uuid must be string: {show(value)}")
    return present


def _check_attributes(attributes: Any, out: UserCheck) -> None:
    if not isinstance(attributes, dict):
        out.add("attributes.type(object)", "attributes must be an object")
        return
    custom = attributes.get("custom")
    count = sum(1 for k in attributes if k != "custom") + (len(custom) if isinstance(custom, dict) else 0)
    if count == 0:
        out.add("attributes.min(1)", "at least one attribute must be specified when attributes is sent")
    for key, value in attributes.items():
        _check_attribute(key, value, out)


def _check_attribute(key: str, value: Any, out: UserCheck) -> None:
    if key not in DEFAULT_ATTRIBUTES:
        out.note(f"attributes.{key}")
    elif key == "custom":
        # Custom values carry no type in the payload (their type is declared in the panel).
        if not isinstance(value, dict):
            out.add("attributes.custom.type(object)", "attributes.custom must be an object")
    elif key in BOOLEAN_ATTRIBUTES and not isinstance(value, bool):
        out.add("attributes.*.type(boolean)", f"{key} must be boolean: {show(value)}")
    elif key in STRING_ATTRIBUTES and not isinstance(value, str):
        out.add("attributes.*.type(string)", f"{key} must be string: {show(value)}")
    elif key in NUMBER_ARRAY_ATTRIBUTES and not (isinstance(value, list) and all(map(is_number, value))):
        out.add("attributes.*.type([]number)", f"{key} must be an array of numbers: {show(value)}")
    elif key == "age" and not is_number(value):
        out.add("attributes.*.type(number)", f"age must be number: {show(value)}")
    elif key == "email" and not (isinstance(value, str) and _EMAIL.fullmatch(value)):
        out.add(f"attributes.*.regexp({EMAIL_PATTERN})", f"not a valid email address: {show(value)}")
    elif key == "phone_number" and not (isinstance(value, str) and _PHONE.fullmatch(value)):
        out.add(f"attributes.*.regexp({PHONE_PATTERN})", f"user has an invalid phone number: {show(value)}")
    elif key == "country" and not (isinstance(value, str) and _COUNTRY.fullmatch(value)):
        out.add(f"attributes.*.regexp({COUNTRY_PATTERN})", f"country must be ISO 3166-1 alpha-2: {show(value)}")
    elif key == "birthday" and not (isinstance(value, str) and value.endswith("Z") and parse_rfc3339(value)):
        out.add(
            "attributes.*.datetime(RFC3339,Z)", f"birthday must be an RFC 3339 date-time ending with Z: {show(value)}"
        )


def _check_events(events: Any, out: UserCheck, purchase_requires_quantity: bool) -> None:
    if not isinstance(events, list):
        out.add("events.type(array)", "events must be an array")
        return
    for position, event in enumerate(events):
        _check_event(f"events.{position}", event, out, purchase_requires_quantity)


def _check_event(path: str, event: Any, out: UserCheck, purchase_requires_quantity: bool) -> None:
    if not isinstance(event, dict):
        out.add(f"{path}.type(object)", "event must be an object")
        return
    for key in event:
        if key not in EVENT_FIELDS:
            out.note(f"{path}.{key}")

    name = event.get("event_name")
    if name is None or name == "":
        out.add(f"{path}.event_name.required", "event_name is required")
    elif not (isinstance(name, str) and _EVENT_NAME.fullmatch(name)):
        out.add(f"{path}.event_name.*.regexp({EVENT_NAME_PRINTED_PATTERN})", f"invalid event name: {show(name)}")

    timestamp = event.get("timestamp")
    if timestamp is None or timestamp == "":
        out.add(f"{path}.timestamp.required", "timestamp is required")
    elif parse_rfc3339(timestamp) is None:
        out.add(f"{path}.timestamp.*.datetime(RFC3339)", f"timestamp must be an RFC 3339 date-time: {show(timestamp)}")

    params = event.get("event_params")
    if params is not None and not isinstance(params, dict):
        out.add(f"{path}.event_params.type(object)", "event_params must be an object")
        params = None
    params = params or {}

    required = REQUIRED_EVENT_PARAMS.get(name) if isinstance(name, str) else None
    for param in required or ():
        if param == "quantity" and not purchase_requires_quantity:
            continue
        if params.get(param) is None or params.get(param) == "":
            out.add(f"{path}.event_params.*.required", f"{param} parameter is required on {name} event")
    for key, value in params.items():
        _check_event_param(f"{path}.event_params", key, value, out)


def _check_event_param(path: str, key: str, value: Any, out: UserCheck) -> None:
    if key == "custom":
        if not isinstance(value, dict):
            out.add(f"{path}.custom.type(object)", f"{path}.custom must be an object")
        return
    kind = EVENT_PARAM_TYPES.get(key)
    if kind is None:
        if key not in UNTYPED_EVENT_PARAMS:
            out.note(f"{path}.{key}")
    elif kind == "string" and not isinstance(value, str):
        out.add(f"{path}.*.type(string)", f"{key} must be string: {show(value)}")
    elif kind == "number" and not is_number(value):
        out.add(f"{path}.*.type(number)", f"{key} must be number: {show(value)}")
    elif kind == "integer" and not is_integer(value):
        out.add(f"{path}.*.type(integer)", f"{key} must be integer: {show(value)}")
    elif kind == "array" and not isinstance(value, list):
        out.add(f"{path}.*.type(array)", f"{key} must be an array: {show(value)}")
    elif kind == "url" and not is_url(value):
        out.add(f"{path}.*.type(url)", f"{key} must be a URL: {show(value)}")
    elif kind == "currency" and not (isinstance(value, str) and _CURRENCY.fullmatch(value)):
        out.add(f"{path}.*.regexp({CURRENCY_PATTERN})", f"currency must be ISO 4217: {show(value)}")
