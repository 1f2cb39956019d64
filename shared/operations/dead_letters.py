"""The app's own record of every dead letter: listed and paged beyond the 32 a queue peek shows, and replayed.

`shared.delivery.messages.send_dead_letter`, the one place every poison-queue write of the app goes through,
puts the copy on `<queue>-poison` and then a record in `DEAD_LETTER_TABLE` (keys in docs/table-design.md):
the work queue as PartitionKey, an id that sorts newest first as RowKey, why and when it was given up, the
message as it was before the dead-letter envelope, and the poison copy's message id and pop receipt.

Replay (`replay`) takes the records of one work queue in a time window (optionally of one identifier) that
were not replayed yet, claims each with a conditional write (so concurrent or repeated calls move a dead letter
at most once), puts the message back on its work queue with attempt 1, deletes the poison copy and marks the
record replayed. What is delivered twice is stopped by the work queues' own duplicate guard.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient
from azure.storage.queue.aio import QueueClient

from shared.outbound_log.writer import MAX_MS, entry_time_ms, new_entry_id
from shared.web.problems import FieldError, bad_request

if TYPE_CHECKING:
    from shared.app_context import AppContext

logger = logging.getLogger(__name__)

# The work queues whose dead letters the app writes (by setting); the outbound-log retry queue's poison
# messages are the host's own (maxDequeueCount), without a record.
WORK_QUEUE_SETTINGS = ("INQUBA_EVENTS_QUEUE", "INQUBA_TRANSACTIONS_QUEUE", "INSIDER_SYNC_QUEUE")
INSIDER_QUEUE_SETTING = "INSIDER_SYNC_QUEUE"
MESSAGE_COLUMN = "Message"
MESSAGE_CHUNK_CHARS = 30_000  # a Table string property holds 32K UTF-16 code units; a message at most 64 KiB
MAX_MESSAGE_COLUMNS = 3
MAX_REPLAY_PER_CALL = 1000
REPLAY_CONCURRENCY = 16
CLAIM_EXPIRES = timedelta(minutes=5)  # a claim this old was left by a process that died mid-replay
LIST_COLUMNS = ["PartitionKey", "RowKey", "Identifier", "Kind", "Status", "Error", "UpstreamStatus", "Attempts",
                "DeadLetteredAt", "CustomerCount", "ReplayState", "ReplayedAt"]


@dataclass(frozen=True)
class DeadLetterQueue:
    """A work queue's poison queue and the records written beside each copy (`send_dead_letter`)."""

    poison: QueueClient
    records: DeadLetterRecords

    @property
    def queue_name(self) -> str:
        return self.poison.queue_name

    @property
    def work_queue_name(self) -> str:
        return self.poison.queue_name.removesuffix("-poison")


def _describe(original: str) -> dict[str, Any]:
    """What the record says about a message: kind, batch or request, customers."""
    try:
        body = json.loads(original)
    except ValueError:
        return {"Kind": "unknown"}
    if not isinstance(body, dict):
        return {"Kind": "unknown"}
    if isinstance(body.get("customers"), list):
        return {"Kind": "insider", "CustomerCount": len(body["customers"]), "BatchId": body.get("requestId")}
    if "id" in body and "kind" not in body:
        return {"Kind": "insider", "CustomerCount": 1}
    kind = body.get("kind")
    return {"Kind": kind if kind in ("event", "transaction") else "unknown", "BatchId": body.get("batchId")}


def _message_columns(text: str) -> dict[str, str]:
    chunks = [text[i : i + MESSAGE_CHUNK_CHARS] for i in range(0, len(text), MESSAGE_CHUNK_CHARS)] or [""]
    if len(chunks) > MAX_MESSAGE_COLUMNS:
        raise ValueError(f"a dead-lettered message of {len(text)} characters does not fit its record")
    return {MESSAGE_COLUMN + (str(i) if i else ""): chunk for i, chunk in enumerate(chunks)}


