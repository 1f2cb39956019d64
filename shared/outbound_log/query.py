"""Reading the outbound log: filtered pages, newest first, and single entries with their bodies.

Three query kinds, chosen by the filters (see docs/outbound-logs.md):
- by customer ID: the customer's RowKey range in its `c|<bucket>` index partition (one customer's entries, and
  for a batched Insider request that customer's own slice), then the older `C|<customer>` partition of entries
  written before that layout, with an identifier as an OData filter;
- by identifier: the `I|<identifier>` index partition;
- otherwise: the main day partitions, `PartitionKey ge 'L' and PartitionKey lt 'M'`, newest first.
Time bounds become RowKey bounds (entry ids encode the time) and, for the main scan, day-partition bounds;
status code and target are OData filters; the error substring and `statusCode=none` are applied here.

Every kind returns entities in entry id order, and the id alone orders them (the day partition of a main
entity follows from its id; a customer's RowKeys are the id behind one prefix), so a page that ends mid-way
resumes "after entry x". A page that ends on Azure's page boundary resumes from Azure's own continuation.
Both live in one opaque token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables.aio import TableClient

from shared.outbound_log.writer import (
    MAX_MS,
    SUMMARY_FIELDS,
    customer_index_key,
    day_partition,
    entry_id_of,
    entry_time_ms,
    identifier_partition,
    legacy_customer_partition,
)
from shared.personal_data import ERASED_AT
from shared.web.problems import FieldError, bad_request, not_found

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_KEY_LENGTH = 256  # identifier / customer ID: percent-encoded, a PartitionKey holds 1 KiB
MAX_ERROR_LENGTH = 500
# Client-side filters (error substring, statusCode=none) read more than they return; per request they
# read pages of at least this many entities, and stop at the read budget or round-trip cap with a token.
CLIENT_FILTER_PAGE_SIZE = 100
SERVER_PAGE_MAX = 1000  # Table storage returns at most 1,000 entities per request
READ_BUDGET = 1000
MAX_ROUND_TRIPS = 20
TARGETS = ("inquba", "insider")
ENTRY_ID = re.compile(r"\d{13}-[0-9a-f]{10}")
LIST_COLUMNS = ["PartitionKey", "RowKey", *SUMMARY_FIELDS, "CustomerCount", ERASED_AT]
QueryKind = Literal["customer", "identifier", "scan"]


@dataclass(frozen=True)
class StatusFilter:
    """`404` (exact), `5xx` (a class) or `none` (no response: a network error or timeout)."""

    kind: Literal["exact", "class", "none"]
    code: int = 0  # the code, or the class's first code (500 for 5xx)

    @classmethod
    def parse(cls, text: str) -> StatusFilter:
        value = text.strip().lower()
        if value == "none":
            return cls("none")
        if re.fullmatch(r"[1-5]xx", value):
            return cls("class", int(value[0]) * 100)
        if re.fullmatch(r"[1-5]\d\d", value):
            return cls("exact", int(value))
        raise ValueError("must be an HTTP status code (404), a class (4xx, 5xx) or none")

    def odata(self) -> str | None:
        if self.kind == "exact":
            return f"StatusCode eq {self.code}"
        if self.kind == "class":
            return f"StatusCode ge {self.code} and StatusCode lt {self.code + 100}"
        return None  # an absent property cannot be filtered for in OData: checked client-side

    def matches(self, status: int | None) -> bool:
        if self.kind == "none":
            return status is None
        if status is None:
            return False
        return status == self.code if self.kind == "exact" else self.code <= status < self.code + 100

    def __str__(self) -> str:
        return {"none": "none", "class": f"{self.code // 100}xx"}.get(self.kind, str(self.code))


@dataclass(frozen=True)
class LogQuery:
    identifier: str | None = None
    customer_id: str | None = None
    error: str | None = None
    status: StatusFilter | None = None
    target: str | None = None
    from_time: datetime | None = None
    to_time: datetime | None = None
    limit: int = DEFAULT_LIMIT
    continuation_token: str | None = None

    @property
    def kind(self) -> QueryKind:
        if self.customer_id:
            return "customer"
        return "identifier" if self.identifier else "scan"

    @property
    def filters_client_side(self) -> bool:
        return bool(self.error) or (self.status is not None and self.status.kind == "none")

    def fingerprint(self) -> str:
        """Ties a continuation token to the filters it was issued for."""
        parts = [self.identifier, self.customer_id, self.error and self.error.lower(), self.status and str(self.status),
                 self.target, _iso(self.from_time), _iso(self.to_time)]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:12]


@dataclass
class LogPage:
    items: list[dict[str, Any]]
    continuation_token: str | None
    entities_read: int
    round_trips: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"items": self.items, "continuationToken": self.continuation_token, "entitiesRead": self.entities_read}


@dataclass
class _Cursor:
    after: str | None = None  # resume strictly after this RowKey
    segment: int = 0  # which query of the plan
    azure: dict[str, Any] | None = field(default=None)  # Azure's continuation within that query


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# RFC 3339 date-times (T and Z in either case; any fraction), dates, and date-times without an offset (UTC).
_MOMENT = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.]([0-9]+))?)?"
                     r"([Zz]|[+-][0-9]{2}:[0-9]{2})?)?")


def _parse_time(text: str) -> datetime:
    """As the document says (LogQueryParameters.from): a leap second is the second before it; a time beyond the
    years a datetime holds, once in UTC, is the first or last it holds (both outside the log's years anyway)."""
    match = _MOMENT.fullmatch(text.strip())
    try:
        if match is None:
            raise ValueError
        year, month, day, hour, minute, second, fraction, offset = match.groups()
        zone = UTC
        if offset and offset not in "Zz":
            hours, minutes = int(offset[1:3]), int(offset[4:6])
            if hours > 23 or minutes > 59:
                raise ValueError
            zone = timezone((-1 if offset[0] == "-" else 1) * timedelta(hours=hours, minutes=minutes))
        moment = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                          min(int(second or 0), 59), int((fraction or "")[:6].ljust(6, "0")), zone)
    except ValueError:
        raise ValueError("must be an RFC 3339 date-time, such as 2026-01-31T12:00:00Z, or a date") from None
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        return (datetime.min if moment.year == 1 else datetime.max).replace(tzinfo=UTC)


