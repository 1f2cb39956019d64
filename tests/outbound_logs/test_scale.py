"""Index lookups do not scan: 100,000 entries in Azurite, and lookups read only what they return (+ one page)."""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from typing import Any

from azure.data.tables.aio import TableClient

from shared.outbound_log.query import CLIENT_FILTER_PAGE_SIZE, READ_BUDGET, LogQuery, StatusFilter, query_log
from shared.outbound_log.writer import CustomerSlice, OutboundLogEntry, entities
from shared.table_transactions import submit_upserts

ENTRIES = 100_000
DAYS = 4
CUSTOMERS = 2_000
HOT_CUSTOMER = "hot-customer"
HOT_ENTRIES = 3_000
BATCHES = 200  # Insider-style entries with 5 customer slices each


def build_entries(now_ms: int) -> list[OutboundLogEntry]:
    rng = random.Random(7)
    span_ms = DAYS * 86_400_000
    result = []
    for i in range(ENTRIES):
        epoch_ms = now_ms - rng.randrange(span_ms)
        status = rng.choice([200] * 16 + [400, 429, 500, 503]) if i % 50 else None
        common: dict[str, Any] = {
            "target": "inquba", "operation": "event", "method": "POST", "url": "https://x/cems/api/Events",
            "status_code": status, "response_time_seconds": rng.random(),
            "error": None if status == 200 else ("timeout: ReadTimeout" if status is None else f"HTTP {status}"),
            "identifier": f"req-{i}" if i % 50 == 1 else None, "epoch_ms": epoch_ms,
            "request_body": '{"eventDefinitionCode":"WELCOME"}', "response_body": '"Success"',
        }
        if i < BATCHES:
            slices = [CustomerSlice(f"cust-{c}", "Batch Person", "{}", "synced", None)
                      for c in rng.sample(range(CUSTOMERS), 5)]
            result.append(OutboundLogEntry(**{**common, "target": "insider", "operation": "upsert"}, customers=slices))
        elif i < BATCHES + HOT_ENTRIES:
            result.append(OutboundLogEntry(**common, customer_id=HOT_CUSTOMER, customer_name="Hot"))
        else:
            customer = rng.randrange(CUSTOMERS)
            result.append(
                OutboundLogEntry(**common, customer_id=f"cust-{customer}", customer_name=f"Person {customer}")
            )
    return result


async def fill(table: TableClient, items: list[OutboundLogEntry]) -> int:
    """Transactions of up to 100 entities per partition, straight from the writer's entity dicts (the app's own
    text-built transactions: the SDK's `submit_transaction` costs ~0.6 ms of CPU per entity, which on a 2-core
    machine, not Azurite, would bound the fill)."""
    by_partition: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        for entity in entities(item):
            by_partition[entity["PartitionKey"]].append(entity)
    chunks = [rows[i : i + 100] for rows in by_partition.values() for i in range(0, len(rows), 100)]
    gate = asyncio.Semaphore(16)

    async def submit(chunk: list[dict[str, Any]]) -> None:
        async with gate:
            await submit_upserts(table, chunk)

    await asyncio.gather(*(submit(chunk) for chunk in chunks))
    return sum(len(chunk) for chunk in chunks)


