"""Retention: delete outbound log entries older than OUTBOUND_LOG_RETENTION_DAYS, with their index entities.

Expired main entities are found by key range alone: the day partitions at or older than the cutoff day
(`PartitionKey ge '<cutoff day>' and PartitionKey lt 'M'`) and, because ids invert the time, a RowKey
lower bound that excludes every entry newer than the cutoff, so newer entries are never read or touched.
Each main entity names its index entities: `I|<Identifier>`, its `CustomerId`, and for a batched Insider
request the `CustomerKeys` columns; its `CustomerIndex` column says whether those are in the bucketed customer
index or, written before it, in `C|<customer>` partitions. Index entities go first and the main entity last,
so a run that stops
half-way leaves the main entity for the next run to find again. A run deletes at most `max_entities`
entities, in transactions of at most 100 per partition.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from azure.data.tables import TableTransactionError
from azure.data.tables.aio import TableClient

from shared.outbound_log.writer import (
    CUSTOMER_INDEX_BUCKETED,
    CUSTOMER_INDEX_COLUMN,
    CUSTOMER_KEYS_COLUMN,
    MAX_CUSTOMER_KEYS_COLUMNS,
    MAX_MS,
    customer_index_key_of_part,
    day_partition,
    entry_id_of,
    entry_time_ms,
    identifier_partition,
    key_part,
)
from shared.table_transactions import transaction_chunks

if TYPE_CHECKING:
    from shared.app_context import AppContext

logger = logging.getLogger(__name__)

MAX_ENTITIES_PER_RUN = 20_000
PAGE_SIZE = 1000
PARALLEL_TRANSACTIONS = 8
CUSTOMER_KEYS_COLUMNS = [CUSTOMER_KEYS_COLUMN + (str(i) if i else "") for i in range(MAX_CUSTOMER_KEYS_COLUMNS)]
MAIN_COLUMNS = ["PartitionKey", "RowKey", "Identifier", "CustomerId", "CustomerCount", CUSTOMER_INDEX_COLUMN,
                *CUSTOMER_KEYS_COLUMNS]
Key = tuple[str, str]


@dataclass
class RetentionResult:
    cutoff: datetime
    entries_deleted: int = 0
    index_entities_deleted: int = 0
    more: bool = False  # stopped at `max_entities`: expired entries remain for the next run
    customer_scans: int = 0  # batched entries without CustomerKeys, whose slices needed a range query

    @property
    def entities_deleted(self) -> int:
        return self.entries_deleted + self.index_entities_deleted


def expired_filter(cutoff_ms: int) -> str:
    """Main entities strictly older than `cutoff_ms`: the cutoff's day and older, RowKey past the cutoff."""
    return (f"PartitionKey ge '{day_partition(cutoff_ms)}' and PartitionKey lt 'M' "
            f"and RowKey ge '{MAX_MS - cutoff_ms + 1:013d}'")


