"""Value rules for Insider UCD upsert payloads (pure: no I/O).

Every converter takes one source value that is not ``None`` and returns the value exactly as it
will be sent to Insider, returns :data:`ABSENT` when the value counts as "not given" (a blank
string), or raises :class:`ValueRejected` naming the rule that failed. The rules follow the
Insider reference (``insider-api.md`` §1.3, §2.1, §4 and §9); see ``docs/insider-mapping.md``.

Converters are plain functions with precompiled patterns so the mapper can call them in a tight
loop; nothing here allocates a regex or a validator per call.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, Final

__all__ = [
    "ABSENT",
    "ATTRIBUTE_CONVERTERS",
    "COUNTRY_CODES",
    "CUSTOM_NAME_PATTERN",
    "DEFAULT_ATTRIBUTES",
    "DEFAULT_EVENT_PARAMS",
    "DEFAULT_IDENTIFIERS",
    "EVENT_NAME_PATTERN",
    "IDENTIFIER_CONVERTERS",
    "PARAM_CONVERTERS",
    "REQUIRED_EVENT_PARAMS",
    "VALUE_SCHEMAS",
    "Converter",
    "ValueRejected",
    "is_custom_name",
    "is_event_name",
    "normalise_name",
    "to_age",
    "to_boolean",
    "to_country",
    "to_currency",
    "to_custom_value",
    "to_e164",
    "to_email",
    "to_id_string",
    "to_int_list",
    "to_integer",
    "to_language",
    "to_number",
    "to_rfc3339",
    "to_rfc3339_utc",
    "to_string",
    "to_string_list",
    "to_text",
    "to_url",
]

# --------------------------------------------------------------------------------------------
# Names Insider defines (reference §1.3, §2.1, §4)
# --------------------------------------------------------------------------------------------

#: Root keys of ``identifiers``; any other identifier goes under ``identifiers.custom``.
DEFAULT_IDENTIFIERS: Final[tuple[str, ...]] = ("uuid", "email", "phone_number")

#: Default attribute names (root of ``attributes``), §2.1.
DEFAULT_ATTRIBUTES: Final[tuple[str, ...]] = (
    "email",
    "phone_number",
    "email_optin",
    "gdpr_optin",
    "sms_optin",
    "whatsapp_optin",
    "name",
    "surname",
    "birthday",
    "gender",
    "age",
    "language",
    "country",
    "city",
    "static_segment_id",
    "list_id",
    "uuid",
    "lo",
)

#: Default event parameters (root of ``event_params``): the §4 table, the other predefined
#: parameters of §4 and Segment's default list.
DEFAULT_EVENT_PARAMS: Final[tuple[str, ...]] = (
    "event_group_id",
    "product_id",
    "name",
    "taxonomy",
    "url",
    "currency",
    "quantity",
    "unit_price",
    "unit_sale_price",
    "locale",
    "color",
    "size",
    "shipping_cost",
    "promotion_name",
    "promotion_discount",
    "stock",
    "product_image_url",
    "session_id",
    "campaign_id",
    "campaign_name",
    "user_agent",
    "variant_id",
    "referrer",
)

#: Default parameters Insider rejects an event without (§4, §6.2). ``quantity`` is marked
#: "Yes only for purchase" in the §4 table, but Insider's own example F (§10) sends a purchase
#: without it and gets ``successful.count: 2``; it is therefore not enforced here.
REQUIRED_EVENT_PARAMS: Final[dict[str, tuple[str, ...]]] = {
    "purchase": ("event_group_id", "currency", "unit_sale_price"),
    "cart_page_view": ("event_group_id", "currency", "unit_sale_price"),
}

#: Custom identifier, attribute and parameter names (snake_case).
CUSTOM_NAME_PATTERN: Final = r"^[a-z0-9][a-z0-9_]*$"
#: Safe event-name rule (§9: the printed server regex is laxer than what the server accepts).
EVENT_NAME_PATTERN: Final = r"^[a-z0-9][a-z0-9_]*$"

#: ISO 3166-1 alpha-2: the 249 officially assigned codes (ISO 3166 Maintenance Agency list as
#: shipped in iso-codes / tzdata ``iso3166.tab``). User-assigned codes such as ``XK`` and
#: exceptionally reserved ones such as ``UK`` or ``EU`` are not included.
_ASSIGNED_ALPHA2: Final = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT
    BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH
    ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT
    HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS
    LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI
    NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG
    SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG
    UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
"""
COUNTRY_CODES: Final[frozenset[str]] = frozenset(_ASSIGNED_ALPHA2.split())


