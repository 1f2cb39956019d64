"""Per-user validation of an Insider UCD upsert, answered inside a 200 as `data.fail.errors`.

Error keys are `users.<i>.<path>.<rule>` and values are lists of messages. Where insider-api.md
gives a rule key and message they are used verbatim (identifier rules, `identifiers.required`,
`event_name` regexp, purchase `event_params.*.required`). The other keys follow the same pattern:
`<path>.required` for a missing field, `<path>.type(...)` for a container of the wrong type, and
`<path>.*.<rule>` for a value rule on a field or on the members of a map (see sandbox/README.md).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

EMAIL_PATTERN = r"^.+@.+\..+$"
PHONE_PATTERN = r"^\+[1-9]\d{6,14}$"
# The regex Insider prints for event names; it accepts `homepageView`, which the server rejected,
# so names are checked with the documented safe rule below while the printed key is kept.
EVENT_NAME_PRINTED_PATTERN = r"^[a-z0-9][a-zA-Z0-9._-]*$"
EVENT_NAME_SAFE_PATTERN = r"^[a-z0-9][a-z0-9_]*$"
COUNTRY_PATTERN = r"^[A-Z]{2}$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"

_EMAIL = re.compile(EMAIL_PATTERN)
_PHONE = re.compile(PHONE_PATTERN, re.ASCII)
_EVENT_NAME = re.compile(EVENT_NAME_SAFE_PATTERN, re.ASCII)
_COUNTRY = re.compile(COUNTRY_PATTERN, re.ASCII)
_CURRENCY = re.compile(CURRENCY_PATTERN, re.ASCII)
_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|([+-])(\d{2}):(\d{2}))", re.ASCII)

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

# Default event parameters (insider-api.md §4, plus the defaults Insider's Segment code uses) and
# the JSON type each must have; anything else belongs in event_params.custom.
EVENT_PARAM_TYPES: dict[str, str] = {
    "event_group_id": "string",
    "product_id": "string",
    "name": "string",
    "url": "string",
    "currency": "currency",
    "locale": "string",
    "color": "string",
    "size": "string",
    "promotion_name": "string",
    "product_image_url": "string",
    "session_id": "string",
    "campaign_name": "string",
    "user_agent": "string",
    "referrer": "string",
    "taxonomy": "string_array",
    "quantity": "integer",
    "unit_price": "number",
    "unit_sale_price": "number",
    "promotion_discount": "number",
    "stock": "number",
    # Typed "String" in Insider's table although it is an amount: accept both.
    "shipping_cost": "string_or_number",
    "campaign_id": "string_or_number",
    "variant_id": "string_or_number",
}

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


def is_scalar(value: Any) -> bool:
    return isinstance(value, str | bool) or is_number(value)


def parse_rfc3339(value: Any) -> datetime | None:
    """The datetime of an RFC 3339 date-time string (`T` and `Z` upper case), else None."""
    if not isinstance(value, str):
        return None
    match = _RFC3339.fullmatch(value)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    try:
        if match.group(8) == "Z":
            tz = UTC
        else:
            off_hours, off_minutes = int(match.group(10)), int(match.group(11))
            if off_hours > 23 or off_minutes > 59:
                return None
            sign = -1 if match.group(9) == "-" else 1
            tz = timezone(sign * timedelta(hours=off_hours, minutes=off_minutes))
        return datetime(year, month, day, hour, minute, second, tzinfo=tz)
    except ValueError:
        return None


@dataclass
class UserErrors:
    """Errors of one user, keyed `users.<index>.<key>`."""

    index: int
    errors: dict[str, list[str]] = field(default_factory=dict)

    def add(self, key: str, message: str) -> None:
        self.errors.setdefault(f"users.{self.index}.{key}", []).append(message)


def validate_user(index: int, user: Any, *, purchase_requires_quantity: bool = False) -> dict[str, list[str]]:
    """All validation errors of `users[index]`; empty when Insider would accept the user."""
    out = UserErrors(index)
    if not isinstance(user, dict):
        out.add("type(object)", f"user must be an object: {show(user)}")
        return out.errors
    for key in user:
        if key not in USER_FIELDS:
            out.add("*.in(user_fields)", f"unknown user field: {key}")
    _check_identity(user, out)
    for flag in ("not_append", "append"):
        if flag in user and not isinstance(user[flag], bool):
            out.add(f"{flag}.*.type(boolean)", f"{flag} must be boolean: {show(user[flag])}")
    if "object_attributes" in user and not isinstance(user["object_attributes"], dict):
        out.add("object_attributes.type(object)", "object_attributes must be an object")

    attributes, events = user.get("attributes"), user.get("events")
    if not attributes and not events:
        message = "either attributes or events must be specified"
        out.add("attributes.required", message)
        out.add("events.required", message)
    if attributes is not None:
        _check_attributes(attributes, out)
    if events is not None:
        _check_events(events, out, purchase_requires_quantity)
    return out.errors


def _check_identity(user: dict[str, Any], out: UserErrors) -> None:
    identifiers = user.get("identifiers")
    has_identifiers = False
    if identifiers is not None:
        if isinstance(identifiers, dict):
            has_identifiers = _check_identifiers(identifiers, out)
        else:
            out.add("identifiers.type(object)", "identifiers must be an object")
            has_identifiers = True  # reported above; not also "missing"
    insider_id = user.get("insider_id")
    if insider_id is not None and (not isinstance(insider_id, str) or not insider_id):
        out.add("insider_id.*.type(string)", f"insider_id must be a non-empty string: {show(insider_id)}")
    if not has_identifiers and insider_id is None:
        out.add("identifiers.required", IDENTIFIERS_REQUIRED)
        out.add("insider_id.required", IDENTIFIERS_REQUIRED)


def _check_identifiers(identifiers: dict[str, Any], out: UserErrors) -> bool:
    """Validate the identifiers object; True if it names at least one identifier."""
    present = False
    for key, value in identifiers.items():
        if key == "custom":
            present = _check_custom_identifiers(value, out) or present
            continue
        if key not in ROOT_IDENTIFIERS:
            out.add("identifiers.*.in(defaults_column)", "key must be one of phone_number(pn), email(em) or uuid")
            present = True
            continue
        present = True
        if key == "email" and not (isinstance(value, str) and _EMAIL.fullmatch(value)):
            out.add(f"identifiers.*.regexp({EMAIL_PATTERN})", f"not a valid email address: {show(value)}")
        elif key == "phone_number" and not (isinstance(value, str) and _PHONE.fullmatch(value)):
            out.add(f"identifiers.*.regexp({PHONE_PATTERN})", f"user has an invalid phone number: {show(value)}")
        elif key == "uuid":
            if not isinstance(value, str):
                out.add("identifiers.*.type(string)", f"uuid must be string: {show(value)}")
            elif not value:
                out.add("identifiers.*.required", "uuid must not be empty")
    return present


def _check_custom_identifiers(custom: Any, out: UserErrors) -> bool:
    if not isinstance(custom, dict):
        out.add("identifiers.custom.type(object)", "identifiers.custom must be an object")
        return True
    for name, value in custom.items():
        if not isinstance(value, str):
            out.add("identifiers.custom.*.type(string)", f"{name} must be string: {show(value)}")
        elif not value:
            out.add("identifiers.custom.*.required", f"{name} must not be empty")
    return bool(custom)


def _check_attributes(attributes: Any, out: UserErrors) -> None:
    if not isinstance(attributes, dict):
        out.add("attributes.type(object)", "attributes must be an object")
        return
    custom = attributes.get("custom")
    count = sum(1 for k in attributes if k != "custom") + (len(custom) if isinstance(custom, dict) else 0)
    if count == 0:
        out.add("attributes.min(1)", "at least one attribute must be specified when attributes is sent")
    for key, value in attributes.items():
        _check_attribute(key, value, out)


def _check_attribute(key: str, value: Any, out: UserErrors) -> None:
    if key not in DEFAULT_ATTRIBUTES:
        out.add(
            "attributes.*.in(default_attributes)",
            f"{key} is not a default attribute; send custom attributes in attributes.custom",
        )
    elif key == "custom":
        _check_custom_values("attributes.custom", value, out)
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


def _check_custom_values(path: str, custom: Any, out: UserErrors) -> None:
    """Custom attributes/parameters: scalars or arrays of scalars (objects need object_attributes)."""
    if not isinstance(custom, dict):
        out.add(f"{path}.type(object)", f"{path} must be an object")
        return
    for name, value in custom.items():
        if not (is_scalar(value) or (isinstance(value, list) and all(map(is_scalar, value)))):
            out.add(
                f"{path}.*.type(scalar)",
                f"{name} must be a string, number, boolean or an array of them: {show(value)}",
            )


def _check_events(events: Any, out: UserErrors, purchase_requires_quantity: bool) -> None:
    if not isinstance(events, list):
        out.add("events.type(array)", "events must be an array")
        return
    for position, event in enumerate(events):
        _check_event(f"events.{position}", event, out, purchase_requires_quantity)


def _check_event(path: str, event: Any, out: UserErrors, purchase_requires_quantity: bool) -> None:
    if not isinstance(event, dict):
        out.add(f"{path}.type(object)", "event must be an object")
        return
    for key in event:
        if key not in EVENT_FIELDS:
            out.add(f"{path}.*.in(event_fields)", f"unknown event field: {key}")

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


def _check_event_param(path: str, key: str, value: Any, out: UserErrors) -> None:
    if key == "custom":
        _check_custom_values(f"{path}.custom", value, out)
        return
    kind = EVENT_PARAM_TYPES.get(key)
    if kind is None:
        out.add(
            f"{path}.*.in(default_params)",
            f"{key} is not a default event parameter; send custom parameters in event_params.custom",
        )
    elif kind == "string" and not isinstance(value, str):
        out.add(f"{path}.*.type(string)", f"{key} must be string: {show(value)}")
    elif kind == "number" and not is_number(value):
        out.add(f"{path}.*.type(number)", f"{key} must be number: {show(value)}")
    elif kind == "integer" and not is_integer(value):
        out.add(f"{path}.*.type(integer)", f"{key} must be integer: {show(value)}")
    elif kind == "string_or_number" and not (isinstance(value, str) or is_number(value)):
        out.add(f"{path}.*.type(string|number)", f"{key} must be string or number: {show(value)}")
    elif kind == "string_array" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        out.add(f"{path}.*.type([]string)", f"{key} must be an array of strings: {show(value)}")
    elif kind == "currency" and not (isinstance(value, str) and _CURRENCY.fullmatch(value)):
        out.add(f"{path}.*.regexp({CURRENCY_PATTERN})", f"currency must be ISO 4217: {show(value)}")