def _message_text(entity: dict[str, Any]) -> str:
    return "".join(entity.get(MESSAGE_COLUMN + (str(i) if i else ""), "") for i in range(MAX_MESSAGE_COLUMNS))


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_ms(moment: datetime) -> int:
    """Whole milliseconds since 1970, exactly (no float): record ids and time bounds must agree to the millisecond."""
    return (moment - EPOCH) // timedelta(milliseconds=1)


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def record_time(record_id: str) -> datetime:
    """When a record's dead letter was given up, to the millisecond its id holds."""
    return EPOCH + timedelta(milliseconds=entry_time_ms(record_id))


def item(entity: dict[str, Any]) -> dict[str, Any]:
    """A record as the API answers it (`DeadLetterItem`)."""
    return {
        "id": entity["RowKey"],
        "queue": entity["PartitionKey"],
        "identifier": entity.get("Identifier"),
        "kind": entity.get("Kind", "unknown"),
        "deadLetteredAt": _iso(record_time(entity["RowKey"])),  # to the id's millisecond: a window can name it
        "status": entity.get("Status", "dead-lettered"),
        "upstreamStatus": entity.get("UpstreamStatus"),
        "error": entity.get("Error"),
        "attempts": entity.get("Attempts"),
        "customerCount": entity.get("CustomerCount"),
        "replayedAt": _iso(entity.get("ReplayedAt")) if entity.get("ReplayState") == "replayed" else None,
    }


def _row_bounds(start: datetime | None, end: datetime | None) -> tuple[list[str], dict[str, Any]]:
    """OData on RowKey for [start, end]: ids are inverted milliseconds, so the newest bound is the lower one."""
    clauses, params = [], {}
    if end is not None:
        clauses.append("RowKey ge @newest")
        params["newest"] = f"{max(0, MAX_MS - epoch_ms(end)):013d}"  # ids end in 2286
    if start is not None and epoch_ms(start) > 0:  # from 1970 on is every record (and MAX_MS + 1 is 14 digits)
        clauses.append("RowKey lt @oldest")
        params["oldest"] = f"{max(0, MAX_MS - epoch_ms(start) + 1):013d}"
    return clauses, params


@dataclass(frozen=True)
class DeadLetterQuery:
    queues: tuple[str, ...]
    start: datetime | None = None
    end: datetime | None = None
    identifier: str | None = None
    limit: int = 50
    continuation_token: str | None = None

    def fingerprint(self) -> list[Any]:
        return [list(self.queues), _iso(self.start), _iso(self.end), self.identifier]


def _encode_token(after: str, query: DeadLetterQuery) -> str:
    raw = json.dumps({"after": after, "f": query.fingerprint()}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str, query: DeadLetterQuery) -> str:
    problem = bad_request("invalid continuation token", [FieldError(
        "continuationToken", "is not a token this list issued for these filters: start again without it")])
    try:
        body = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        raise problem from None
    if not isinstance(body, dict) or body.get("f") != query.fingerprint() or not isinstance(body.get("after"), str):
        raise problem
    return body["after"]