# --------------------------------------------------------------------------------------------
# Outcome types
# --------------------------------------------------------------------------------------------


class ValueRejected(ValueError):
    """A source value breaks an Insider rule. ``rule`` is a stable key, ``message`` is for people."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


class _Absent:
    """Marker for "no value": a blank string where Insider expects a typed value."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False


ABSENT: Final = _Absent()

Converter = Callable[[Any], Any]

# --------------------------------------------------------------------------------------------
# Precompiled patterns (ASCII only: ``\d`` would also accept other scripts' digits)
# --------------------------------------------------------------------------------------------

_A = re.ASCII
_CUSTOM_NAME_RE = re.compile(CUSTOM_NAME_PATTERN[1:-1], _A)
_EVENT_NAME_RE = re.compile(EVENT_NAME_PATTERN[1:-1], _A)
_EMAIL_RE = re.compile(r".+@.+\..+")  # Insider's own rule, §1.3 (used with fullmatch)
_E164_RE = re.compile(r"\+[1-9][0-9]{6,14}", _A)
_PHONE_SEPARATORS_RE = re.compile(r"[\s()\-]+")
_LANGUAGE_RE = re.compile(r"([A-Za-z]{2,3})(?:[-_]([A-Za-z]{4}))?(?:[-_]([A-Za-z]{2}|[0-9]{3}))?", _A)
_CURRENCY_RE = re.compile(r"[A-Z]{3}", _A)
_URL_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+", _A)
_INTEGER_RE = re.compile(r"[+-]?[0-9]+", _A)
_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", _A)
_DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", _A)
_DATETIME_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?(?:(Z)|([+-])([0-9]{2}):([0-9]{2}))",
    _A,
)
_CAMEL_ACRONYM_RE = re.compile(r"([A-Z]+)([A-Z][a-z])")
_CAMEL_RE = re.compile(r"([a-z0-9])([A-Z])")
_SEPARATORS_RE = re.compile(r"[\s\-]+")

_TRUE_WORDS: Final = frozenset({"true", "1", "yes"})
_FALSE_WORDS: Final = frozenset({"false", "0", "no"})


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _blank_or_stripped(value: str) -> str | None:
    stripped = value.strip()
    return stripped or None


# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------


def is_custom_name(name: Any) -> bool:
    """True for a snake_case custom name: ``^[a-z0-9][a-z0-9_]*$``."""
    return type(name) is str and _CUSTOM_NAME_RE.fullmatch(name) is not None


def is_event_name(name: Any) -> bool:
    """True for a safe Insider event name: lowercase letters, digits and ``_``, not starting with ``_``."""
    return type(name) is str and _EVENT_NAME_RE.fullmatch(name) is not None


@lru_cache(maxsize=4096)
def normalise_name(name: str) -> str:
    """Source name -> snake_case: trim, camelCase -> camel_case, spaces and ``-`` -> ``_``, lowercase.

    The result may still be unusable (``"prénom"``, ``"a.b"``, ``"_x"``); check it with
    :func:`is_custom_name` / :func:`is_event_name`.
    """
    text = name.strip()
    text = _CAMEL_ACRONYM_RE.sub(r"\1_\2", text)
    text = _CAMEL_RE.sub(r"\1_\2", text)
    text = _SEPARATORS_RE.sub("_", text)
    return text.lower()


# --------------------------------------------------------------------------------------------
# Strings
# --------------------------------------------------------------------------------------------


def to_string(value: Any) -> Any:
    """A string, trimmed. Blank -> ABSENT."""
    if isinstance(value, str):
        return value.strip() or ABSENT
    raise ValueRejected("string", f"must be a string, got {_describe(value)}")


def to_id_string(value: Any) -> Any:
    """An ID: a trimmed string, or an integer sent as its decimal string (Insider wants strings)."""
    if isinstance(value, str):
        return value.strip() or ABSENT
    if type(value) is int or (isinstance(value, int) and not isinstance(value, bool)):
        return str(int(value))
    raise ValueRejected("string", f"must be a string (or an integer ID), got {_describe(value)}")


