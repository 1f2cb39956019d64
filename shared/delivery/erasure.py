"""Erase a customer's copies in the delivery tables: the delivery records and batch items its log entries name.

An outbound log entry of the customer names its item: by `Identifier` the delivery record of an item queued
without a batch (an inQuba publish), by `BatchId` the batch item that holds its payload (an inQuba batch item,
keyed by identifier, or a queued Insider customer, keyed by customer ID). Each is one point read and one write.
A batch item loses its `Payload` (so a replay skips it rather than send an erased customer again), a delivery
record its `UpstreamBody`; both keep status, attempts, upstream status and error (masked) and gain `ErasedAt`.
A delivery record keyed by an identifier that is an email address or a phone number is deleted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from shared.delivery.records import ROW_KEY
from shared.outbound_log.erasure import DeliveryReference
from shared.outbound_log.writer import key_part
from shared.personal_data import ERASED, ERASED_AT, looks_personal, mask

CONCURRENCY = 8


@dataclass
class DeliveryErasure:
    delivery_records: int = 0
    batch_items: int = 0


async def _read(table: TableClient, partition: str, row: str) -> dict[str, Any] | None:
    try:
        return dict((await table.get_entity(partition, row)).items())
    except ResourceNotFoundError:
        return None


async def _write(table: TableClient, entity: dict[str, Any]) -> bool:
    try:
        await table.update_entity(entity, mode=UpdateMode.REPLACE)  # never re-creates an entity deleted meanwhile
    except ResourceNotFoundError:
        return False
    return True


def _scrubbed(entity: dict[str, Any], drop: str, values: set[str], when: datetime) -> dict[str, Any]:
    out = {k: v for k, v in entity.items() if k != drop}
    if out.get("Error"):
        out["Error"] = mask(out["Error"], values)
    if looks_personal(out.get("Identifier")):
        out["Identifier"] = ERASED
    out[ERASED_AT] = when
    return out


async def erase_delivery_copies(deliveries: TableClient, batches: TableClient, customer_id: str,
                                references: Iterable[DeliveryReference], values: set[str],
                                when: datetime) -> DeliveryErasure:
    """Clear the delivery records and batch items `references` (from the customer's log entries) point to."""
    erasure = DeliveryErasure()
    gate = asyncio.Semaphore(CONCURRENCY)

    async def record(identifier: str) -> None:
        async with gate:
            partition = key_part(identifier)
            entity = await _read(deliveries, partition, ROW_KEY)
            if entity is None:
                return
            if looks_personal(identifier):  # the key itself holds it
                await deliveries.delete_entity(partition, ROW_KEY)  # a missing entity is no error
            elif not await _write(deliveries, _scrubbed(entity, "UpstreamBody", values, when)):
                return
            erasure.delivery_records += 1

    async def item(batch_id: str, row: str) -> None:
        async with gate:
            entity = await _read(batches, key_part(batch_id), key_part(row))
            if entity is not None and await _write(batches, _scrubbed(entity, "Payload", values, when)):
                erasure.batch_items += 1

    tasks = []
    seen: set[tuple[str, ...]] = set()
    for ref in references:
        if ref.batch_id:
            # An Insider request tracks customers; an inQuba batch its items' identifiers.
            row = customer_id if ref.target == "insider" else ref.identifier
            key = ("item", ref.batch_id, row or "")
            if row and row != ERASED and key not in seen:
                seen.add(key)
                tasks.append(item(ref.batch_id, row))
        elif ref.target == "inquba" and ref.identifier and ref.identifier != ERASED:
            key = ("record", ref.identifier)
            if key not in seen:
                seen.add(key)
                tasks.append(record(ref.identifier))
    await asyncio.gather(*tasks)
    return erasure