def _text(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name)
    return value.strip() if value is not None and value.strip() else None


def _time_range(params: Mapping[str, str], errors: list[FieldError]) -> tuple[datetime | None, datetime | None]:
    """``from`` and ``to`` (each optional), and that they are in order."""
    times: dict[str, datetime | None] = {"from": None, "to": None}
    for name in times:
        if (text := _text(params, name)) is not None:
            try:
                times[name] = _parse_time(text)
            except ValueError as exc:
                errors.append(FieldError(name, str(exc)))
    if times["from"] and times["to"] and times["from"] > times["to"]:
        errors.append(FieldError("from", "must not be later than to"))
    return times["from"], times["to"]


def _limit(params: Mapping[str, str], errors: list[FieldError]) -> int:
    limit_text = _text(params, "limit")
    if limit_text is None:
        return DEFAULT_LIMIT
    # ASCII digits only: str.isdigit() takes "²", which int() refuses, and int() refuses 4,300+ digits.
    if not re.fullmatch(r"0*[0-9]{1,3}", limit_text) or not 1 <= int(limit_text) <= MAX_LIMIT:
        errors.append(FieldError("limit", f"must be a whole number from 1 to {MAX_LIMIT}"))
        return DEFAULT_LIMIT
    return int(limit_text)


def parse_query(params: Mapping[str, str]) -> LogQuery:
    """The list route's query parameters; every bad one named in one 400 problem. Empty ones are absent."""
    errors: list[FieldError] = []
    identifier, customer_id = _text(params, "identifier"), _text(params, "customerId")
    for name, value in (("identifier", identifier), ("customerId", customer_id)):
        if value is not None and len(value) > MAX_KEY_LENGTH:
            errors.append(FieldError(name, f"must be at most {MAX_KEY_LENGTH} characters"))
    error = _text(params, "error")
    if error is not None and len(error) > MAX_ERROR_LENGTH:
        errors.append(FieldError("error", f"must be at most {MAX_ERROR_LENGTH} characters"))
    status = None
    if (status_text := _text(params, "statusCode")) is not None:
        try:
            status = StatusFilter.parse(status_text)
        except ValueError as exc:
            errors.append(FieldError("statusCode", str(exc)))
    target = _text(params, "target")
    if target is not None:
        target = target.lower()
        if target not in TARGETS:
            errors.append(FieldError("target", f"must be one of {', '.join(TARGETS)}"))
    start, end = _time_range(params, errors)
    limit = _limit(params, errors)
    query = LogQuery(identifier, customer_id, error, status, target, start, end, limit,
                     _text(params, "continuationToken"))
    if query.continuation_token is not None and not errors:
        try:
            decode_token(query.continuation_token, query)
        except ValueError as exc:
            errors.append(FieldError("continuationToken", str(exc)))
    if errors:
        raise bad_request("invalid query parameters", errors)
    return query


