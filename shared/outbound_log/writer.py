"""The outbound log: one Table Storage entry per request sent to inQuba or Insider.

Keys (see docs/table-design.md):
- entry id  = 13-digit inverted epoch milliseconds + random suffix, so ids sort newest first;
- main      PartitionKey "L" + inverted UTC day (yyyymmdd), RowKey = id: a scan reads newest first,
            and retention deletes whole old days;
- identifier index  PartitionKey "I|<identifier>", RowKey = id;
- customer index    PartitionKey "c|<bucket>" (one of 16, by a hash of the customer id), RowKey
            "<customer id>|<id>": a customer's entries are one RowKey range, newest first, and the slices of a
            batched Insider request (one per customer) share 16 partitions, so they are written in entity group
            transactions (about 16 requests per 1,000 customers instead of 1,000). Entries written before this
            layout are in "C|<customer id>" partitions (RowKey = id); lookups and retention still read them.
Both indexes carry the summary columns, so a lookup by identifier or customer reads only the entries it returns.
Bodies are redacted before they get here and truncated to what a Table property holds.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
import time
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from azure.data.tables.aio import TableClient
from azure.storage.queue.aio import QueueClient

from shared.table_transactions import GroupCommitUpserts

logger = logging.getLogger(__name__)

MAX_MS = 9_999_999_999_999
MAX_DAY = 99_999_999
BODY_LIMIT_CHARS = 30_000  # a Table string property holds 32K UTF-16 code units
RETRY_BODY_LIMIT_CHARS = 12_000  # a queue message holds 64 KiB, base64-encoded
# A batched entry's customers, as comma-joined `key_part`s, split over CustomerKeys, CustomerKeys1, ...
# so retention finds each `C|` slice with point deletes instead of a scan.
CUSTOMER_KEYS_COLUMN = "CustomerKeys"
MAX_CUSTOMER_KEYS_COLUMNS = 8
WRITE_TIMEOUT_SECONDS = 10.0
# On a customer index entity only: the batch whose item holds that customer's payload, so that erasing the
# customer finds the batch item from its log entries (docs/outbound-logs.md, "Erasure").
BATCH_ID_COLUMN = "BatchId"
SUMMARY_FIELDS = (
    "Timestamp_",
    "Target",
    "Operation",
    "Method",
    "Url",
    "CustomerId",
    "CustomerName",
    "StatusCode",
    "ResponseTimeSeconds",
    "Error",
    "Identifier",
    "Attempt",
)


def truncate(text: str | None, limit: int = BODY_LIMIT_CHARS) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[:limit] + f"…[truncated {len(text) - limit} characters]"


def key_part(value: str) -> str:
    """A value made safe for PartitionKey/RowKey (no / \\ # ? or control characters), reversibly."""
    return quote(value, safe="")


def new_entry_id(epoch_ms: int) -> str:
    return f"{MAX_MS - epoch_ms:013d}-{secrets.token_hex(5)}"


def entry_time_ms(entry_id: str) -> int:
    return MAX_MS - int(entry_id[:13])


def day_partition(epoch_ms: int) -> str:
    day = int(datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%Y%m%d"))
    return f"L{MAX_DAY - day:08d}"


def customer_keys_columns(customer_ids: list[str]) -> dict[str, str]:
    """The main entity's record of a batch's customers; past the column limit retention falls back to a scan."""
    joined = ",".join(key_part(c) for c in customer_ids)
    chunks = [joined[i : i + BODY_LIMIT_CHARS] for i in range(0, len(joined), BODY_LIMIT_CHARS)]
    return {
        CUSTOMER_KEYS_COLUMN + (str(i) if i else ""): chunk
        for i, chunk in enumerate(chunks[:MAX_CUSTOMER_KEYS_COLUMNS])
    }


def identifier_partition(identifier: str) -> str:
    return "I|" + key_part(identifier)


# The customer index (docs/table-design.md). A main entity with customers written with this layout says so, so
# that retention deletes its index entities by the right keys.
CUSTOMER_BUCKETS = 16
CUSTOMER_INDEX_COLUMN = "CustomerIndex"
CUSTOMER_INDEX_BUCKETED = 2
_MAX_ROW_PREFIX = 480  # a RowKey holds 512 UTF-16 code units; the entry id and its separator take 25


def customer_row_prefix(part: str) -> str:
    """The RowKey prefix of a customer (given as its `key_part`); a very long one is shortened with its hash."""
    if len(part) > _MAX_ROW_PREFIX:
        part = part[:_MAX_ROW_PREFIX - 41] + "~" + hashlib.sha256(part.encode()).hexdigest()[:40]
    return part + "|"


def customer_index_key_of_part(part: str, entry_id: str) -> tuple[str, str]:
    """(PartitionKey, RowKey) of a customer's index entity, the customer given as its `key_part`."""
    return f"c|{zlib.crc32(part.encode()) % CUSTOMER_BUCKETS:02x}", customer_row_prefix(part) + entry_id


def customer_index_key(customer_id: str, entry_id: str) -> tuple[str, str]:
    """(PartitionKey, RowKey) of `customer_id`'s index entity for the entry `entry_id`."""
    return customer_index_key_of_part(key_part(customer_id), entry_id)


def customer_index_filter(customer_id: str) -> str:
    """OData filter for every index entity of `customer_id` (one RowKey range of one partition)."""
    partition, prefix = customer_index_key(customer_id, "")
    return f"PartitionKey eq '{partition}' and RowKey ge '{prefix}' and RowKey lt '{prefix}~'"


def legacy_customer_partition(customer_id: str) -> str:
    """Where entries written before the bucketed layout keep `customer_id`'s index entities (RowKey = id)."""
    return "C|" + key_part(customer_id)


def entry_id_of(row_key: str) -> str:
    """The entry id in the RowKey of a main or index entity (a customer index RowKey starts with the customer)."""
    return row_key.rpartition("|")[2]


@dataclass
class CustomerSlice:
    """One customer's part of a batched request (Insider): its own request slice, result and error."""

    customer_id: str
    customer_name: str | None = None
    request_body: str | None = None
    result: str | None = None
    error: str | None = None
    batch_id: str | None = None  # the batch or queued request this customer's item belongs to


@dataclass
class OutboundLogEntry:
    target: str
    operation: str
    method: str
    url: str
    status_code: int | None
    response_time_seconds: float
    error: str | None
    identifier: str | None
    attempt: int = 1
    customer_id: str | None = None
    customer_name: str | None = None
    request_body: str | None = None
    response_body: str | None = None
    epoch_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    id: str = ""
    customers: list[CustomerSlice] = field(default_factory=list)
    batch_id: str | None = None  # a single customer's batch: its batch item holds the payload (erasure finds it)

    def __post_init__(self) -> None:
        if not self.id:
            self.id = new_entry_id(self.epoch_ms)

    @property
    def timestamp(self) -> datetime:
        return datetime.fromtimestamp(self.epoch_ms / 1000, UTC)

    def to_json(self, body_limit: int = RETRY_BODY_LIMIT_CHARS) -> str:
        data = asdict(self)
        data["request_body"] = truncate(self.request_body, body_limit)
        data["response_body"] = truncate(self.response_body, body_limit)
        for slice_ in data["customers"]:
            slice_["request_body"] = truncate(slice_["request_body"], body_limit // 4)
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> OutboundLogEntry:
        data = json.loads(text)
        data["customers"] = [CustomerSlice(**c) for c in data.get("customers", [])]
        return cls(**data)


def _summary(entry: OutboundLogEntry) -> dict[str, Any]:
    return {
        "Timestamp_": entry.timestamp,
        "Target": entry.target,
        "Operation": entry.operation,
        "Method": entry.method,
        "Url": entry.url,
        "CustomerId": entry.customer_id,
        "CustomerName": entry.customer_name,
        "StatusCode": entry.status_code,
        "ResponseTimeSeconds": round(entry.response_time_seconds, 4),
        "Error": truncate(entry.error, 4_000),
        "Identifier": entry.identifier,
        "Attempt": entry.attempt,
    }


def entities(entry: OutboundLogEntry) -> list[dict[str, Any]]:
    """The main entity and its index entities; None-valued columns are left out."""
    summary = _summary(entry)
    main = {
        "PartitionKey": day_partition(entry.epoch_ms),
        "RowKey": entry.id,
        **summary,
        "RequestBody": truncate(entry.request_body),
        "ResponseBody": truncate(entry.response_body),
        "CustomerCount": len(entry.customers) or (1 if entry.customer_id else 0),
        **customer_keys_columns([c.customer_id for c in entry.customers]),
        CUSTOMER_INDEX_COLUMN: CUSTOMER_INDEX_BUCKETED if entry.customers or entry.customer_id else None,
    }
    result = [main]
    if entry.identifier:
        result.append({"PartitionKey": identifier_partition(entry.identifier), "RowKey": entry.id, **summary})
    if entry.customers:
        for slice_ in entry.customers:
            partition, row = customer_index_key(slice_.customer_id, entry.id)
            result.append(
                {
                    "PartitionKey": partition,
                    "RowKey": row,
                    **summary,
                    "CustomerId": slice_.customer_id,
                    "CustomerName": slice_.customer_name,
                    "Error": truncate(slice_.error, 4_000),
                    "RequestBody": truncate(slice_.request_body),
                    "ResponseBody": truncate(slice_.result),
                    BATCH_ID_COLUMN: slice_.batch_id,
                }
            )
    elif entry.customer_id:
        partition, row = customer_index_key(entry.customer_id, entry.id)
        result.append({"PartitionKey": partition, "RowKey": row, **summary, BATCH_ID_COLUMN: entry.batch_id})
    return [{k: v for k, v in e.items() if v is not None} for e in result]


class OutboundLog:
    """Writes entries; a failed write goes to the retry queue instead of being forgotten."""

    def __init__(
        self,
        table: TableClient,
        retry_queue: QueueClient | None,
        write_timeout: float = WRITE_TIMEOUT_SECONDS,
        on_lost: Callable[[OutboundLogEntry, BaseException], None] | None = None,
    ) -> None:
        self.table = table
        self.writer = GroupCommitUpserts(table)
        self.retry_queue = retry_queue
        self.write_timeout = write_timeout
        self.on_lost = on_lost

    async def write(self, entry: OutboundLogEntry) -> None:
        """Upsert every entity of the entry; idempotent, so a retried write leaves one entry.

        Written with other requests' entries: the day's main entities go in one transaction (docs/table-design.md).
        """
        await self.writer.upsert(entities(entry))

    async def record(self, entry: OutboundLogEntry) -> None:
        """Write the entry, or hand it to the retry queue; never raises into the delivery."""
        try:
            await asyncio.wait_for(self.write(entry), self.write_timeout)
            return
        except Exception as exc:  # any storage failure takes the retry path
            first_error: BaseException = exc
        logger.warning(
            "outbound log write failed (%s); queued for retry: id=%s identifier=%s",
            type(first_error).__name__, entry.id, entry.identifier,
        )
        if self.retry_queue is not None:
            try:
                await asyncio.wait_for(self.retry_queue.send_message(entry.to_json()), self.write_timeout)
                return
            except Exception as exc:  # any storage failure takes the retry path
                first_error = exc
        logger.error(
            "outbound log entry lost after write and retry-queue failures: id=%s identifier=%s target=%s status=%s",
            entry.id, entry.identifier, entry.target, entry.status_code,
        )
        if self.on_lost is not None:
            self.on_lost(entry, first_error)