def to_text(value: Any) -> Any:
    """A string; numbers are sent as their shortest decimal string (``4.99`` -> ``"4.99"``)."""
    if isinstance(value, str):
        return value.strip() or ABSENT
    if isinstance(value, int) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    raise ValueRejected("string", f"must be a string or a number, got {_describe(value)}")


def to_email(value: Any) -> Any:
    """Insider's email rule ``^.+@.+\\..+$`` after trimming. Case is kept."""
    if not isinstance(value, str):
        raise ValueRejected("email", f"must be an email address string, got {_describe(value)}")
    text = value.strip()
    if not text:
        return ABSENT
    if _EMAIL_RE.fullmatch(text) is None:
        raise ValueRejected("email", f"not a valid email address: {_describe(text)}")
    return text


def to_e164(value: Any) -> Any:
    """E.164 ``^\\+[1-9]\\d{6,14}$`` after removing spaces, dashes and parentheses.

    No country code is ever guessed: a number without a leading ``+`` is rejected.
    """
    if not isinstance(value, str):
        raise ValueRejected("e164", f"must be an E.164 string such as +6598765432, got {_describe(value)}")
    text = _PHONE_SEPARATORS_RE.sub("", value)
    if not text:
        return ABSENT
    if _E164_RE.fullmatch(text) is None:
        raise ValueRejected(
            "e164",
            f"not an E.164 phone number (+ then country code and number, 7 to 15 digits): {_describe(value)}",
        )
    return text


def to_country(value: Any) -> Any:
    """ISO 3166-1 alpha-2 (checked against the assigned codes), uppercased."""
    if isinstance(value, str):
        code = value.strip().upper()
        if not code:
            return ABSENT
        if code in COUNTRY_CODES:
            return code
    raise ValueRejected("iso3166-alpha2", f"not an ISO 3166-1 alpha-2 country code: {_describe(value)}")


@lru_cache(maxsize=1024)
def _language(text: str) -> str | None:
    match = _LANGUAGE_RE.fullmatch(text)
    if match is None:
        return None
    language, script, region = match.groups()
    parts = [language.lower()]
    if script:
        parts.append(script.title())
    if region:
        parts.append(region.upper())
    return "_".join(parts)


def to_language(value: Any) -> Any:
    """Language tag in Insider's form ``en_US``: ``en-US``, ``en_us``, ``EN`` and ``zh-Hant-TW`` are accepted."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return ABSENT
        result = _language(text)
        if result is not None:
            return result
    raise ValueRejected(
        "language",
        f"not a language tag such as en_US (language, optional script, optional region): {_describe(value)}",
    )


def to_currency(value: Any) -> Any:
    """ISO 4217 alphabetic code: three letters, uppercased."""
    if isinstance(value, str):
        code = value.strip().upper()
        if not code:
            return ABSENT
        if _CURRENCY_RE.fullmatch(code) is not None:
            return code
    raise ValueRejected("iso4217", f"not an ISO 4217 currency code (3 letters): {_describe(value)}")


def to_url(value: Any) -> Any:
    """An absolute URL: ``scheme:rest`` without whitespace (app deep links are allowed)."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return ABSENT
        if _URL_RE.fullmatch(text) is not None:
            return text
    raise ValueRejected("url", f"not an absolute URL: {_describe(value)}")


def to_string_list(value: Any) -> Any:
    """A list of strings (``taxonomy``); a single string becomes a one-element list."""
    if isinstance(value, str):
        text = value.strip()
        return [text] if text else ABSENT
    if isinstance(value, list | tuple):
        if all(isinstance(item, str) for item in value):
            return list(value)
        raise ValueRejected("string-list", f"every item must be a string: {_describe(value)}")
    raise ValueRejected("string-list", f"must be a list of strings, got {_describe(value)}")


# --------------------------------------------------------------------------------------------
# Booleans and numbers
# --------------------------------------------------------------------------------------------


def to_boolean(value: Any) -> Any:
    """true/false, 1/0 (number or string), "yes"/"no" (any case) -> bool."""
    if value is True or value is False:
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
        if not word:
            return ABSENT
    elif isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ValueRejected("boolean", f"must be true/false, 1/0 or yes/no, got {_describe(value)}")


