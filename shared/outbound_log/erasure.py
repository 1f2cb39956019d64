"""Erase a customer's personal data from the outbound log, in place, entry by entry (docs/outbound-logs.md, "Erasure").

The customer's entries are exactly its `C|<customer>` index partition (no scan). Per entry, at most: the index
entity as read by that query, one point read and one write of the main entity (retried when a concurrent erasure
of another customer of the same batched request changed it), one write or delete of the identifier index entity,
and one write of the customer index entity, which is scrubbed last so that an interrupted run finds the entry again.

What goes: request and response bodies (a batched request's main body loses only this customer's user, and this
customer's values elsewhere in it), the customer name, an `Identifier` that is an email address or a phone number
(its `I|` index entity, whose key holds it, is deleted), and this customer's values inside the error. What stays:
timestamp, target, operation, method, URL, customer ID, status code, response time, the error, attempt; the
entities gain `ErasedAt`.
"""

from __future__ import annotations

import asyncio
import json
import random
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from shared.outbound_log.writer import (
    BATCH_ID_COLUMN,
    CUSTOMER_KEYS_COLUMN,
    MAX_CUSTOMER_KEYS_COLUMNS,
    SUMMARY_FIELDS,
    customer_index_filter,
    day_partition,
    entry_id_of,
    entry_time_ms,
    identifier_partition,
    key_part,
    legacy_customer_partition,
)
from shared.personal_data import ERASED, ERASED_AT, looks_personal, mask, personal_strings_of_text

#: Entries of these operations are written without personal data (an erase request's own entry).
ERASE_OPERATIONS = frozenset({"delete", "anonymize"})
ENTRY_CONCURRENCY = 8
# Customers of one batched request erased at once (one erase request names many of them) take turns on its main
# entity in this process; only another process's erasure can change it between the read and the replace.
_entry_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
PAGE_SIZE = 100
MAX_CONFLICT_TRIES = 5
BODY_COLUMNS = ("RequestBody", "ResponseBody")


@dataclass(frozen=True)
class DeliveryReference:
    """Where an entry's item is tracked: a delivery record (by identifier) or a batch item."""

    target: str | None
    identifier: str | None
    batch_id: str | None


@dataclass
class LogErasure:
    entries: int = 0
    references: set[DeliveryReference] = field(default_factory=set)


def _plain(entity: Any) -> dict[str, Any]:
    return dict(entity.items())


def _scrub_summary(entity: dict[str, Any], values: set[str], when: datetime) -> dict[str, Any]:
    """An entity with the customer name, bodies and personal identifier gone, its values masked in the error."""
    out = {k: v for k, v in entity.items() if k != "CustomerName"}
    for column in BODY_COLUMNS:
        if out.get(column) is not None:
            out[column] = ERASED
    if looks_personal(out.get("Identifier")):
        out["Identifier"] = ERASED
    if out.get("Error"):
        out["Error"] = mask(out["Error"], values)
    out[ERASED_AT] = when
    return out


def _customer_positions(main: dict[str, Any], customer_id: str) -> list[int]:
    """Positions of the customer among a batched request's users, from its `CustomerKeys` columns."""
    columns = [CUSTOMER_KEYS_COLUMN + (str(i) if i else "") for i in range(MAX_CUSTOMER_KEYS_COLUMNS)]
    keys = "".join(main.get(c) or "" for c in columns).split(",")
    wanted = key_part(customer_id)
    return [i for i, key in enumerate(keys) if key == wanted]


def _scrub_batched_main(main: dict[str, Any], customer_id: str, values: set[str], when: datetime) -> dict[str, Any]:
    """A batched request's main entity without this customer's user and values; the other customers' stay."""
    out = dict(main)
    body = out.get("RequestBody")
    positions = _customer_positions(main, customer_id)
    try:
        parsed = json.loads(body) if body else None
    except ValueError:  # truncated at write time: only the values can be masked
        parsed = None
    users = parsed.get("users") if isinstance(parsed, dict) else None
    if isinstance(users, list) and positions and len(users) == main.get("CustomerCount"):
        for index in positions:
            users[index] = ERASED
        body = json.dumps(parsed, ensure_ascii=False)
    out["RequestBody"] = mask(body, values)
    out["ResponseBody"] = mask(out.get("ResponseBody"), values)
    out["Error"] = mask(out.get("Error"), values)
    out[ERASED_AT] = when
    return {k: v for k, v in out.items() if v is not None}


def _is_batched(main: dict[str, Any]) -> bool:
    """A request of several customers (an upsert of one also has its slice, and is erased whole)."""
    return (main.get("CustomerCount") or 0) > 1


async def _replace(table: TableClient, entity: dict[str, Any], etag: str | None = None) -> bool:
    """Replace an existing entity (never create one: retention may have deleted it); False when it is gone."""
    try:
        if etag is None:
            await table.update_entity(entity, mode=UpdateMode.REPLACE)
        else:
            await table.update_entity(entity, mode=UpdateMode.REPLACE, etag=etag,
                                      match_condition=MatchConditions.IfNotModified)
    except ResourceNotFoundError:
        return False
    return True


