"""The bucketed customer index: a batch's slices in few transactions; entries of the older layout still found."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from shared import table_transactions
from shared.outbound_log.query import LogQuery, query_log, read_entry
from shared.outbound_log.retention import delete_expired
from shared.outbound_log.writer import (
    CUSTOMER_BUCKETS,
    CUSTOMER_INDEX_COLUMN,
    CustomerSlice,
    OutboundLog,
    OutboundLogEntry,
    customer_index_filter,
    customer_index_key,
    entities,
    entry_id_of,
    key_part,
    legacy_customer_partition,
)
from tests.outbound_logs.helpers import entry

NOW_MS = int(datetime(2026, 3, 15, 10, 30, tzinfo=UTC).timestamp() * 1000)
DAY_MS = 86_400_000


def batch(epoch_ms: int, customers: list[str]) -> OutboundLogEntry:
    return entry(target="insider", operation="upsert", identifier=f"sync-{epoch_ms}", epoch_ms=epoch_ms,
                 customers=[CustomerSlice(c, c.title(), f'{{"id":"{c}"}}', "synced", None) for c in customers])


async def write_in_the_older_layout(table: TableClient, item: OutboundLogEntry) -> None:
    """What the writer wrote before the bucketed index: `C|<customer>` partitions, RowKey = id, no marker."""
    for entity in entities(item):
        entity.pop(CUSTOMER_INDEX_COLUMN, None)
        if entity["PartitionKey"].startswith("c|"):
            entity["PartitionKey"] = legacy_customer_partition(entity["CustomerId"])
            entity["RowKey"] = item.id
        await table.upsert_entity(entity, mode=UpdateMode.REPLACE)


async def keys(table: TableClient) -> Counter[tuple[str, str]]:
    return Counter([(e["PartitionKey"], e["RowKey"])
                    async for e in table.list_entities(select=["PartitionKey", "RowKey"])])


def test_keys_keep_a_customer_to_one_range_of_one_of_few_partitions() -> None:
    partition, row = customer_index_key("cust/1#?'", "8230386423999-1f2e3d4c5b")
    assert partition.startswith("c|") and row == key_part("cust/1#?'") + "|8230386423999-1f2e3d4c5b"
    assert entry_id_of(row) == "8230386423999-1f2e3d4c5b"
    assert len({customer_index_key(f"c{n}", "x")[0] for n in range(1000)}) == CUSTOMER_BUCKETS
    long_id = "é" * 256  # 1,536 characters once percent-encoded: shortened, still its own
    assert len(customer_index_key(long_id, "8230386423999-1f2e3d4c5b")[1]) <= 512
    assert customer_index_key(long_id, "")[1] != customer_index_key(long_id[:-1], "")[1]
    assert customer_index_filter("o'brien").count("'") == 6  # the quote itself is percent-encoded


async def test_a_batch_of_a_thousand_customers_is_written_in_a_few_transactions(
    fresh_table: TableClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes: list[int] = []
    submit = table_transactions.submit_upserts

    async def counted(table: Any, rows: list[dict[str, Any]], *args: Any) -> None:
        sizes.append(len(rows))
        await submit(table, rows, *args)

    monkeypatch.setattr(table_transactions, "submit_upserts", counted)
    item = batch(NOW_MS, [f"customer-{n}" for n in range(1000)])
    await OutboundLog(fresh_table, None).write(item)

    assert sum(sizes) >= 1000 and len(sizes) <= 2 * CUSTOMER_BUCKETS  # instead of 1,000 single writes
    assert sum((await keys(fresh_table)).values()) == 1000 + 2  # the slices, the main entity, the identifier index
    rows = [e async for e in fresh_table.query_entities(customer_index_filter("customer-7"))]
    assert [(r["CustomerId"], r["RequestBody"]) for r in rows] == [("customer-7", '{"id":"customer-7"}')]


async def test_a_customer_lookup_reads_the_newer_layout_then_the_older(fresh_table: TableClient) -> None:
    log = OutboundLog(fresh_table, None)
    older = [entry(epoch_ms=NOW_MS - (10 + n) * DAY_MS, customer_id="ada", identifier=f"old-{n}") for n in range(3)]
    older.append(batch(NOW_MS - 20 * DAY_MS, ["ada", "bob"]))
    newer = [entry(epoch_ms=NOW_MS - n * DAY_MS, customer_id="ada", identifier=f"new-{n}") for n in range(3)]
    newer.append(batch(NOW_MS - 5 * DAY_MS, ["ada", "bob"]))
    for item in older:
        await write_in_the_older_layout(fresh_table, item)
    for item in newer:
        await log.write(item)
    # Another customer in the same bucket must not be read.
    await log.write(entry(epoch_ms=NOW_MS, customer_id="ada2"))

    expected = [e.id for e in sorted(newer + older, key=lambda e: e.id)]
    token, seen, read = None, [], 0
    while True:
        page = await query_log(fresh_table, LogQuery(customer_id="ada", limit=3, continuation_token=token))
        seen += [i["id"] for i in page.items]
        read += page.entities_read
        token = page.continuation_token
        if token is None:
            break
    assert seen == expected and read == len(expected)  # newest first across both layouts, nothing else read
    in_range = await query_log(fresh_table, LogQuery(
        customer_id="ada", from_time=datetime.fromtimestamp((NOW_MS - 12 * DAY_MS) / 1000, UTC),
        to_time=datetime.fromtimestamp((NOW_MS - 2 * DAY_MS) / 1000, UTC)))
    assert [i["id"] for i in in_range.items] == [e.id for e in sorted(newer + older, key=lambda e: e.id)
                                                 if NOW_MS - 12 * DAY_MS <= e.epoch_ms <= NOW_MS - 2 * DAY_MS]
    by_identifier = await query_log(fresh_table, LogQuery(customer_id="ada", identifier="old-1"))
    assert [i["identifier"] for i in by_identifier.items] == ["old-1"]

    old_slice = await read_entry(fresh_table, older[3].id, customer_id="bob")
    new_slice = await read_entry(fresh_table, newer[3].id, customer_id="bob")
    assert old_slice["requestBody"] == new_slice["requestBody"] == '{"id":"bob"}'
    assert (old_slice["entitiesRead"], new_slice["entitiesRead"]) == (2, 1)


async def test_retention_deletes_the_index_entities_of_both_layouts(fresh_table: TableClient) -> None:
    now = datetime.fromtimestamp(NOW_MS / 1000, UTC)
    older = [batch(NOW_MS - 40 * DAY_MS, ["ada", "bob"]), entry(epoch_ms=NOW_MS - 41 * DAY_MS, customer_id="ada")]
    newer = [batch(NOW_MS - 35 * DAY_MS, ["ada", "cy"]), entry(epoch_ms=NOW_MS - 36 * DAY_MS, customer_id="ada")]
    without_keys = batch(NOW_MS - 37 * DAY_MS, ["dee", "eve"])
    kept = batch(NOW_MS - DAY_MS, ["ada", "bob"])
    for item in older:
        await write_in_the_older_layout(fresh_table, item)
    for item in (*newer, kept):
        await OutboundLog(fresh_table, None).write(item)
    for entity in entities(without_keys):  # a batch whose customers did not fit the CustomerKeys columns
        entity.pop("CustomerKeys", None)
        await fresh_table.upsert_entity(entity, mode=UpdateMode.REPLACE)

    result = await delete_expired(fresh_table, now, 30, max_entities=1000)

    assert (result.entries_deleted, result.more, result.customer_scans) == (5, False, 1)
    assert await keys(fresh_table) == Counter({(e["PartitionKey"], e["RowKey"]): 1 for e in entities(kept)})
