"""Batch status in Table Storage: one partition per batch, one entity per item plus a header."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from shared.delivery.records import FINAL_STATUSES, status_as_api
from shared.outbound_log.writer import key_part
from shared.table_transactions import GroupCommitUpserts, get_entity, transaction_chunks, upsert_chunk

HEADER_ROW = "~batch"  # sorts after every item row key
STATUSES_BY_KIND = {
    "event": ("queued", "pending", "delivered", "failed", "dead-lettered"),
    "transaction": ("queued", "pending", "delivered", "failed", "dead-lettered"),
    "insider": ("queued", "pending", "synced", "rejected", "failed", "dead-lettered"),
    "insider-attributes": ("queued", "pending", "deleted", "rejected", "failed", "dead-lettered"),
}


@dataclass
class BatchItem:
    identifier: str
    status: str
    attempts: int = 0
    upstream_status: int | None = None
    error: str | None = None
    payload: dict[str, Any] | None = None

    def as_api(self) -> dict[str, Any]:
        return status_as_api(self)


@dataclass
class BatchView:
    batch_id: str
    kind: str
    created_at: datetime | None
    items: list[BatchItem] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counted = Counter(item.status for item in self.items)
        return {status: counted.get(status, 0) for status in STATUSES_BY_KIND.get(self.kind, ())} | dict(counted)

    @property
    def complete(self) -> bool:
        return all(item.status in FINAL_STATUSES for item in self.items)


def _item_entity(batch_id: str, identifier: str, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "PartitionKey": key_part(batch_id),
        "RowKey": key_part(identifier),
        "Identifier": identifier,
        "Kind": kind,
        "Status": "queued",
        "Attempts": 0,
        "Payload": json.dumps(payload, ensure_ascii=False, default=str),
    }


class BatchStore:
    def __init__(self, table: TableClient) -> None:
        self.table = table
        # A batch is one partition: the items of a batch finishing together merge their status in one transaction.
        self.writer = GroupCommitUpserts(table, mode=UpdateMode.MERGE)

    async def create(self, batch_id: str, kind: str, items: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """The header and every item as `queued`, in as few transactions as the limits allow (one partition)."""
        entities = [_item_entity(batch_id, identifier, kind, payload) for identifier, payload in items]
        entities.append(
            {"PartitionKey": key_part(batch_id), "RowKey": HEADER_ROW, "Kind": kind, "Total": len(items),
             "CreatedAt": datetime.now(UTC)}
        )
        for chunk in transaction_chunks(entities):
            await upsert_chunk(self.table, chunk)

    async def update(
        self,
        batch_id: str,
        identifier: str,
        status: str,
        *,
        attempts: int,
        upstream_status: int | None = None,
        error: str | None = None,
        force: bool = False,
    ) -> None:
        """Record an item's progress; a non-final status never overwrites a final one unless `force` (replay)."""
        keys = {"PartitionKey": key_part(batch_id), "RowKey": key_part(identifier)}
        if status not in FINAL_STATUSES and not force:
            try:
                current = await get_entity(self.table, keys["PartitionKey"], keys["RowKey"], select=["Status"])
            except ResourceNotFoundError:
                return  # not a batch this app created: nothing to track
            if current.get("Status") in FINAL_STATUSES:
                return
        entity = {**keys, "Status": status, "Attempts": attempts, "UpstreamStatus": upstream_status,
                  "Error": (error or "")[:8_000], "UpdatedAt": datetime.now(UTC)}
        # Merge keeps Payload; an empty Error clears the previous one when an item is finally delivered.
        await self.writer.upsert([entity])

    async def item_status(self, batch_id: str, identifier: str) -> str | None:
        """One item's status (a point read), or None when the batch has no such item."""
        try:
            entity = await get_entity(self.table, key_part(batch_id), key_part(identifier), select=["Status"])
        except ResourceNotFoundError:
            return None
        return entity.get("Status")

    async def read(self, batch_id: str, *, with_payloads: bool = False) -> BatchView | None:
        view: BatchView | None = None
        items: list[BatchItem] = []
        query = self.table.query_entities("PartitionKey eq @pk", parameters={"pk": key_part(batch_id)})
        async for entity in query:
            if entity["RowKey"] == HEADER_ROW:
                view = BatchView(batch_id, entity.get("Kind", ""), entity.get("CreatedAt"))
                continue
            items.append(
                BatchItem(
                    identifier=entity["Identifier"],
                    status=entity.get("Status", "queued"),
                    attempts=entity.get("Attempts", 0),
                    upstream_status=entity.get("UpstreamStatus"),
                    error=entity.get("Error") or None,
                    payload=json.loads(entity["Payload"]) if with_payloads and entity.get("Payload") else None,
                )
            )
        if view is None:
            return None
        view.items = items
        return view