def to_integer(value: Any) -> Any:
    """An integer: a JSON integer, an integral finite number or an integer string."""
    if type(value) is int:
        return value
    if isinstance(value, bool):
        raise ValueRejected("integer", f"must be an integer, got {_describe(value)}")
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return int(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return ABSENT
        if _INTEGER_RE.fullmatch(text) is not None:
            return int(text)
    raise ValueRejected("integer", f"must be an integer, got {_describe(value)}")


def to_age(value: Any) -> Any:
    """``age``: a non-negative integer (see :func:`to_integer` for accepted forms)."""
    result = to_integer(value)
    if result is not ABSENT and result < 0:
        raise ValueRejected("integer", f"must be a non-negative integer, got {_describe(value)}")
    return result


def to_number(value: Any) -> Any:
    """A finite number; numeric strings become int (no fraction/exponent) or float."""
    if type(value) is int:
        return value
    if type(value) is float:
        if math.isfinite(value):
            return value
    elif isinstance(value, bool):
        pass
    elif isinstance(value, int):
        return int(value)
    elif isinstance(value, float):
        if math.isfinite(value):
            return float(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return ABSENT
        if _INTEGER_RE.fullmatch(text) is not None:
            return int(text)
        if _NUMBER_RE.fullmatch(text) is not None:
            number = float(text)
            if math.isfinite(number):
                return number
    raise ValueRejected("number", f"must be a finite number, got {_describe(value)}")


def to_int_list(value: Any) -> Any:
    """A list of integers (``static_segment_id``, ``list_id``); a single value becomes a list."""
    if isinstance(value, list | tuple):
        result = []
        for item in value:
            try:
                number = to_integer(item)
            except ValueRejected:
                raise ValueRejected("integer-list", f"every item must be an integer: {_describe(value)}") from None
            if number is ABSENT:
                raise ValueRejected("integer-list", f"every item must be an integer: {_describe(value)}")
            result.append(number)
        return result
    try:
        number = to_integer(value)
    except ValueRejected:
        raise ValueRejected(
            "integer-list", f"must be an integer or a list of integers, got {_describe(value)}"
        ) from None
    return ABSENT if number is ABSENT else [number]


# --------------------------------------------------------------------------------------------
# Date and time (RFC 3339)
# --------------------------------------------------------------------------------------------


def _parse_datetime(text: str) -> tuple[datetime, str, re.Match[str]] | None:
    """Strict RFC 3339 date-time (uppercase ``T`` and ``Z``, seconds required, no leap second)."""
    match = _DATETIME_RE.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zulu, _sign, off_h, off_m = match.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError:
        return None
    if not zulu and (int(off_h) > 23 or int(off_m) > 59):
        return None
    return moment, fraction or "", match


def to_rfc3339(value: Any) -> Any:
    """Event ``timestamp``: RFC 3339 with ``Z`` or a numeric offset; sent exactly as given (trimmed)."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return ABSENT
        if _parse_datetime(text) is not None:
            return text
    raise ValueRejected(
        "rfc3339",
        f"not an RFC 3339 date-time such as 2021-01-10T21:35:20Z or 2021-01-17T14:41:21+03:00: {_describe(value)}",
    )


def to_rfc3339_utc(value: Any) -> Any:
    """``birthday``: RFC 3339 ending in ``Z``.

    A date ``1990-01-01`` becomes ``1990-01-01T00:00:00Z``; a date-time with an offset is
    converted to UTC (which can move the calendar day); fractional seconds are kept.
    """
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return ABSENT
        if len(text) == 10:
            if _DATE_RE.fullmatch(text) is not None:
                try:
                    date(int(text[0:4]), int(text[5:7]), int(text[8:10]))
                except ValueError:
                    pass
                else:
                    return text + "T00:00:00Z"
        else:
            parsed = _parse_datetime(text)
            if parsed is not None:
                moment, fraction, match = parsed
                if match.group(8):  # already Z
                    return text
                offset = timedelta(hours=int(match.group(10)), minutes=int(match.group(11)))
                try:
                    moment = moment - offset if match.group(9) == "+" else moment + offset
                except OverflowError:
                    moment = None
                if moment is not None and 1 <= moment.year <= 9999:
                    return moment.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"
    raise ValueRejected(
        "rfc3339-utc",
        f"not a date (1990-01-01) or RFC 3339 date-time that can be expressed in UTC "
        f"(1990-01-01T00:00:00Z): {_describe(value)}",
    )


# --------------------------------------------------------------------------------------------
# Custom values
# --------------------------------------------------------------------------------------------

_SCALAR_TYPES: Final = (str, bool, int)


def _is_scalar(value: Any) -> bool:
    kind = type(value)
    if kind is str or kind is int or kind is bool:
        return True
    if kind is float or isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, _SCALAR_TYPES)


def to_custom_value(value: Any) -> Any:
    """Custom attribute / parameter value: a JSON scalar or a list of scalars, passed through as given.

    Datetimes are strings and are sent as given. Objects and nested lists are rejected, as are
    values that are not JSON (NaN, infinity, non-JSON Python types) and ``null`` inside a list.
    """
    kind = type(value)
    if kind is str or kind is int or kind is bool:
        return value
    if kind is list or isinstance(value, list | tuple):
        for item in value:
            if not _is_scalar(item):
                if isinstance(item, dict | list | tuple):
                    message = f"lists may only hold scalars, not nested objects or lists: {_describe(value)}"
                else:
                    message = f"lists may only hold strings, numbers or booleans: {_describe(value)}"
                raise ValueRejected("custom-value", message)
        return value if kind is list else list(value)
    if _is_scalar(value):
        return value
    if isinstance(value, dict):
        raise ValueRejected("custom-value", f"nested objects are not allowed: {_describe(value)}")
    raise ValueRejected("custom-value", f"must be a string, number, boolean or a list of those, got {_describe(value)}")


# --------------------------------------------------------------------------------------------
# Converter tables used by the mapper
# --------------------------------------------------------------------------------------------

#: Root identifier -> converter. Custom identifiers use :func:`to_id_string`.
IDENTIFIER_CONVERTERS: Final[dict[str, Converter]] = {
    "uuid": to_id_string,
    "email": to_email,
    "phone_number": to_e164,
}

#: Default attribute -> converter (§2.1).
ATTRIBUTE_CONVERTERS: Final[dict[str, Converter]] = {
    "email": to_email,
    "phone_number": to_e164,
    "email_optin": to_boolean,
    "gdpr_optin": to_boolean,
    "sms_optin": to_boolean,
    "whatsapp_optin": to_boolean,
    "name": to_string,
    "surname": to_string,
    "birthday": to_rfc3339_utc,
    "gender": to_string,
    "age": to_age,
    "language": to_language,
    "country": to_country,
    "city": to_string,
    "static_segment_id": to_int_list,
    "list_id": to_int_list,
    "uuid": to_id_string,
    "lo": to_string,
}

#: Default event parameter -> converter (§4).
PARAM_CONVERTERS: Final[dict[str, Converter]] = {
    "event_group_id": to_id_string,
    "product_id": to_id_string,
    "name": to_string,
    "taxonomy": to_string_list,
    "url": to_url,
    "currency": to_currency,
    "quantity": to_integer,
    "unit_price": to_number,
    "unit_sale_price": to_number,
    "locale": to_string,
    "color": to_string,
    "size": to_id_string,
    "shipping_cost": to_text,
    "promotion_name": to_string,
    "promotion_discount": to_number,
    "stock": to_number,
    "product_image_url": to_url,
    "session_id": to_id_string,
    "campaign_id": to_id_string,
    "campaign_name": to_string,
    "user_agent": to_string,
    "variant_id": to_id_string,
    "referrer": to_string,
}

#: The JSON value a flow sends for a field of each converter: the connector's dynamic schema of the
#: customer fields a mapping reads (``insider_mapping.source_fields_schema``). The converters also take
#: the other forms they document (``"yes"`` for a boolean); a custom value is sent as given, so it has no
#: one type.
VALUE_SCHEMAS: Final[dict[Converter, dict[str, Any]]] = {
    to_string: {"type": "string"},
    to_id_string: {"type": "string"},
    to_text: {"type": "string"},
    to_email: {"type": "string", "format": "email"},
    to_e164: {"type": "string"},
    to_country: {"type": "string"},
    to_language: {"type": "string"},
    to_currency: {"type": "string"},
    to_url: {"type": "string"},
    to_string_list: {"type": "array", "items": {"type": "string"}},
    to_boolean: {"type": "boolean"},
    to_integer: {"type": "integer"},
    to_age: {"type": "integer"},
    to_number: {"type": "number"},
    to_int_list: {"type": "array", "items": {"type": "integer"}},
    to_rfc3339: {"type": "string", "format": "date-time"},
    to_rfc3339_utc: {"type": "string", "format": "date-time"},
    to_custom_value: {},
}