async def test_customer_lookup_reads_no_more_than_it_returns_plus_one_page(fresh_table: TableClient) -> None:
    now_ms = int(time.time() * 1000)
    items = build_entries(now_ms)
    started = time.perf_counter()
    written = await fill(fresh_table, items)
    print(f"\nfilled {ENTRIES:,} entries ({written:,} entities) in {time.perf_counter() - started:.1f}s")
    by_customer: dict[str, list[OutboundLogEntry]] = defaultdict(list)
    for item in items:
        for customer in [item.customer_id] if item.customer_id else [s.customer_id for s in item.customers]:
            by_customer[customer].append(item)  # type: ignore[index]
    figures: list[str] = []

    async def check(label: str, query: LogQuery, expected: list[OutboundLogEntry] | None = None,
                    bound: int | None = None) -> int:
        started = time.perf_counter()
        page = await query_log(fresh_table, query)
        returned = len(page.items)
        figures.append(f"{label}: returned {returned}, read {page.entities_read}, "
                       f"{page.round_trips} round trip(s), {1000 * (time.perf_counter() - started):.0f} ms")
        assert page.entities_read <= (returned + query.limit if bound is None else bound), figures[-1]
        if expected is not None:
            want = sorted(expected, key=lambda e: e.id)[: query.limit]
            if page.continuation_token is not None:  # a partial page (read budget): the newest matches so far
                want = want[:returned]
            assert [i["id"] for i in page.items] == [e.id for e in want], figures[-1]
        return page.entities_read

    # A typical customer: every entry of theirs, newest first, and nothing else read.
    customer = "cust-42"
    read = await check(f"customer {customer} ({len(by_customer[customer])} entries)",
                       LogQuery(customer_id=customer, limit=200), by_customer[customer])
    assert read == len(by_customer[customer])
    # A customer with thousands of entries, paged: each page reads exactly what it returns.
    token, total_read, seen = None, 0, []
    while True:
        page = await query_log(fresh_table, LogQuery(customer_id=HOT_CUSTOMER, limit=200, continuation_token=token))
        assert page.entities_read <= len(page.items) + 200
        total_read += page.entities_read
        seen += [i["id"] for i in page.items]
        token = page.continuation_token
        if token is None:
            break
    assert seen == sorted(e.id for e in by_customer[HOT_CUSTOMER])
    figures.append(f"customer {HOT_CUSTOMER}: {len(seen)} entries paged by 200, read {total_read}")
    assert total_read == HOT_ENTRIES
    # Server-side filters on the index partition read only matches; the error substring reads one page more.
    fives = [e for e in by_customer[HOT_CUSTOMER] if e.status_code and 500 <= e.status_code < 600]
    await check("hot customer, statusCode=5xx", LogQuery(customer_id=HOT_CUSTOMER, status=StatusFilter.parse("5xx"),
                                                       limit=20), fives)
    # The error substring is matched here, not by the service: it reads the customer's partition up to the
    # 20th match plus at most one page, and never another customer's entries.
    hot = sorted(by_customer[HOT_CUSTOMER], key=lambda e: e.id)
    timeouts = [e for e in hot if e.error and "timeout" in e.error.lower()]
    await check("hot customer, error=TIMEOUT (client-side)",
                LogQuery(customer_id=HOT_CUSTOMER, error="TIMEOUT", limit=20), timeouts,
                bound=hot.index(timeouts[19]) + 1 + CLIENT_FILTER_PAGE_SIZE)
    # An Insider batch found through one of its customers.
    batch = items[0]
    slice_customer = batch.customers[0].customer_id
    await check(f"customer {slice_customer} (batch member)", LogQuery(customer_id=slice_customer, limit=200),
                by_customer[slice_customer])
    # By identifier.
    identified = next(e for e in items if e.identifier)
    await check(f"identifier {identified.identifier}", LogQuery(identifier=identified.identifier), [identified])
    # The unfiltered newest-first scan reads one page.
    newest = sorted(items, key=lambda e: e.id)
    await check("no filter, newest 50", LogQuery(limit=50), newest[:50])
    # Scans with server-side filters read only matches (the service skips the rest); client-side ones are budgeted.
    await check("scan, target=insider", LogQuery(target="insider", limit=50),
                [e for e in newest if e.target == "insider"])
    await check("scan, error=timeout (client-side)", LogQuery(error="timeout", limit=50),
                [e for e in newest if e.error and "timeout" in e.error][:50],
                bound=READ_BUDGET + CLIENT_FILTER_PAGE_SIZE)
    print("\n".join(figures))
