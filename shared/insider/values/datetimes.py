"""Date and time: RFC 3339 event timestamps (sent as given) and birthdays (converted to UTC)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, Final

from shared.insider.values import ABSENT, ValueRejected, describe

__all__ = ["to_rfc3339", "to_rfc3339_utc"]

_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_DATETIME_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})", re.ASCII
)
_THIRTY_DAY_MONTHS: Final = frozenset({"04", "06", "09", "11"})

# The checks below compare the two-digit fields as strings ("01" <= month <= "12"): the patterns have
# made sure they are ASCII digits, and this is several times faster than building a datetime per value.


def _is_date(year: str, month: str, day: str) -> bool:
    """A calendar date of years 0001-9999 (what ``datetime.date`` takes), leap years included."""
    if year == "0000" or not "01" <= month <= "12" or not "01" <= day <= "31":
        return False
    if day <= "28":
        return True
    if month == "02":
        number = int(year)
        return day == "29" and number % 4 == 0 and (number % 100 != 0 or number % 400 == 0)
    return day <= ("30" if month in _THIRTY_DAY_MONTHS else "31")


def _is_datetime(text: str) -> bool:
    """Strict RFC 3339 date-time (uppercase ``T`` and ``Z``, seconds required, no leap second, offset <= 23:59)."""
    if _DATETIME_RE.fullmatch(text) is None or not _is_date(text[0:4], text[5:7], text[8:10]):
        return False
    if text[11:13] > "23" or text[14:16] > "59" or text[17:19] > "59":
        return False
    return text[-1] == "Z" or (text[-5:-3] <= "23" and text[-2:] <= "59")


def to_rfc3339(value: Any) -> Any:
    """Event ``timestamp``: RFC 3339 with ``Z`` or a numeric offset; sent exactly as given (trimmed)."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return ABSENT
        if _is_datetime(text):
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
            if _DATE_RE.fullmatch(text) is not None and _is_date(text[0:4], text[5:7], text[8:10]):
                return text + "T00:00:00Z"
        elif _is_datetime(text):
            utc = text if text[-1] == "Z" else _in_utc(text)
            if utc is not None:
                return utc
    raise ValueRejected(
        "rfc3339-utc",
        f"not a date (1990-01-01) or RFC 3339 date-time that can be expressed in UTC "
        f"(1990-01-01T00:00:00Z): {describe(value)}",
    )


def _in_utc(text: str) -> str | None:
    """A valid date-time with an offset, in UTC (fraction kept); None when UTC falls outside years 1-9999."""
    moment = datetime(int(text[0:4]), int(text[5:7]), int(text[8:10]), int(text[11:13]), int(text[14:16]),
                      int(text[17:19]))
    offset = timedelta(hours=int(text[-5:-3]), minutes=int(text[-2:]))
    try:
        moment = moment - offset if text[-6] == "+" else moment + offset
    except OverflowError:
        return None
    fraction = text[19:-6]  # "" or ".123"
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"