def encode_token(cursor: _Cursor, query: LogQuery) -> str:
    data = {"v": 1, "f": query.fingerprint(), "a": cursor.after, "s": cursor.segment, "c": cursor.azure}
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_token(token: str, query: LogQuery) -> _Cursor:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("is not a continuation token issued by this API") from None
    if not isinstance(data, dict) or data.get("v") != 1:
        raise ValueError("is not a continuation token issued by this API")
    if data.get("f") != query.fingerprint():
        raise ValueError("was issued for other filters: repeat the search without it")
    after, segment, azure = data.get("a"), data.get("s"), data.get("c")
    if (after is not None and not (isinstance(after, str) and ENTRY_ID.fullmatch(after))) or not (
        isinstance(segment, int) and 0 <= segment <= 1 and (azure is None or isinstance(azure, dict))
    ):
        raise ValueError("is not a continuation token issued by this API")
    return _Cursor(after, segment, azure)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _to_ms(moment: datetime, rounding: Literal["floor", "ceil"]) -> int:
    """Epoch milliseconds, within the ids' range (13 digits: RowKey bounds compare as text)."""
    ms = moment.timestamp() * 1000
    return min(max(math.ceil(ms) if rounding == "ceil" else math.floor(ms), 1), MAX_MS)


def _row_bounds(query: LogQuery, after: str | None, prefix: str = "") -> list[str]:
    """RowKey bounds from the time range and the position `after`, for RowKeys that are `prefix` + entry id."""
    bounds = [f"RowKey ge {_literal(prefix)}", f"RowKey lt {_literal(prefix + '~')}"] if prefix else []
    if query.to_time is not None:  # ids invert the time: at or before `to` is RowKey at or after this
        newest = MAX_MS - _to_ms(query.to_time, "floor")
        bounds.append(f"RowKey ge {_literal(f'{prefix}{newest:013d}')}")
    if query.from_time is not None:
        oldest = MAX_MS - _to_ms(query.from_time, "ceil") + 1
        bounds.append(f"RowKey lt {_literal(f'{prefix}{oldest:013d}')}")
    if after is not None:
        bounds.append(f"RowKey gt {_literal(prefix + after)}")
    return bounds


def plan(query: LogQuery, after: str | None) -> list[str]:
    """The OData filters to run in order, from position `after` (exclusive) on."""
    filters: list[str] = []
    if query.status is not None and (status_filter := query.status.odata()):
        filters.append(status_filter)
    if query.target is not None:
        filters.append(f"Target eq {_literal(query.target)}")
    if query.customer_id:
        if query.identifier:
            filters.append(f"Identifier eq {_literal(query.identifier)}")
        partition, prefix = customer_index_key(query.customer_id, "")
        # The bucketed layout first: everything in it is newer than the legacy partition's entries.
        return [
            " and ".join([f"PartitionKey eq {_literal(partition)}", *_row_bounds(query, after, prefix), *filters]),
            " and ".join([f"PartitionKey eq {_literal(legacy_customer_partition(query.customer_id))}",
                          *_row_bounds(query, after), *filters]),
        ]
    common = [*_row_bounds(query, after), *filters]
    if query.identifier:
        return [" and ".join([f"PartitionKey eq {_literal(identifier_partition(query.identifier))}", *common])]
    newest = day_partition(_to_ms(query.to_time, "floor")) if query.to_time is not None else "L"
    upper = (f"PartitionKey le '{day_partition(_to_ms(query.from_time, 'ceil'))}'" if query.from_time is not None
             else "PartitionKey lt 'M'")
    if after is None:
        return [" and ".join([f"PartitionKey ge '{newest}'", upper, *common])]
    # Resume in the day partition of `after` (a seek within one partition), then the older days.
    day = day_partition(entry_time_ms(after))
    return [
        " and ".join([f"PartitionKey eq '{day}'", *common]),
        " and ".join([f"PartitionKey gt '{day}'", upper, *common]),
    ]


def _timestamp(entity: Mapping[str, Any]) -> str:
    value = entity.get("Timestamp_")
    if isinstance(value, datetime):
        return _iso(value if value.tzinfo else value.replace(tzinfo=UTC)) or ""
    return _iso(datetime.fromtimestamp(entry_time_ms(entity["RowKey"]) / 1000, UTC)) or ""


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def item(entity: Mapping[str, Any]) -> dict[str, Any]:
    """An entity (main or index) as the API's entry object."""
    response_time = entity.get("ResponseTimeSeconds")
    return {
        "id": entry_id_of(entity["RowKey"]),
        "timestamp": _timestamp(entity),
        "target": entity.get("Target"),
        "operation": entity.get("Operation"),
        "method": entity.get("Method"),
        "url": entity.get("Url"),
        "customerId": entity.get("CustomerId"),
        "customerName": entity.get("CustomerName"),
        "statusCode": _int(entity.get("StatusCode")),
        "responseTimeSeconds": float(response_time) if isinstance(response_time, int | float) else None,
        "error": entity.get("Error"),
        "identifier": entity.get("Identifier"),
        "attempt": _int(entity.get("Attempt")),
        "customerCount": _int(entity.get("CustomerCount")),
        "erasedAt": _iso(erased) if isinstance(erased := entity.get(ERASED_AT), datetime) else None,
    }


