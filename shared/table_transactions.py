"""Many entity writes in few requests: entity group transactions, and group commit of concurrent upserts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Iterator
from typing import Any

from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

TRANSACTION_MAX_OPERATIONS = 100  # Table Storage's limits per entity group transaction (one partition)
TRANSACTION_MAX_BYTES = 3 * 1024 * 1024  # of the 4 MiB payload limit, leaving room for the multipart framing

Entity = dict[str, Any]


def _size(entity: Entity) -> int:
    return len(json.dumps(entity, default=str, ensure_ascii=False).encode("utf-8"))


def transaction_chunks(entities: Iterable[Entity]) -> Iterator[list[Entity]]:
    """`entities` grouped by PartitionKey, in chunks that one transaction takes (100 operations, under 4 MiB)."""
    by_partition: dict[str, list[Entity]] = {}
    for entity in entities:
        by_partition.setdefault(entity["PartitionKey"], []).append(entity)
    for rows in by_partition.values():
        chunk: list[Entity] = []
        chunk_bytes = 0
        for entity in rows:
            size = _size(entity)
            if chunk and (len(chunk) == TRANSACTION_MAX_OPERATIONS or chunk_bytes + size > TRANSACTION_MAX_BYTES):
                yield chunk
                chunk, chunk_bytes = [], 0
            chunk.append(entity)
            chunk_bytes += size
        if chunk:
            yield chunk


async def upsert_chunk(table: TableClient, chunk: list[Entity]) -> None:
    """Replace-upsert one chunk of `transaction_chunks`: a single entity needs no transaction."""
    if len(chunk) == 1:
        await table.upsert_entity(chunk[0], mode=UpdateMode.REPLACE)
    else:
        await table.submit_transaction([("upsert", e, {"mode": UpdateMode.REPLACE}) for e in chunk])


class GroupCommitUpserts:
    """Replace-upserts from concurrent callers, written together.

    While one write is in flight, later callers' entities gather; the next write sends them all, one transaction
    per partition chunk. Under load that is a request per partition instead of one per entity; alone, a caller
    waits for one round trip as before. Each caller learns whether its own entities were written.
    """

    def __init__(self, table: TableClient) -> None:
        self.table = table
        self._pending: list[tuple[list[Entity], asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def upsert(self, entities: list[Entity]) -> None:
        """Returns once every entity is written; raises the storage error of the first write that failed."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((entities, waiter))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush())
        await waiter

    async def _flush(self) -> None:
        try:
            while self._pending:
                pending, self._pending = self._pending, []
                await self._write(pending)
        finally:
            self._flusher = None

    async def _write(self, pending: list[tuple[list[Entity], asyncio.Future[None]]]) -> None:
        # The same key twice in one transaction is refused: the later write wins, as it would one by one.
        latest: dict[tuple[str, str], Entity] = {}
        owners: dict[tuple[str, str], list[int]] = {}
        for index, (entities, _) in enumerate(pending):
            for entity in entities:
                key = (entity["PartitionKey"], entity["RowKey"])
                latest[key] = entity
                owners.setdefault(key, []).append(index)
        chunks = list(transaction_chunks(latest.values()))
        results = await asyncio.gather(*(upsert_chunk(self.table, c) for c in chunks), return_exceptions=True)
        errors: dict[int, BaseException] = {}
        for chunk, result in zip(chunks, results, strict=True):
            if isinstance(result, BaseException):
                for entity in chunk:
                    for index in owners[(entity["PartitionKey"], entity["RowKey"])]:
                        errors.setdefault(index, result)
        for index, (_, waiter) in enumerate(pending):
            if waiter.done():  # its caller gave up waiting (a timeout); the write still counts
                continue
            if index in errors:
                waiter.set_exception(errors[index])
            else:
                waiter.set_result(None)
