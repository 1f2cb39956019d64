"""Text values: strings, IDs, email, E.164 phone numbers, country, language, currency, URLs, string lists.

Patterns are ASCII only: a Unicode digit class would also accept other scripts' digits.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any, Final

from shared.insider.values import ABSENT, ValueRejected, describe

__all__ = [
    "COUNTRY_CODES",
    "to_country",
    "to_currency",
    "to_e164",
    "to_email",
    "to_id_string",
    "to_language",
    "to_string",
    "to_string_list",
    "to_text",
    "to_url",
]

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

_A = re.ASCII
_EMAIL_RE = re.compile(r".+@.+\..+")  # Insider's own rule, §1.3 (used with fullmatch)
_E164_RE = re.compile(r"\+[1-9][0-9]{6,14}", _A)
_PHONE_SEPARATORS_RE = re.compile(r"[\s()\-]+")
_LANGUAGE_RE = re.compile(r"([A-Za-z]{2,3})(?:[-_]([A-Za-z]{4}))?(?:[-_]([A-Za-z]{2}|[0-9]{3}))?", _A)
_URL_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+", _A)


def to_string(value: Any) -> Any:
    """A string, trimmed. Blank -> ABSENT."""
    if isinstance(value, str):
        return value.strip() or ABSENT
    raise ValueRejected("string", f"must be a string, got {describe(value)}")


def to_id_string(value: Any) -> Any:
    """An ID: a trimmed string, or an integer sent as its decimal string (Insider wants strings)."""
    if isinstance(value, str):
        return value.strip() or ABSENT
    if type(value) is int or (isinstance(value, int) and not isinstance(value, bool)):
        return str(int(value))
    raise ValueRejected("string", f"must be a string (or an integer ID), got {describe(value)}")


def to_text(value: Any) -> Any:
    """A string; numbers are sent as their shortest decimal string (``4.99`` -> ``"4.99"``)."""
    if isinstance(value, str):
        return value.strip() or ABSENT
    if isinstance(value, int) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    raise ValueRejected("string", f"must be a string or a number, got {describe(value)}")


def to_email(value: Any) -> Any:
    """Insider's email rule ``^.+@.+\\..+$`` after trimming. Case is kept."""
    if not isinstance(value, str):
        raise ValueRejected("email", f"must be an email address string, got {describe(value)}")
    text = value.strip()
    if not text:
        return ABSENT
    if _EMAIL_RE.fullmatch(text) is None:
        raise ValueRejected("email", f"not a valid email address: {describe(text)}")
    return text


def to_e164(value: Any) -> Any:
    """E.164 ``^\\+[1-9]\\d{6,14}$`` after removing spaces, dashes and parentheses.

    No country code is ever guessed: a number without a leading ``+`` is rejected.
    """
    if not isinstance(value, str):
        raise ValueRejected("e164", f"must be an E.164 string such as +6598765432, got {describe(value)}")
    text = _PHONE_SEPARATORS_RE.sub("", value)
    if not text:
        return ABSENT
    if _E164_RE.fullmatch(text) is None:
        raise ValueRejected(
            "e164",
            f"not an E.164 phone number (+ then country code and number, 7 to 15 digits): {describe(value)}",
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
    raise ValueRejected("iso3166-alpha2", f"not an ISO 3166-1 alpha-2 country code: {describe(value)}")


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
        f"not a language tag such as en_US (language, optional script, optional region): {describe(value)}",
    )


def to_currency(value: Any) -> Any:
    """ISO 4217 alphabetic code: three letters, uppercased."""
    if isinstance(value, str):
        code = value.strip().upper()
        if not code:
            return ABSENT
        if len(code) == 3 and code.isascii() and code.isalpha():  # [A-Z]{3}: upper() left no a-z
            return code
    raise ValueRejected("iso4217", f"not an ISO 4217 currency code (3 letters): {describe(value)}")


def to_url(value: Any) -> Any:
    """An absolute URL: ``scheme:rest`` without whitespace (app deep links are allowed)."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return ABSENT
        if _URL_RE.fullmatch(text) is not None:
            return text
    raise ValueRejected("url", f"not an absolute URL: {describe(value)}")


def to_string_list(value: Any) -> Any:
    """A list of strings (``taxonomy``); a single string becomes a one-element list."""
    if isinstance(value, str):
        text = value.strip()
        return [text] if text else ABSENT
    if isinstance(value, list | tuple):
        if all(isinstance(item, str) for item in value):
            return list(value)
        raise ValueRejected("string-list", f"every item must be a string: {describe(value)}")
    raise ValueRejected("string-list", f"must be a list of strings, got {describe(value)}")