def _matches(query: LogQuery, entity: Mapping[str, Any]) -> bool:
    if query.status is not None and not query.status.matches(_int(entity.get("StatusCode"))):
        return False
    if query.error:
        return query.error.casefold() in str(entity.get("Error") or "").casefold()
    return True


async def query_log(table: TableClient, query: LogQuery) -> LogPage:
    """One page of entries, newest first; `entities_read` counts every entity the service returned."""
    cursor = decode_token(query.continuation_token, query) if query.continuation_token else _Cursor()
    items: list[dict[str, Any]] = []
    read = trips = 0
    while True:
        filters = plan(query, cursor.after)
        if cursor.segment >= len(filters):
            return LogPage(items, None, read, trips)
        remaining = query.limit - len(items)
        size = remaining
        if query.filters_client_side:
            size = min(SERVER_PAGE_MAX, max(remaining, CLIENT_FILTER_PAGE_SIZE))
        pages = table.query_entities(filters[cursor.segment], results_per_page=size, select=LIST_COLUMNS).by_page(
            continuation_token=cursor.azure
        )
        try:
            page = await anext(pages)
            entities = [e async for e in page]
        except StopAsyncIteration:
            entities = []
        trips += 1
        for index, entity in enumerate(entities):
            read += 1
            if _matches(query, entity):
                items.append(item(entity))
                if len(items) >= query.limit and index < len(entities) - 1:  # full mid-page: resume after it
                    return LogPage(items, encode_token(_Cursor(entry_id_of(entity["RowKey"])), query), read, trips)
        next_azure = pages.continuation_token or None
        cursor = (_Cursor(cursor.after, cursor.segment, next_azure) if next_azure
                  else _Cursor(cursor.after, cursor.segment + 1, None))
        if cursor.segment >= len(plan(query, cursor.after)):
            return LogPage(items, None, read, trips)
        if len(items) >= query.limit or read >= READ_BUDGET or trips >= MAX_ROUND_TRIPS:
            return LogPage(items, encode_token(cursor, query), read, trips)


def parse_entry_id(entry_id: str) -> str:
    if not ENTRY_ID.fullmatch(entry_id):
        raise bad_request("malformed entry id", [FieldError("id", "must be an entry id such as "
                                                             "8230386423999-1f2e3d4c5b (13 digits, -, 10 hex digits)")])
    return entry_id


async def _point_read(table: TableClient, partition: str, row: str) -> dict[str, Any] | None:
    try:
        return dict(await table.get_entity(partition, row))
    except ResourceNotFoundError:
        return None


async def read_entry(table: TableClient, entry_id: str, customer_id: str | None = None) -> dict[str, Any]:
    """One entry with its bodies: the main entity, or with `customer_id` that customer's index entity.

    A customer's slice (batched Insider requests) carries its own request slice, result and error;
    a body the slice lacks comes from the main entity. One point read, two when falling back (three for an
    entry written before the bucketed customer index).
    """
    parse_entry_id(entry_id)
    main_partition = day_partition(entry_time_ms(entry_id))
    read = 0
    main: dict[str, Any] | None = None
    if customer_id:
        if len(customer_id) > MAX_KEY_LENGTH:
            raise bad_request("invalid customerId",
                              [FieldError("customerId", f"must be at most {MAX_KEY_LENGTH} characters")])
        source = await _point_read(table, *customer_index_key(customer_id, entry_id))
        read += 1
        if source is None:  # written before the bucketed customer index
            source = await _point_read(table, legacy_customer_partition(customer_id), entry_id)
            read += 1
        if source is None:
            raise not_found(f"no outbound log entry {entry_id} for customer {customer_id}")
    else:
        source = main = await _point_read(table, main_partition, entry_id)
        read += 1
        if source is None:
            raise not_found(f"no outbound log entry {entry_id}")
    request_body, response_body = source.get("RequestBody"), source.get("ResponseBody")
    scopes = ["customer" if request_body is not None and main is None else "request",
              "customer" if response_body is not None and main is None else "request"]
    if main is None and (request_body is None or response_body is None):
        main = await _point_read(table, main_partition, entry_id)
        read += 1
        if main is not None:
            request_body = main.get("RequestBody") if request_body is None else request_body
            response_body = main.get("ResponseBody") if response_body is None else response_body
    result = item(source)
    if main is not None and result["customerCount"] is None:
        result["customerCount"] = _int(main.get("CustomerCount"))
    result.update(requestBody=request_body, responseBody=response_body, requestBodyScope=scopes[0],
                  responseBodyScope=scopes[1], entitiesRead=read)
    return result
