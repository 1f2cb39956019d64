"""Date and time: RFC 3339 event timestamps (sent as given) and birthdays (converted to UTC)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from shared.insider.values import ABSENT, ValueRejected, describe

__all__ = ["to_rfc3339", "to_rfc3339_utc"]

_DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII)
_DATETIME_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?(?:(Z)|([+-])([0-9]{2}):([0-9]{2}))",
    re.ASCII,
)


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
        f"not an RFC 3339 date-time such as 2021-01-10T21:35:20Z or 2021-01-17T14:41:21+03:00: {describe(value)}",
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
        f"(1990-01-01T00:00:00Z): {describe(value)}",
    )
