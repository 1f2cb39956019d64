"""Durable delivery records keyed by identifier: what makes redelivered queue messages harmless."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables.aio import TableClient

from shared.outbound_log.writer import key_part
from shared.table_transactions import get_entity, upsert_entity

FINAL_STATUSES = frozenset({"delivered", "failed", "dead-lettered", "synced", "rejected", "deleted", "erased",
                            "not-found"})
ROW_KEY = "delivery"


class HasDeliveryStatus(Protocol):
    """What a delivery record and a batch item both tell of an item's delivery."""

    identifier: str
    status: str
    upstream_status: int | None
    error: str | None
    attempts: int


def status_as_api(item: HasDeliveryStatus) -> dict[str, Any]:
    """An item's delivery status as the API answers it (the `DeliveryStatus` and `ItemStatus` models)."""
    return {
        "identifier": item.identifier,
        "status": item.status,
        "upstreamStatus": item.upstream_status,
        "error": item.error,
        "attempts": item.attempts,
    }


@dataclass
class DeliveryRecord:
    identifier: str
    status: str  # delivered | failed | dead-lettered
    kind: str
    upstream_status: int | None = None
    upstream_body: str | None = None
    error: str | None = None
    attempts: int = 1
    batch_id: str | None = None
    updated_at: datetime | None = None

    def as_api(self) -> dict[str, Any]:
        return status_as_api(self)


class DeliveryRecords:
    def __init__(self, table: TableClient) -> None:
        self.table = table

    async def get(self, identifier: str) -> DeliveryRecord | None:
        try:
            entity = await get_entity(self.table, key_part(identifier), ROW_KEY)
        except ResourceNotFoundError:
            return None
        return DeliveryRecord(
            identifier=entity["Identifier"],
            status=entity["Status"],
            kind=entity.get("Kind", ""),
            upstream_status=entity.get("UpstreamStatus"),
            upstream_body=entity.get("UpstreamBody"),
            error=entity.get("Error"),
            attempts=entity.get("Attempts", 1),
            batch_id=entity.get("BatchId"),
            updated_at=entity.get("UpdatedAt"),
        )

    async def save(self, record: DeliveryRecord) -> None:
        entity = {
            "PartitionKey": key_part(record.identifier),
            "RowKey": ROW_KEY,
            "Identifier": record.identifier,
            "Status": record.status,
            "Kind": record.kind,
            "UpstreamStatus": record.upstream_status,
            "UpstreamBody": (record.upstream_body or "")[:8_000] or None,
            "Error": (record.error or "")[:8_000] or None,
            "Attempts": record.attempts,
            "BatchId": record.batch_id,
            "UpdatedAt": datetime.now(UTC),
        }
        await upsert_entity(self.table, {k: v for k, v in entity.items() if v is not None})