async def _erase_main(table: TableClient, entry_id: str, customer_id: str, values: set[str],
                      when: datetime) -> tuple[dict[str, Any] | None, set[str]]:
    """Scrub the main entity: its scrubbed summary (None when it is gone), and the values masked.

    A single customer's bodies are all this customer's: the emails and phone numbers in them are masked in its
    error too. A batched request's are shared: only the values known to be this customer's are."""
    partition = day_partition(entry_time_ms(entry_id))
    lock = _entry_locks.setdefault(entry_id, asyncio.Lock())  # held by each of a batch's customers in this process
    async with lock:
        return await _erase_main_once(table, partition, entry_id, customer_id, values, when)


async def _erase_main_once(table: TableClient, partition: str, entry_id: str, customer_id: str, values: set[str],
                           when: datetime) -> tuple[dict[str, Any] | None, set[str]]:
    for attempt in range(MAX_CONFLICT_TRIES):
        if attempt:  # another process erased another customer of this request at the same moment
            await asyncio.sleep(random.uniform(0.05, 0.2) * attempt)
        try:
            read = await table.get_entity(partition, entry_id)
        except ResourceNotFoundError:
            return None, values
        main = _plain(read)
        batched = _is_batched(main)
        if batched:
            scrubbed = _scrub_batched_main(main, customer_id, values, when)
        else:
            values = values | _personal_strings_of(main)
            scrubbed = _scrub_summary(main, values, when)
        try:
            # A batched entry may be erased for another of its customers at once: replaced only as it was read.
            if not await _replace(table, scrubbed, read.metadata["etag"] if batched else None):
                return None, values
            return scrubbed, values
        except ResourceModifiedError:
            continue
    raise RuntimeError(f"outbound log entry {entry_id} kept changing while it was being erased")


def _personal_strings_of(entity: dict[str, Any]) -> set[str]:
    """The emails and phone numbers in an entity's bodies, its identifier if it is one, and its customer name."""
    found = {v for v in (entity.get("CustomerName"),) if v}
    if looks_personal(entity.get("Identifier")):
        found.add(entity["Identifier"])
    for column in BODY_COLUMNS:
        found |= personal_strings_of_text(entity.get(column))
    return found


async def _erase_identifier_index(table: TableClient, entry_id: str, main: dict[str, Any], identifier: str | None,
                                  when: datetime) -> None:
    if not identifier:
        return
    partition = identifier_partition(identifier)
    if looks_personal(identifier):  # the key itself holds it
        await table.delete_entity(partition, entry_id)  # a missing entity is no error
        return
    summary = {k: main[k] for k in SUMMARY_FIELDS if k in main}
    await _replace(table, {"PartitionKey": partition, "RowKey": entry_id, **summary, ERASED_AT: when})


async def _erase_entry(table: TableClient, index: dict[str, Any], customer_id: str, values: set[str],
                       when: datetime) -> None:
    entry_id = entry_id_of(index["RowKey"])  # the bucketed index's RowKey starts with the customer
    identifier = index.get("Identifier")
    if identifier == ERASED:  # already erased: its identifier index entity went then
        identifier = None
    # This entry's own personal strings (its name and its slice's bodies, as stored) join the ones given.
    main, own = await _erase_main(table, entry_id, customer_id, values | _personal_strings_of(index), when)
    if main is not None:
        await _erase_identifier_index(table, entry_id, main, identifier, when)
    await _replace(table, _scrub_summary(index, own, when))


async def erase_customer_log(table: TableClient, customer_id: str, values: set[str], when: datetime) -> LogErasure:
    """Erase every outbound log entry of `customer_id` (both platforms); what it found, to clear delivery copies.

    `values`: the customer's known personal strings (name, identifier values) to mask where text is shared.
    Idempotent: a second run finds the same entries and leaves them as they are.
    """
    erasure = LogErasure()
    gate = asyncio.Semaphore(ENTRY_CONCURRENCY)

    async def one(index: dict[str, Any]) -> None:
        async with gate:
            await _erase_entry(table, index, customer_id, values, when)

    # The customer's index entities: its range of the bucketed layout, then the older C|<customer> partition.
    legacy = legacy_customer_partition(customer_id).replace("'", "''")
    for condition in (customer_index_filter(customer_id), f"PartitionKey eq '{legacy}'"):
        query = table.query_entities(condition, results_per_page=PAGE_SIZE)
        async for page in query.by_page():
            batch = [_plain(e) async for e in page]
            batch = [e for e in batch if e.get("Operation") not in ERASE_OPERATIONS]
            for index in batch:
                erasure.references.add(DeliveryReference(index.get("Target"), index.get("Identifier"),
                                                         index.get(BATCH_ID_COLUMN)))
            await asyncio.gather(*(one(e) for e in batch))
            erasure.entries += len(batch)
    return erasure
