"""Retention against Azurite: old entries and their index entities go, in bounded runs; newer ones stay."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from shared.outbound_log.retention import delete_expired
from shared.outbound_log.writer import (
    BODY_LIMIT_CHARS,
    CustomerSlice,
    OutboundLog,
    OutboundLogEntry,
    customer_index_key,
    entities,
)
from tests.outbound_logs.helpers import entry

NOW = datetime(2026, 3, 15, 10, 30, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
DAY_MS = 86_400_000
RETENTION_DAYS = 30
CUTOFF_MS = NOW_MS - RETENTION_DAYS * DAY_MS


def batch(epoch_ms: int, customers: list[str], identifier: str) -> OutboundLogEntry:
    return entry(target="insider", operation="upsert", identifier=identifier, epoch_ms=epoch_ms,
                 customers=[CustomerSlice(c, c.title(), "{}", "synced", None) for c in customers])


async def all_keys(table: TableClient) -> Counter[tuple[str, str]]:
    return Counter([(e["PartitionKey"], e["RowKey"]) async for e in table.list_entities(select=["PartitionKey",
                                                                                                "RowKey"])])


async def test_old_entries_and_their_indexes_go_in_bounded_runs(fresh_table: TableClient) -> None:
    log = OutboundLog(fresh_table, None)
    expired: list[OutboundLogEntry] = []
    kept: list[OutboundLogEntry] = []
    # Expired: 12 single-customer entries over ten days, sharing customers and identifiers with kept entries.
    for i in range(12):
        expired.append(entry(epoch_ms=CUTOFF_MS - (i + 1) * DAY_MS * 5 // 6, identifier=f"req-{i % 4}",
                             customer_id=f"cust-{i % 3}", customer_name="Someone"))
    # Expired: an Insider batch, and a batch written before CustomerKeys existed (found by a RowKey query).
    expired.append(batch(CUTOFF_MS - 3 * DAY_MS, ["cust-0", "ann", "bob"], "sync-1"))
    legacy = batch(CUTOFF_MS - 4 * DAY_MS, ["cat", "dan"], "sync-2")
    expired.append(legacy)
    # Either side of the cutoff, in the same day partition: one millisecond older goes, the cutoff itself stays.
    expired.append(entry(epoch_ms=CUTOFF_MS - 1, identifier="edge", customer_id="cust-1"))
    kept.append(entry(epoch_ms=CUTOFF_MS, identifier="edge", customer_id="cust-1"))
    kept.append(entry(epoch_ms=CUTOFF_MS + 1, identifier="req-0", customer_id="cust-2"))
    # Newer: same identifiers and customers as expired ones, and a newer batch with an expired customer.
    kept += [entry(epoch_ms=NOW_MS - d * DAY_MS, identifier=f"req-{d % 4}", customer_id=f"cust-{d % 3}")
             for d in (0, 1, 7, 29)]
    kept.append(batch(NOW_MS - DAY_MS, ["ann", "cust-0"], "sync-3"))
    for item in expired + kept:
        if item is legacy:
            for entity in entities(item):
                entity.pop("CustomerKeys", None)
                await fresh_table.upsert_entity(entity, mode=UpdateMode.REPLACE)
        else:
            await log.write(item)
    keys_of = {item.id: {(e["PartitionKey"], e["RowKey"]) for e in entities(item)} for item in expired + kept}
    expired_keys = set().union(*(keys_of[e.id] for e in expired))
    kept_keys = set().union(*(keys_of[e.id] for e in kept))
    assert await all_keys(fresh_table) == Counter(expired_keys | kept_keys)
    assert len(expired_keys) == 12 * 3 + 5 + 4 + 3  # (main, I|, C|) x 12, the two batches, the edge

    runs = []
    while True:
        result = await delete_expired(fresh_table, NOW, RETENTION_DAYS, max_entities=10)
        runs.append(result)
        assert result.entities_deleted <= 10
        remaining = set(await all_keys(fresh_table))
        assert kept_keys <= remaining, "a newer entry or index entity was deleted"
        if not result.more:
            break
        assert len(runs) < 20
    assert len(runs) >= 4, "the bound of 10 entities per run must take several runs"
    assert set(await all_keys(fresh_table)) == kept_keys
    assert sum(r.entries_deleted for r in runs) == len(expired)
    assert sum(r.entities_deleted for r in runs) == len(expired_keys)
    assert sum(r.customer_scans for r in runs) == 1  # only the legacy batch needed a RowKey query
    assert runs[0].cutoff == datetime.fromtimestamp(CUTOFF_MS / 1000, UTC)
    # Nothing left to do: a further run deletes nothing and touches nothing.
    again = await delete_expired(fresh_table, NOW, RETENTION_DAYS, max_entities=10)
    assert (again.entities_deleted, again.more) == (0, False)
    assert set(await all_keys(fresh_table)) == kept_keys


async def test_a_run_that_stopped_half_way_is_finished_by_the_next(fresh_table: TableClient) -> None:
    """Index entities already gone (an interrupted run): the transaction falls back to single deletes."""
    item = batch(CUTOFF_MS - DAY_MS, ["eve", "fay", "gus"], "sync-x")
    await OutboundLog(fresh_table, None).write(item)
    await fresh_table.delete_entity(*customer_index_key("fay", item.id))
    result = await delete_expired(fresh_table, NOW, RETENTION_DAYS, max_entities=100)
    assert (result.entries_deleted, result.more) == (1, False)
    assert await all_keys(fresh_table) == Counter()


async def test_the_retention_setting_moves_the_cutoff(fresh_table: TableClient) -> None:
    log = OutboundLog(fresh_table, None)
    items = [entry(epoch_ms=NOW_MS - d * DAY_MS - 1000, customer_id="c") for d in (1, 5, 10)]
    for item in items:
        await log.write(item)
    result = await delete_expired(fresh_table, NOW, 5, max_entities=1000)
    assert result.entries_deleted == 2 and result.index_entities_deleted == 2
    left = {e["RowKey"] async for e in fresh_table.query_entities("PartitionKey ge 'L' and PartitionKey lt 'M'")}
    assert left == {items[0].id}


def test_a_batch_records_its_customers_on_the_main_entity() -> None:
    """The writer's CustomerKeys columns: comma-joined key parts, split at the Table property limit."""
    item = batch(NOW_MS, ["a,b", "c/d"], "sync-k")
    main = entities(item)[0]
    assert main["CustomerKeys"] == "a%2Cb,c%2Fd" and main["CustomerCount"] == 2
    assert "CustomerKeys" not in entities(entry(customer_id="solo"))[0]
    many = [f"customer-{i:05d}-" + "x" * 40 for i in range(1000)]  # ~55,000 characters
    main = entities(batch(NOW_MS, many, "sync-big"))[0]
    columns = [main[c] for c in ("CustomerKeys", "CustomerKeys1") if c in main]
    assert len(columns) == 2 and all(len(c) <= BODY_LIMIT_CHARS for c in columns)
    assert "".join(columns).split(",") == many
