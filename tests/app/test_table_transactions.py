"""Transactions and group commit on real Azurite: what is written, in how many requests, who hears of a failure."""

from __future__ import annotations

import asyncio
from typing import Any

from azure.core.exceptions import HttpResponseError
from azure.data.tables.aio import TableClient

from shared.table_transactions import (
    TRANSACTION_MAX_BYTES,
    TRANSACTION_MAX_OPERATIONS,
    GroupCommitUpserts,
    transaction_chunks,
)


class CountingTable:
    """The real table client, counting the requests GroupCommitUpserts makes through it."""

    def __init__(self, table: TableClient) -> None:
        self.table = table
        self.upserts = 0
        self.transactions: list[int] = []

    async def upsert_entity(self, entity: dict[str, Any], **kwargs: Any) -> Any:
        self.upserts += 1
        return await self.table.upsert_entity(entity, **kwargs)

    async def submit_transaction(self, operations: list[Any], **kwargs: Any) -> Any:
        self.transactions.append(len(operations))
        return await self.table.submit_transaction(operations, **kwargs)


async def rows(table: TableClient, partition: str) -> dict[str, dict[str, Any]]:
    return {e["RowKey"]: e async for e in table.query_entities(f"PartitionKey eq '{partition}'")}


def test_chunks_keep_to_one_partition_and_the_transaction_limits() -> None:
    body = "x" * 30_000  # as much as the outbound log keeps of a body; an entry has two
    entities = ([{"PartitionKey": "A", "RowKey": f"{n:04d}"} for n in range(250)]
                + [{"PartitionKey": "B", "RowKey": f"{n:04d}", "Request": body, "Response": body} for n in range(120)])
    chunks = list(transaction_chunks(entities))
    assert sorted((e["PartitionKey"], e["RowKey"]) for c in chunks for e in c) == sorted(
        (e["PartitionKey"], e["RowKey"]) for e in entities)
    assert all(len({e["PartitionKey"] for e in c}) == 1 for c in chunks)
    assert all(len(c) <= TRANSACTION_MAX_OPERATIONS for c in chunks)
    assert [len(c) for c in chunks if c[0]["PartitionKey"] == "A"] == [100, 100, 50]
    b_chunks = [c for c in chunks if c[0]["PartitionKey"] == "B"]
    assert all(sum(2 * len(body) for _ in c) <= TRANSACTION_MAX_BYTES for c in b_chunks)
    assert len(b_chunks) == 3  # the byte budget, not the operation count, split partition B


async def test_concurrent_upserts_share_one_transaction_per_partition(table: TableClient) -> None:
    counting = CountingTable(table)
    writer = GroupCommitUpserts(counting)  # type: ignore[arg-type]

    async def record(n: int) -> None:
        await writer.upsert([{"PartitionKey": "day", "RowKey": f"{n:04d}", "N": n},
                             {"PartitionKey": f"id-{n}", "RowKey": f"{n:04d}", "N": n}])

    await asyncio.gather(*(record(n) for n in range(200)))

    written = await rows(table, "day")
    assert sorted(written) == [f"{n:04d}" for n in range(200)]
    assert [len(await rows(table, f"id-{n}")) for n in (0, 99, 199)] == [1, 1, 1]
    # 200 shared-partition entities in 2 transactions; each index entity has a partition of its own.
    assert counting.transactions == [100, 100]
    assert counting.upserts == 200


async def test_a_failed_transaction_fails_its_callers_only(table: TableClient) -> None:
    writer = GroupCommitUpserts(table)
    too_big = "x" * 40_000  # over a property's 64 KiB in UTF-16: refused, and the whole transaction with it

    results = await asyncio.gather(
        writer.upsert([{"PartitionKey": "bad", "RowKey": "1"}]),
        writer.upsert([{"PartitionKey": "bad", "RowKey": "2", "Body": too_big}]),
        writer.upsert([{"PartitionKey": "good", "RowKey": "1"}]),
        return_exceptions=True,
    )

    assert isinstance(results[0], HttpResponseError)
    assert isinstance(results[1], HttpResponseError)
    assert results[2] is None
    assert await rows(table, "bad") == {}
    assert list(await rows(table, "good")) == ["1"]


async def test_the_same_key_twice_in_one_write_keeps_the_later_entity(table: TableClient) -> None:
    writer = GroupCommitUpserts(table)

    await asyncio.gather(
        writer.upsert([{"PartitionKey": "p", "RowKey": "k", "V": "first"}, {"PartitionKey": "p", "RowKey": "o"}]),
        writer.upsert([{"PartitionKey": "p", "RowKey": "k", "V": "second"}]),
    )

    written = await rows(table, "p")
    assert written["k"]["V"] == "second"
    assert sorted(written) == ["k", "o"]


async def test_a_caller_alone_is_written_at_once(table: TableClient) -> None:
    counting = CountingTable(table)
    writer = GroupCommitUpserts(counting)  # type: ignore[arg-type]

    await writer.upsert([{"PartitionKey": "solo", "RowKey": "1"}])
    await writer.upsert([{"PartitionKey": "solo", "RowKey": "2"}])

    assert sorted(await rows(table, "solo")) == ["1", "2"]
    assert (counting.upserts, counting.transactions) == (2, [])