class DeadLetterRecords:
    def __init__(self, table: TableClient) -> None:
        self.table = table

    async def add(self, queue: str, original: str, *, status: str, error: str, upstream_status: int | None,
                  attempts: int | None, identifier: str | None, poison_message_id: str, poison_pop_receipt: str,
                  at: datetime) -> str:
        """Record a dead letter that was just put on `queue`'s poison queue; its record id."""
        record_id = new_entry_id(epoch_ms(at))
        entity = {
            "PartitionKey": queue,
            "RowKey": record_id,
            "Identifier": identifier,
            "Status": status,
            "Error": error[:8_000],
            "UpstreamStatus": upstream_status,
            "Attempts": attempts,
            "DeadLetteredAt": at,
            "PoisonMessageId": poison_message_id,
            "PoisonPopReceipt": poison_pop_receipt,
            **_describe(original),
            **_message_columns(original),
        }
        await self.table.create_entity({k: v for k, v in entity.items() if v is not None})
        return record_id

    async def page(self, query: DeadLetterQuery) -> dict[str, Any]:
        """Newest first across the queues asked for; a page resumes strictly after the last id it returned."""
        after = _decode_token(query.continuation_token, query) if query.continuation_token else None
        clauses, params = _row_bounds(query.start, query.end)
        if after is not None:
            clauses.append("RowKey gt @after")
            params["after"] = after
        if query.identifier is not None:
            clauses.append("Identifier eq @identifier")
            params["identifier"] = query.identifier

        async def newest(queue: str) -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = []
            text = " and ".join(["PartitionKey eq @pk", *clauses])
            entities = self.table.query_entities(text, parameters={**params, "pk": queue}, select=LIST_COLUMNS,
                                                 results_per_page=query.limit)
            async for entity in entities:
                found.append(entity)
                if len(found) >= query.limit:
                    break
            return found

        per_queue = await asyncio.gather(*(newest(queue) for queue in query.queues))
        merged = sorted((e for found in per_queue for e in found), key=lambda e: (e["RowKey"], e["PartitionKey"]))
        page = merged[: query.limit]
        more = len(merged) > query.limit or any(len(found) >= query.limit for found in per_queue)
        token = _encode_token(page[-1]["RowKey"], query) if more and page else None
        return {"items": [item(e) for e in page], "continuationToken": token,
                "entitiesRead": sum(len(found) for found in per_queue)}

    async def waiting(self, queue: str, start: datetime, end: datetime, identifier: str | None,
                      now: datetime) -> tuple[list[dict[str, Any]], bool]:
        """Records of `queue` in [start, end] not replayed (nor being replayed), oldest first; and whether more."""
        clauses, params = _row_bounds(start, end)
        if identifier is not None:
            clauses.append("Identifier eq @identifier")
            params["identifier"] = identifier
        entities = self.table.query_entities(" and ".join(["PartitionKey eq @pk", *clauses]),
                                             parameters={**params, "pk": queue})
        found: list[dict[str, Any]] = []
        async for entity in entities:
            state = entity.get("ReplayState")
            claimed = entity.get("ReplayClaimedAt")
            if state == "replayed" or (state == "replaying" and claimed and now - claimed < CLAIM_EXPIRES):
                continue
            if len(found) == MAX_REPLAY_PER_CALL:
                return found[::-1], True
            found.append(entity)
        return found[::-1], False

    async def claim(self, entity: dict[str, Any], now: datetime) -> bool:
        """Mark a record as being replayed, unless another call changed it since it was read."""
        try:
            await self.table.update_entity(
                {"PartitionKey": entity["PartitionKey"], "RowKey": entity["RowKey"], "ReplayState": "replaying",
                 "ReplayClaimedAt": now},
                mode=UpdateMode.MERGE, etag=entity.metadata["etag"], match_condition=MatchConditions.IfNotModified)
        except HttpResponseError as exc:
            if exc.status_code in (404, 412):
                return False
            raise
        return True

    async def finish(self, entity: dict[str, Any], *, replayed: bool, message_id: str | None = None,
                     poison_copy: str | None = None) -> None:
        update: dict[str, Any] = {"PartitionKey": entity["PartitionKey"], "RowKey": entity["RowKey"]}
        if replayed:
            update |= {"ReplayState": "replayed", "ReplayedAt": datetime.now(UTC), "ReplayedMessageId": message_id,
                       "PoisonCopy": poison_copy}
        else:
            update["ReplayState"] = "failed"  # waiting again: the next replay takes it
        await self.table.update_entity({k: v for k, v in update.items() if v is not None}, mode=UpdateMode.MERGE)

    async def delete_expired(self, queues: list[str], now: datetime, retention_days: int) -> int:
        """Delete the records older than the retention (the poison copies expire after 7 days anyway)."""
        deleted = 0
        clauses, params = _row_bounds(None, now - timedelta(days=retention_days))
        for queue in queues:
            old = self.table.query_entities(" and ".join(["PartitionKey eq @pk", *clauses]),
                                            parameters={**params, "pk": queue}, select=["PartitionKey", "RowKey"])
            async for entity in old:
                try:
                    await self.table.delete_entity(queue, entity["RowKey"])
                    deleted += 1
                except ResourceNotFoundError:
                    pass
        return deleted


