"""Outbound log writes against real Azurite: keys, indexes, truncation, and the retry path."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables.aio import TableServiceClient
from azure.storage.queue import TextBase64DecodePolicy, TextBase64EncodePolicy
from azure.storage.queue.aio import QueueClient

from shared.outbound_log.writer import (
    BODY_LIMIT_CHARS,
    CustomerSlice,
    OutboundLog,
    OutboundLogEntry,
    customer_index_key,
    day_partition,
    entry_id_of,
    entry_time_ms,
    identifier_partition,
    new_entry_id,
)


@pytest.fixture
async def tables(storage_connection_string: str) -> AsyncIterator[TableServiceClient]:
    async with TableServiceClient.from_connection_string(storage_connection_string) as service:
        yield service


@pytest.fixture
async def retry_queue(storage_connection_string: str) -> AsyncIterator[QueueClient]:
    queue = QueueClient.from_connection_string(
        storage_connection_string, f"retry-{uuid.uuid4().hex[:10]}",
        message_encode_policy=TextBase64EncodePolicy(), message_decode_policy=TextBase64DecodePolicy(),
    )
    await queue.create_queue()
    yield queue
    await queue.delete_queue()
    await queue.close()


def entry(**overrides: object) -> OutboundLogEntry:
    values: dict[str, object] = {
        "target": "inquba", "operation": "event", "method": "POST", "url": "https://x/cems/api/Events",
        "status_code": 200, "response_time_seconds": 0.1234567, "error": None, "identifier": "id-1",
        "customer_id": "cust/1#?", "customer_name": "Ada", "request_body": "{}", "response_body": '"Success"',
    }
    values.update(overrides)
    return OutboundLogEntry(**values)  # type: ignore[arg-type]


def test_entry_ids_sort_newest_first_and_encode_their_time() -> None:
    older, newer = new_entry_id(1_700_000_000_000), new_entry_id(1_700_000_000_001)
    assert newer < older
    assert entry_time_ms(older) == 1_700_000_000_000
    assert day_partition(1_700_000_000_000 + 86_400_000) < day_partition(1_700_000_000_000)


async def test_entry_and_its_indexes_are_written(tables: TableServiceClient) -> None:
    table = await tables.create_table(f"log{uuid.uuid4().hex[:10]}")
    log = OutboundLog(table, None)
    item = entry(request_body="x" * (BODY_LIMIT_CHARS + 50))
    await log.write(item)
    main = await table.get_entity(day_partition(item.epoch_ms), item.id)
    assert main["RequestBody"].endswith("…[truncated 50 characters]")
    assert main["StatusCode"] == 200 and main["Identifier"] == "id-1"
    by_id = await table.get_entity(identifier_partition("id-1"), item.id)
    by_customer = await table.get_entity(*customer_index_key("cust/1#?", item.id))
    assert by_id["CustomerName"] == by_customer["CustomerName"] == "Ada"
    assert "RequestBody" not in by_id
    await table.delete_table()


async def test_batched_customers_get_their_own_slices(tables: TableServiceClient) -> None:
    table = await tables.create_table(f"log{uuid.uuid4().hex[:10]}")
    item = entry(target="insider", customer_id=None, customers=[
        CustomerSlice("a", "Ann", '{"identifiers":{"uuid":"a"}}', "synced", None),
        CustomerSlice("b", "Bob", '{"identifiers":{"uuid":"b"}}', "failed", "invalid event name"),
    ])
    await OutboundLog(table, None).write(item)
    b = await table.get_entity(*customer_index_key("b", item.id))
    assert b["Error"] == "invalid event name" and b["RequestBody"] == '{"identifiers":{"uuid":"b"}}'
    assert (await table.get_entity(day_partition(item.epoch_ms), item.id))["CustomerCount"] == 2
    await table.delete_table()


async def test_a_failed_write_goes_to_the_retry_queue_and_replays(
    tables: TableServiceClient, retry_queue: QueueClient
) -> None:
    missing = tables.get_table_client(f"missing{uuid.uuid4().hex[:8]}")  # no such table: every write fails
    item = entry()
    await OutboundLog(missing, retry_queue, write_timeout=5).record(item)
    messages = [m async for m in retry_queue.receive_messages()]
    assert len(messages) == 1
    replayed = OutboundLogEntry.from_json(messages[0].content)
    assert replayed.id == item.id and replayed.identifier == "id-1"
    table = await tables.create_table(missing.table_name)
    await OutboundLog(table, None).write(replayed)
    await OutboundLog(table, None).write(replayed)  # idempotent: a second delivery leaves one entry
    entities = [e async for e in table.list_entities() if entry_id_of(e["RowKey"]) == item.id]
    assert len(entities) == 3  # main, identifier index, customer index
    await table.delete_table()
    with pytest.raises(ResourceNotFoundError):
        await table.get_entity("x", "y")
