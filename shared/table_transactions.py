"""Many entity writes in few requests: entity group transactions, and group commit of concurrent upserts.

Also the app's lean single requests: an upsert (`upsert_entity`) and a point read (`get_entity`).

An entity group transaction is built here as text (`submit_upserts`), not with the SDK's `submit_transaction`
(and single upserts and point reads without the SDK's generated serializer):
the SDK builds every operation as a request through its generated code and the `email` package, and parses the
answer the same way, which cost 0.3 ms of CPU per entity in a transaction of 100 and 1.3 ms in one of 2 on the
benchmark machine (bench/results.md), more than the writes it saves. The same wire format built as text costs
0.03 ms per entity. It goes through the client's own pipeline (authentication, retries, headers), and only the
table name, endpoint and entity serialisation come from the client (`_add_entity_properties` is the SDK's own).
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, map_error
from azure.core.rest import HttpRequest
from azure.data.tables import TableEntity, TableTransactionError, UpdateMode
from azure.data.tables._deserialize import _convert_to_entity
from azure.data.tables._serialize import _add_entity_properties
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


_PART_STATUS = re.compile(rb"^HTTP/1\.1 (\d{3})", re.MULTILINE)
_ERROR_MESSAGE = re.compile(rb'"message"\s*:\s*\{[^}]*?"value"\s*:\s*"((?:[^"\\]|\\.)*)"')
_METHODS = {UpdateMode.REPLACE: "PUT", UpdateMode.MERGE: "PATCH"}  # insert-or-replace, insert-or-merge


def _entity_url(base: str, table_name: str, entity: Entity) -> str:
    keys = ",".join(f"{name}='{quote(str(entity[name]).replace(chr(39), chr(39) * 2), safe='')}'"
                    for name in ("PartitionKey", "RowKey"))
    return f"{base}/{table_name}({keys})"


async def submit_upserts(table: TableClient, entities: list[Entity], mode: UpdateMode = UpdateMode.REPLACE) -> None:
    """Upsert `entities` (one partition, at most 100) in one entity group transaction: all or none.

    Raises `TableTransactionError` (an `HttpResponseError`) naming the refused operation's error when the
    service refuses it, or the pipeline's error when the request fails.
    """
    if getattr(table, "_cosmos_endpoint", False):  # Cosmos wants POST for merges: the SDK knows how
        await table.submit_transaction([("upsert", e, {"mode": mode}) for e in entities])
        return
    base = f"{table.scheme}://{table._primary_hostname}"
    method = _METHODS[mode]
    batch, changeset = f"batch_{uuid.uuid4()}", f"changeset_{uuid.uuid4()}"
    parts = [f"--{batch}\r\nContent-Type: multipart/mixed; boundary={changeset}\r\n\r\n"]
    for entity in entities:
        parts.append(
            f"--{changeset}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
            f"{method} {_entity_url(base, table.table_name, entity)} HTTP/1.1\r\n"
            "Content-Type: application/json\r\nAccept: application/json;odata=minimalmetadata\r\n"
            "DataServiceVersion: 3.0\r\n\r\n"
            f"{json.dumps(_add_entity_properties(entity), ensure_ascii=False)}\r\n"
        )
    parts.append(f"--{changeset}--\r\n--{batch}--\r\n")
    request = HttpRequest("POST", f"{base}/$batch", content="".join(parts).encode("utf-8"), headers={
        "Content-Type": f"multipart/mixed; boundary={batch}", "x-ms-version": table.api_version,
        "DataServiceVersion": "3.0", "MaxDataServiceVersion": "3.0;NetFx", "Accept": "application/json",
    })
    response = await table._client.send_request(request, stream=True)
    body = await response.read()
    statuses = [int(code) for code in _PART_STATUS.findall(body)]
    if response.status_code == 202 and statuses and all(200 <= code < 300 for code in statuses):
        return
    found = _ERROR_MESSAGE.search(body)
    detail = json.loads(b'"' + found.group(1) + b'"') if found else body[:500].decode("utf-8", "replace")
    failed = next((code for code in statuses if not 200 <= code < 300), response.status_code)
    if response.status_code != 202:
        raise HttpResponseError(message=f"entity group transaction refused (HTTP {failed}): {detail}",
                                response=response)
    raise TableTransactionError(message=detail, response=response)


async def upsert_entity(table: TableClient, entity: Entity, mode: UpdateMode = UpdateMode.REPLACE) -> None:
    """`table.upsert_entity(entity, mode=mode)` without the generated serializer: about a quarter less CPU.

    Raises what the SDK raises for the app's cases: `ResourceNotFoundError` (no such table), otherwise an
    `HttpResponseError` with the service's status and message.
    """
    if getattr(table, "_cosmos_endpoint", False):
        await table.upsert_entity(entity, mode=mode)
        return
    base = f"{table.scheme}://{table._primary_hostname}"
    request = HttpRequest(_METHODS[mode], _entity_url(base, table.table_name, entity),
                          content=json.dumps(_add_entity_properties(entity), ensure_ascii=False).encode("utf-8"),
                          headers={"Content-Type": "application/json", "Accept": "application/json",
                                   "x-ms-version": table.api_version, "DataServiceVersion": "3.0"})
    response = await table._client.send_request(request)
    if response.status_code != 204:
        map_error(response.status_code, response, {404: ResourceNotFoundError})
        raise HttpResponseError(response=response)


async def get_entity(table: TableClient, partition_key: str, row_key: str,
                     select: list[str] | None = None) -> TableEntity:
    """`table.get_entity(partition_key, row_key, select=select)` without the generated deserializer.

    Raises `ResourceNotFoundError` when there is no such entity (or table), as the SDK does.
    """
    if getattr(table, "_cosmos_endpoint", False):
        return await table.get_entity(partition_key, row_key, select=select)
    url = _entity_url(f"{table.scheme}://{table._primary_hostname}", table.table_name,
                      {"PartitionKey": partition_key, "RowKey": row_key})
    if select:
        url += "?$select=" + quote(",".join(select), safe=",")
    request = HttpRequest("GET", url, headers={"Accept": "application/json;odata=minimalmetadata",
                                               "x-ms-version": table.api_version, "DataServiceVersion": "3.0"})
    response = await table._client.send_request(request)
    if response.status_code != 200:
        map_error(response.status_code, response, {404: ResourceNotFoundError})
        raise HttpResponseError(response=response)
    return _convert_to_entity(response.json())


async def upsert_chunk(table: TableClient, chunk: list[Entity], mode: UpdateMode = UpdateMode.REPLACE) -> None:
    """Upsert one chunk of `transaction_chunks`: a single entity needs no transaction."""
    if len(chunk) == 1:
        await upsert_entity(table, chunk[0], mode)
    else:
        await submit_upserts(table, chunk, mode)


class GroupCommitUpserts:
    """Upserts from concurrent callers, written together (replace, or merge with `mode=UpdateMode.MERGE`).

    While one write is in flight, later callers' entities gather; the next write sends them all, one transaction
    per partition chunk. Under load that is a request per partition instead of one per entity; alone, a caller
    waits for one round trip as before. Each caller learns whether its own entities were written.
    """

    def __init__(self, table: TableClient, mode: UpdateMode = UpdateMode.REPLACE) -> None:
        self.table = table
        self.mode = mode
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
        # The same key twice in one transaction is refused: the later write wins, as it would one by one
        # (for merges, column by column).
        latest: dict[tuple[str, str], Entity] = {}
        owners: dict[tuple[str, str], list[int]] = {}
        merging = self.mode == UpdateMode.MERGE
        for index, (entities, _) in enumerate(pending):
            for entity in entities:
                key = (entity["PartitionKey"], entity["RowKey"])
                latest[key] = {**latest[key], **entity} if merging and key in latest else entity
                owners.setdefault(key, []).append(index)
        chunks = list(transaction_chunks(latest.values()))
        results = await asyncio.gather(*(upsert_chunk(self.table, c, self.mode) for c in chunks),
                                       return_exceptions=True)
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