def replay_text(original: str) -> str:
    """The message to put back on the work queue: the original with a fresh attempt count (and not held)."""
    try:
        body = json.loads(original)
    except ValueError:
        return original  # not JSON: back as it came, to be dead-lettered again unless it was fixed at the source
    if not isinstance(body, dict):
        return original
    body.pop("deadLetter", None)
    body.pop("held", None)
    if "kind" in body or isinstance(body.get("customers"), list):
        body["attempt"] = 1
    body.pop("firstSend", None)  # a replayed item's status is read first: the duplicate guard holds
    return json.dumps(body, ensure_ascii=False, default=str)


def work_queue_setting(ctx: AppContext, queue: str) -> str:
    """The setting of a work queue named `queue`; 400 naming the queues there are."""
    by_name = {ctx.settings.queues[setting]: setting for setting in WORK_QUEUE_SETTINGS}
    if queue not in by_name:
        raise bad_request("no such work queue", [FieldError("queue", f"must be one of {', '.join(by_name)}")])
    return by_name[queue]


async def _requeue_batch_items(ctx: AppContext, text: str) -> None:
    """A replayed item of a batch (or customers of a queued Insider request) is `queued` again in its status."""
    try:
        body = json.loads(text)
    except ValueError:
        return
    if not isinstance(body, dict):
        return
    if isinstance(body.get("batchId"), str) and isinstance(body.get("identifier"), str):
        await ctx.batches.update(body["batchId"], body["identifier"], "queued", attempts=0, error="", force=True)
    elif isinstance(body.get("requestId"), str) and isinstance(body.get("customers"), list):
        for customer in body["customers"]:
            if isinstance(customer, dict) and isinstance(customer.get("id"), str):
                await ctx.batches.update(body["requestId"], customer["id"], "queued", attempts=0, error="",
                                         force=True)


async def replay(ctx: AppContext, queue: str, start: datetime, end: datetime | None,
                 identifier: str | None) -> dict[str, Any]:
    """Move the waiting dead letters of `queue` in [start, end] back to it; what was moved (`DeadLetterReplay`)."""
    setting = work_queue_setting(ctx, queue)
    now = datetime.now(UTC)
    end = end or now
    records = ctx.dead_letters
    work = ctx.storage.work_queue(setting)
    poison = ctx.storage.poison_queue(setting)
    live = setting == INSIDER_QUEUE_SETTING  # the Insider queue's messages never expire (docs/queues.md)
    chosen, more = await records.waiting(queue, start, end, identifier, now)
    gate = asyncio.Semaphore(REPLAY_CONCURRENCY)

    async def move(entity: dict[str, Any]) -> dict[str, Any] | None:
        async with gate:
            if not await records.claim(entity, now):
                return None  # another call is replaying it, or did
            text = replay_text(_message_text(entity))
            try:
                if live:
                    sent = await work.send_message(text, time_to_live=-1)
                else:
                    sent = await work.send_message(text)
            except Exception:
                await records.finish(entity, replayed=False)
                raise
            poison_copy = "deleted"
            try:
                await poison.delete_message(entity["PoisonMessageId"], entity["PoisonPopReceipt"])
            except (ResourceNotFoundError, HttpResponseError, KeyError) as exc:
                # Expired (7 days), removed by hand, or received by a tool (a new pop receipt): left as it is.
                poison_copy = f"not deleted: {type(exc).__name__}"
            await records.finish(entity, replayed=True, message_id=sent.id, poison_copy=poison_copy)
            await _requeue_batch_items(ctx, text)
            return {"id": entity["RowKey"], "identifier": entity.get("Identifier"),
                    "deadLetteredAt": item(entity)["deadLetteredAt"]}

    moved = [m for m in await asyncio.gather(*(move(e) for e in chosen)) if m is not None]
    logger.info("replayed %d dead letter(s) of %s (from %s to %s)", len(moved), queue, _iso(start), _iso(end))
    return {"queue": queue, "since": _iso(start), "until": _iso(end), "moved": len(moved), "items": moved,
            "more": more}