def _odata_time(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def _customer_keys(table: TableClient, main: dict[str, Any], result: RetentionResult) -> set[Key]:
    """The keys of this entry's customer index entities."""
    count = main.get("CustomerCount") or 0
    entry_id = main["RowKey"]
    bucketed = main.get(CUSTOMER_INDEX_COLUMN) == CUSTOMER_INDEX_BUCKETED

    def key(part: str) -> Key:
        return customer_index_key_of_part(part, entry_id) if bucketed else ("C|" + part, entry_id)

    joined = "".join(main.get(column) or "" for column in CUSTOMER_KEYS_COLUMNS)
    parts = [part for part in joined.split(",") if part]
    keys = {key(part) for part in parts}
    if not parts and main.get("CustomerId"):  # a single-customer entry
        keys.add(key(key_part(main["CustomerId"])))
    if max(len(parts), len(keys)) >= count:
        return keys
    # A batch written without (or with more customers than) CustomerKeys: find its slices by their RowKeys.
    result.customer_scans += 1
    if bucketed:  # the id ends the RowKey, which no filter can say: the slices share the entry's time, which one can
        moment = entry_time_ms(entry_id)
        query = ("PartitionKey ge 'c|' and PartitionKey lt 'c}' "
                 f"and Timestamp_ ge datetime'{_odata_time(moment - 1)}' "
                 f"and Timestamp_ le datetime'{_odata_time(moment + 1)}'")
    else:
        query = f"PartitionKey ge 'C|' and PartitionKey lt 'C}}' and RowKey eq '{entry_id}'"
    async for entity in table.query_entities(query, select=["PartitionKey", "RowKey"]):
        if entry_id_of(entity["RowKey"]) == entry_id:
            keys.add((entity["PartitionKey"], entity["RowKey"]))
    return keys


async def _delete_all(table: TableClient, keys: Iterable[Key]) -> None:
    """Delete in transactions of at most 100 per partition; already-deleted entities are fine."""
    chunks = transaction_chunks({"PartitionKey": partition, "RowKey": row} for partition, row in keys)
    gate = asyncio.Semaphore(PARALLEL_TRANSACTIONS)

    async def delete(chunk: list[dict[str, str]]) -> None:
        async with gate:
            try:
                await table.submit_transaction([("delete", key) for key in chunk])
            except TableTransactionError:
                # One entity of the transaction is gone already (an earlier run stopped half-way):
                # one by one, where a missing entity is not an error.
                for key in chunk:
                    await table.delete_entity(key["PartitionKey"], key["RowKey"])

    await asyncio.gather(*(delete(chunk) for chunk in chunks))


async def delete_expired(table: TableClient, now: datetime, retention_days: int, max_entities: int) -> RetentionResult:
    """Delete entries older than `now - retention_days` and their index entities, at most `max_entities`."""
    cutoff_ms = int(now.timestamp() * 1000) - retention_days * 86_400_000
    result = RetentionResult(datetime.fromtimestamp(cutoff_ms / 1000, UTC))
    budget = max_entities
    query = expired_filter(cutoff_ms)
    while budget > 0:
        mains: list[dict[str, Any]] = []
        token: dict[str, Any] | None = None
        while not mains:  # the service may answer an empty page with a continuation
            pages = table.query_entities(query, results_per_page=min(PAGE_SIZE, budget), select=MAIN_COLUMNS)
            pager = pages.by_page(continuation_token=token)
            try:
                mains = [dict(e) async for e in await anext(pager)]
            except StopAsyncIteration:
                mains = []
            token = pager.continuation_token or None
            if token is None:
                break
        if not mains:
            return result
        main_keys: list[Key] = []
        index_keys: list[Key] = []
        for main in mains:
            keys = sorted(await _customer_keys(table, main, result))
            if main.get("Identifier"):
                keys.append((identifier_partition(main["Identifier"]), main["RowKey"]))
            if main_keys and len(main_keys) + len(index_keys) + len(keys) + 1 > budget:
                result.more = True
                break
            index_keys += keys
            main_keys.append((main["PartitionKey"], main["RowKey"]))
        await _delete_all(table, index_keys)  # index entities first: a main entity left behind is found again
        await _delete_all(table, main_keys)
        result.entries_deleted += len(main_keys)
        result.index_entities_deleted += len(index_keys)
        budget -= len(main_keys) + len(index_keys)
        if result.more:
            return result
    # Out of budget: more remain if another expired main entity exists.
    async for _ in table.query_entities(query, results_per_page=1, select=["RowKey"]):
        result.more = True
        break
    return result


async def run(ctx: AppContext, now: datetime | None = None) -> RetentionResult:
    """The timer's work: one bounded run over the app's outbound log table."""
    result = await delete_expired(ctx.outbound_log.table, now or datetime.now(UTC),
                                  ctx.settings.outbound_log_retention_days, MAX_ENTITIES_PER_RUN)
    logger.info(
        "outbound log retention: deleted %d entries and %d index entities older than %s%s",
        result.entries_deleted, result.index_entities_deleted, result.cutoff.isoformat(),
        "; more remain for the next run" if result.more else "",
    )
    return result
