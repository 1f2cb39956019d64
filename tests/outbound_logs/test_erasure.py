"""Erasing a customer's outbound log entries against Azurite: in place, this customer only, idempotent."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from azure.data.tables.aio import TableClient

from shared.outbound_log.erasure import erase_customer_log
from shared.outbound_log.writer import (
    CustomerSlice,
    OutboundLog,
    OutboundLogEntry,
    customer_index_key,
    day_partition,
    identifier_partition,
)
from shared.personal_data import ERASED, looks_personal, mask, personal_strings
from tests.outbound_logs.helpers import entry

WHEN = datetime(2026, 3, 15, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize(("value", "personal"), [
    ("ada@example.com", True), ("+27820000000", True), ("+27 82 000-0000", True), ("(082) 000 0000", True),
    ("082 000 0000", True), ("27820000000", False), ("123", False), ("01K8ZZ", False), ("2026-01-10", False),
    ("Ada", False), ("a@b", False), (12345678, False), ("+1 (2)", False),
])
def test_what_counts_as_an_email_or_phone(value: object, personal: bool) -> None:
    assert looks_personal(value) is personal


def test_mask_replaces_values_as_written_and_as_json_escapes_them() -> None:
    text = json.dumps({"a": "Zoë O\"Neil", "b": "zoe@example.com"}) + " Zoë O\"Neil"
    masked = mask(text, {"Zoë O\"Neil", "zoe@example.com", "Al"})
    assert "Zo" not in masked and "example" not in masked and masked.count(ERASED) == 3
    assert personal_strings({"x": ["zoe@example.com", {"y": "+27820000000"}], "z": "Gold"}) == {
        "zoe@example.com", "+27820000000"}


def _batched(identifier: str, customers: list[tuple[str, str]]) -> OutboundLogEntry:
    users = [{"identifiers": {"uuid": c, "email": email}, "attributes": {"name": c.title()}} for c, email in customers]
    return entry(target="insider", operation="upsert", identifier=identifier,
                 request_body=json.dumps({"skip_hook": False, "users": users}, ensure_ascii=False),
                 response_body='{"data": {"successful": {"count": 2}, "fail": {}}}',
                 error=f"for {customers[0][1]} and others",
                 customers=[CustomerSlice(c, c.title() + " Name", json.dumps(u), "synced", None, "batch-1")
                            for (c, _), u in zip(customers, users, strict=True)])


async def _entity(table: TableClient, partition: str, row: str) -> dict[str, object]:
    return dict(await table.get_entity(partition, row))


async def test_a_customers_entries_lose_their_personal_data_and_keep_the_rest(fresh_table: TableClient) -> None:
    log = OutboundLog(fresh_table, None)
    single = entry(customer_id="ann", customer_name="Ann Lee", identifier="ann@example.com", status_code=500,
                   request_body='{"attributes": {"Email": "ann@example.com"}}', error="HTTP 500: ann@example.com")
    batched = _batched("sync-1", [("bob", "bob@example.com"), ("ann", "ann@example.com")])
    for item in (single, batched):
        await log.write(item)

    erased = await erase_customer_log(fresh_table, "ann", {"Ann Lee"}, WHEN)
    assert erased.entries == 2
    assert {(r.target, r.identifier, r.batch_id) for r in erased.references} == {
        ("inquba", "ann@example.com", None), ("insider", "sync-1", "batch-1")}

    main = await _entity(fresh_table, day_partition(single.epoch_ms), single.id)
    assert (main["RequestBody"], main["ResponseBody"], main["Identifier"]) == (ERASED, ERASED, ERASED)
    assert "CustomerName" not in main and main["Error"] == f"HTTP 500: {ERASED}"
    assert (main["StatusCode"], main["Target"], main["CustomerId"], main["ErasedAt"]) == (500, "inquba", "ann", WHEN)
    index = await _entity(fresh_table, *customer_index_key("ann", single.id))
    assert "CustomerName" not in index and index["Identifier"] == ERASED and index["StatusCode"] == 500
    # Its identifier was an email: the identifier index entity, whose key holds it, is gone.
    assert [e async for e in fresh_table.query_entities(
        "PartitionKey eq @pk", parameters={"pk": identifier_partition("ann@example.com")})] == []

    batch_main = await _entity(fresh_table, day_partition(batched.epoch_ms), batched.id)
    users = json.loads(str(batch_main["RequestBody"]))["users"]
    assert users[1] == ERASED and users[0]["identifiers"]["email"] == "bob@example.com"  # Bob keeps his
    assert batch_main["Error"] == "for bob@example.com and others" and batch_main["ErasedAt"] == WHEN
    bob = await _entity(fresh_table, *customer_index_key("bob", batched.id))
    assert bob["CustomerName"] == "Bob Name" and "ErasedAt" not in bob
    ann = await _entity(fresh_table, *customer_index_key("ann", batched.id))
    assert (ann["RequestBody"], ann["ResponseBody"], ann["BatchId"]) == (ERASED, ERASED, "batch-1")
    assert "CustomerName" not in ann
    by_identifier = await _entity(fresh_table, identifier_partition("sync-1"), batched.id)
    assert by_identifier["ErasedAt"] == WHEN and by_identifier["StatusCode"] == 200

    again = await erase_customer_log(fresh_table, "ann", {"Ann Lee"}, WHEN)
    assert again.entries == 2
    assert await _entity(fresh_table, day_partition(batched.epoch_ms), batched.id) == batch_main


async def test_a_truncated_batch_body_loses_the_customers_values(fresh_table: TableClient) -> None:
    batched = _batched("sync-2", [("cy", "cy@example.com"), ("dee", "dee@example.com")])
    batched.request_body = str(batched.request_body)[:-5]  # as if cut at the Table property's limit
    await OutboundLog(fresh_table, None).write(batched)
    await erase_customer_log(fresh_table, "dee", set(), WHEN)
    body = str((await _entity(fresh_table, day_partition(batched.epoch_ms), batched.id))["RequestBody"])
    assert "dee@example.com" not in body and "cy@example.com" in body


async def test_a_customer_without_entries_costs_one_empty_query(fresh_table: TableClient) -> None:
    erased = await erase_customer_log(fresh_table, "nobody", {"x@example.com"}, WHEN)
    assert (erased.entries, erased.references) == (0, set())
