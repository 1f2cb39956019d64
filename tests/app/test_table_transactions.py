"""Transactions and group commit on real Azurite: what is written, in how many requests, who hears of a failure."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.data.tables import TableTransactionError, UpdateMode
from azure.data.tables.aio import TableClient, TableServiceClient

from shared import table_transactions
from shared.table_transactions import (
    TRANSACTION_MAX_BYTES,
    TRANSACTION_MAX_OPERATIONS,
    GroupCommitUpserts,
    get_entity,
    submit_upserts,
    transaction_chunks,
    upsert_entity,
)


class CountingTable:
    """The real table client, counting the requests GroupCommitUpserts makes through it."""

    def __init__(self, table: TableClient, monkeypatch: pytest.MonkeyPatch) -> None:
        self.table = table
        self.upserts = 0
        self.transactions: list[int] = []
        submit = table_transactions.submit_upserts

        async def counted(client: Any, entities: list[dict[str, Any]], *args: Any) -> None:
            self.transactions.append(len(entities))
            await submit(client.table if isinstance(client, CountingTable) else client, entities, *args)

        upsert = table_transactions.upsert_entity

        async def counted_one(client: Any, entity: dict[str, Any], *args: Any) -> None:
            self.upserts += 1
            await upsert(client.table if isinstance(client, CountingTable) else client, entity, *args)

        monkeypatch.setattr(table_transactions, "submit_upserts", counted)
        monkeypatch.setattr(table_transactions, "upsert_entity", counted_one)


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


async def test_concurrent_upserts_share_one_transaction_per_partition(
    table: TableClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    counting = CountingTable(table, monkeypatch)
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


async def test_a_caller_alone_is_written_at_once(table: TableClient, monkeypatch: pytest.MonkeyPatch) -> None:
    counting = CountingTable(table, monkeypatch)
    writer = GroupCommitUpserts(counting)  # type: ignore[arg-type]

    await writer.upsert([{"PartitionKey": "solo", "RowKey": "1"}])
    await writer.upsert([{"PartitionKey": "solo", "RowKey": "2"}])

    assert sorted(await rows(table, "solo")) == ["1", "2"]
    assert (counting.upserts, counting.transactions) == (2, [])


async def test_a_transaction_built_as_text_writes_what_the_sdk_reads_back(table: TableClient) -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    entities = [{"PartitionKey": "p q%27", "RowKey": f"it's {n}", "Text": "héllo \"quoted\"\r\n", "N": n,
                 "F": 0.25, "Yes": True, "When": when, "Absent": None} for n in range(3)]

    await submit_upserts(table, entities)

    written = await rows(table, "p q%27")
    assert sorted(written) == ["it's 0", "it's 1", "it's 2"]
    first = written["it's 0"]
    assert (first["Text"], first["N"], first["F"], first["Yes"], first["When"]) == (
        "héllo \"quoted\"\r\n", 0, 0.25, True, when)
    assert "Absent" not in first


async def test_merges_keep_the_columns_they_do_not_name(table: TableClient) -> None:
    await submit_upserts(table, [{"PartitionKey": "m", "RowKey": str(n), "Payload": "kept", "Status": "queued"}
                                 for n in range(2)])
    writer = GroupCommitUpserts(table, mode=UpdateMode.MERGE)

    await asyncio.gather(*(writer.upsert([{"PartitionKey": "m", "RowKey": str(n), "Status": "delivered"}])
                           for n in range(2)))
    await submit_upserts(table, [{"PartitionKey": "m", "RowKey": "0", "Attempts": 2},
                                 {"PartitionKey": "m", "RowKey": "1", "Attempts": 3}], UpdateMode.MERGE)

    written = await rows(table, "m")
    assert [(e["Payload"], e["Status"], e["Attempts"]) for e in written.values()] == [
        ("kept", "delivered", 2), ("kept", "delivered", 3)]


async def test_a_refused_transaction_names_the_operation_and_writes_nothing(table: TableClient) -> None:
    with pytest.raises(TableTransactionError) as refused:
        await submit_upserts(table, [{"PartitionKey": "r", "RowKey": "1"},
                                     {"PartitionKey": "r", "RowKey": "2", "Body": "x" * 40_000}])
    assert refused.value.index == 1
    assert await rows(table, "r") == {}


async def test_a_single_upsert_replaces_or_merges_and_fails_as_the_sdk_does(
    table: TableClient, storage_connection_string: str
) -> None:
    await upsert_entity(table, {"PartitionKey": "one", "RowKey": "it's", "A": "a", "B": 1})
    await upsert_entity(table, {"PartitionKey": "one", "RowKey": "it's", "B": 2}, UpdateMode.MERGE)
    assert dict((await rows(table, "one"))["it's"]) == {"PartitionKey": "one", "RowKey": "it's", "A": "a", "B": 2}
    await upsert_entity(table, {"PartitionKey": "one", "RowKey": "it's", "B": 3})
    assert dict((await rows(table, "one"))["it's"]) == {"PartitionKey": "one", "RowKey": "it's", "B": 3}

    with pytest.raises(HttpResponseError) as refused:
        await upsert_entity(table, {"PartitionKey": "one", "RowKey": "big", "Body": "x" * 40_000})
    assert refused.value.status_code == 400
    async with TableServiceClient.from_connection_string(storage_connection_string) as service:
        with pytest.raises(ResourceNotFoundError):
            await upsert_entity(service.get_table_client("nosuchtable0"), {"PartitionKey": "p", "RowKey": "r"})


async def test_a_point_read_answers_what_the_sdk_answers(table: TableClient) -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    await table.upsert_entity({"PartitionKey": "read", "RowKey": "it's", "Status": "delivered", "N": 3, "When": when,
                               "Big": (2**40, "Edm.Int64")})
    ours, theirs = await get_entity(table, "read", "it's"), await table.get_entity("read", "it's")
    assert dict(ours) == dict(theirs) and ours["When"] == when and ours["Big"].value == 2**40
    assert ours.metadata["etag"] == theirs.metadata["etag"]
    assert dict(await get_entity(table, "read", "it's", select=["Status"])) == {"Status": "delivered"}
    with pytest.raises(ResourceNotFoundError):
        await get_entity(table, "read", "nothing")
