"""The `insider-sync` queue: a queue trigger whose invocations pack together into upserts of up to 1,000 users.

The host hands a queue trigger one message per invocation, up to batchSize + newBatchThreshold (24) at once.
Drained one by one, 24 invocations would send 24 small upserts where one would do. So every invocation puts
its message on this process's waiting list and waits until its customers are final; one drain at a time
takes everything waiting, receives further messages of the same queue with the SDK until about 1,000
customers are in hand, syncs them in as few requests as the limits allow, and settles each message:

- customers final (synced, rejected, failed for good): the message is done (an invocation returns, and the
  host deletes its message; a message the drain received itself is deleted by the drain);
- retryable customers (429, 5xx, timeouts, replies Insider did not confirm) are re-queued alone, with a
  backoff, and dead-lettered after DELIVERY_MAX_ATTEMPTS;
- on a 403 (or while paused) nothing is dropped: the customers are re-queued unchanged, re-checked after a
  growing delay, until the pause is lifted.

A message's `kind` says what to do with its customers: `sync` (upserts), `delete-attributes` (packed the same
way, into delete attribute requests of up to 1,000 users) or `erase` (one customer per request, paced to
Insider's rate limits; at most 100 erased customers in a chunk). A chunk sends its kinds at once.

An invocation returns only after its message is settled, so the invoking message is never deleted before
its customers are final; a drain that fails (storage down) fails the invocations it holds, and the host
retries their messages. A drain runs only while some invocation waits on it: no work outside an invocation.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field, replace
from typing import Any

from azure.storage.queue.aio import QueueClient

from shared.app_context import AppContext
from shared.delivery.messages import send_dead_letter
from shared.delivery.retry_policy import retry_delay_seconds
from shared.identifiers import new_identifier
from shared.insider.compiled_mapping import CompiledMapping
from shared.insider.sync import CustomerResult, SyncOutcome
from shared.operations.dead_letters import DeadLetterQueue

logger = logging.getLogger(__name__)

QUEUE_SETTING = "INSIDER_SYNC_QUEUE"
CHUNK_CUSTOMERS = 1000
RECEIVE_LEASE_SECONDS = 300
# While paused, a held message is looked at again after 10 s, 20 s, ... up to 5 minutes: a short pause resumes
# quickly, a long one costs about a dozen invocations per message an hour.
PAUSED_RECHECK_SECONDS = 10
PAUSED_RECHECK_MAX_SECONDS = 300
MAX_CUSTOMERS_PER_MESSAGE = 100
# Erasures go one customer per request, paced to Insider's rate limits (anonymise: 500 a minute): a chunk takes at
# most this many, and gives each up to this long to ride out throttling before it is re-queued.
MAX_ERASE_PER_CHUNK = 100
ERASE_DEADLINE_SECONDS = 60.0
SETTLE_CONCURRENCY = 32
LINGER_SECONDS = 2.0
LINGER_POLL_SECONDS = 0.2
NOT_CONFIGURED = "Insider is not configured: set INSIDER_PARTNER_NAME and INSIDER_API_KEY, then replay"


KINDS = ("sync", "erase", "delete-attributes")
ERASE_ACTIONS = ("delete", "anonymize")


@dataclass
class SyncMessage:
    """`{"customers": [...], "kind"?, "requestId"?, "attempt"?, "held"?}`, or one customer object on its own.

    `kind` is `sync` (the default: an upsert), `erase` (with `action`: delete or anonymize) or `delete-attributes`
    (with `whole`, `partial`, `custom` as `POST /api/insider/attributes/delete` takes them, kept in `deletion`).
    """

    customers: list[Any]
    request_id: str | None = None
    attempt: int = 1
    held: int = 0  # how many times a pause has sent it back unchanged
    kind: str = "sync"
    action: str | None = None  # erase: delete | anonymize
    deletion: dict[str, Any] | None = None  # delete-attributes: the per-user {whole, partial, custom}

    @classmethod
    def parse(cls, text: str) -> SyncMessage:
        body = json.loads(text)
        if isinstance(body, dict) and isinstance(body.get("customers"), list):
            attempt, held = body.get("attempt", 1), body.get("held", 0)
            request_id = body.get("requestId")
            if not isinstance(attempt, int) or attempt < 1 or not (request_id is None or isinstance(request_id, str)):
                raise ValueError("attempt must be a positive integer and requestId a string")
            if not isinstance(held, int) or held < 0:
                raise ValueError("held must be a whole number")
            kind = body.get("kind", "sync")
            if kind not in KINDS:
                raise ValueError(f"kind must be one of {', '.join(KINDS)}")
            message = cls(body["customers"], request_id, attempt, held, kind)
            if kind == "erase":
                if body.get("action") not in ERASE_ACTIONS:
                    raise ValueError("an erase message's action must be delete or anonymize")
                message.action = body["action"]
            elif kind == "delete-attributes":
                message.deletion = _deletion(body)
            return message
        if isinstance(body, dict) and "id" in body:
            return cls([body])
        raise ValueError('expected {"customers": [...]} or a customer object with an "id"')

    def to_text(self) -> str:
        body: dict[str, Any] = {"customers": self.customers, "attempt": self.attempt}
        if self.kind != "sync":
            body["kind"] = self.kind
        if self.action:
            body["action"] = self.action
        body.update(self.deletion or {})
        if self.request_id:
            body["requestId"] = self.request_id
        if self.held:
            body["held"] = self.held
        return json.dumps(body, ensure_ascii=False, default=str)

    def again(self, customers: list[Any], attempt: int, held: int = 0) -> SyncMessage:
        """The same work for `customers` (a retry, or held back by a pause)."""
        return replace(self, customers=customers, attempt=attempt, held=held)


def _deletion(body: dict[str, Any]) -> dict[str, Any]:
    """What a delete-attributes message deletes, checked by the model of the HTTP route's body."""
    from pydantic import ValidationError

    from shared.web.api_models import AttributeDeletion
    from shared.web.parsing import field_errors

    try:
        spec = AttributeDeletion.model_validate({k: body[k] for k in ("whole", "partial", "custom") if k in body})
    except ValidationError as exc:
        raise ValueError("; ".join(f"{e.field} {e.message}" for e in field_errors(exc))) from None
    return spec.fragment()


@dataclass
class DrainStats:
    messages: int = 0
    customers: int = 0
    requests: int = 0
    paused: bool = False
    outcomes: dict[str, int] = field(default_factory=dict)


@dataclass(eq=False)
class _Invoked:
    """A message the host handed to an invocation: settled by resolving `settled`; the host deletes it."""

    message: SyncMessage
    settled: asyncio.Future[None]

    async def finish(self, queue: QueueClient) -> None:
        if not self.settled.done():
            self.settled.set_result(None)


@dataclass(eq=False)
class _Received:
    """A message the drain received itself: settled by deleting it."""

    raw: Any  # azure.storage.queue.QueueMessage
    message: SyncMessage

    async def finish(self, queue: QueueClient) -> None:
        await queue.delete_message(self.raw)


_Item = _Invoked | _Received


async def _settle(ctx: AppContext, queue: QueueClient, poison: DeadLetterQueue, item: _Item,
                  results: list[CustomerResult], paused: bool) -> None:
    message = item.message
    retry = [c for c, r in zip(message.customers, results, strict=True) if r.retryable]
    retry_results = [r for r in results if r.retryable]
    give_up = bool(retry) and not paused and message.attempt >= ctx.settings.max_attempts
    if retry and paused:
        # Kept as they are, attempt not counted: a paused connection is not the customers' fault.
        delay = min(PAUSED_RECHECK_SECONDS * 2**message.held, PAUSED_RECHECK_MAX_SECONDS)
        await queue.send_message(message.again(retry, message.attempt, message.held + 1).to_text(),
                                 visibility_timeout=delay, time_to_live=-1)
    elif retry and not give_up:
        delay = retry_delay_seconds(message.attempt, None, base=ctx.settings.retry_base_delay_seconds,
                                    cap=ctx.settings.retry_max_delay_seconds)
        await queue.send_message(message.again(retry, message.attempt + 1).to_text(),
                                 visibility_timeout=delay, time_to_live=-1)
    elif give_up:
        errors = "; ".join(e["message"] for r in retry_results for e in r.errors)[:4000]
        await send_dead_letter(poison, message.again(retry, message.attempt).to_text(), errors,
                               "dead-lettered", retry_results[0].upstream_status, identifier=message.request_id,
                               attempts=message.attempt)
    if message.request_id:
        for result in results:
            if result.customer_id is None:
                continue
            status = result.status
            if result.retryable:
                status = "dead-lettered" if give_up else "pending"
            await ctx.batches.update(message.request_id, result.customer_id, status, attempts=message.attempt,
                                     upstream_status=result.upstream_status,
                                     error="; ".join(e["message"] for e in result.errors) or None)
    await item.finish(queue)


class InsiderDrain:
    """This process's drain of `insider-sync`: invocations wait on it; it runs while any of them waits."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.waiting: list[_Invoked] = []
        self.running: asyncio.Task[None] | None = None
        self.stats = DrainStats()

    async def handle(self, text: str) -> None:
        """Settle one message the host invoked the trigger with; returns when its customers are final."""
        queue, poison = self._queues()
        try:
            message = SyncMessage.parse(text)
        except ValueError as exc:
            await send_dead_letter(poison, text, f"malformed message: {exc}", "failed", None)
            return
        if self.ctx.settings.insider is None:
            await send_dead_letter(poison, text, NOT_CONFIGURED, "dead-lettered", None)
            return
        item = _Invoked(message, asyncio.get_running_loop().create_future())
        self.waiting.append(item)
        if self.running is None:
            self.running = asyncio.create_task(self._run(queue, poison))
        await item.settled  # the drain's exception, if it failed: the host then retries this message

    def _queues(self) -> tuple[QueueClient, DeadLetterQueue]:
        return self.ctx.storage.work_queue(QUEUE_SETTING), self.ctx.dead_letter_queue(QUEUE_SETTING)

    async def _run(self, queue: QueueClient, poison: DeadLetterQueue) -> None:
        try:
            while self.waiting:  # checked with no await before `running` is cleared: no invocation is left behind
                chunk: list[_Item] = []
                try:
                    await self._fill_chunk(queue, poison, chunk)
                    await self._sync_chunk(queue, poison, chunk)
                except Exception as exc:
                    logger.exception("insider drain failed; its invocations fail so that the host retries them")
                    for item in [*chunk, *self.waiting]:
                        if isinstance(item, _Invoked) and not item.settled.done():
                            item.settled.set_exception(exc)
                    self.waiting.clear()
        finally:
            self.running = None

    async def _fill_chunk(self, queue: QueueClient, poison: DeadLetterQueue, chunk: list[_Item]) -> None:
        """Into `chunk`: what waits, topped up to about CHUNK_CUSTOMERS customers (none while paused) from the queue and
        from what other invocations bring meanwhile (the host leases their messages: no receive would find them).

        A message that would overflow the chunk is released at once for the next one. When the queue runs dry
        in the middle of a burst (the drain has received some, several invocations wait, or the message is part of a
        request the app queued), it lingers until nothing has come for a moment: producers often write just behind
        the drain; a lone message of a producer goes out at once.
        """
        customers = self._take_waiting(chunk, 0)
        if await self.ctx.insider_syncer().pause.state():
            return
        received = 0
        linger_until: float | None = None
        while customers < CHUNK_CUSTOMERS:
            # Messages the host handed to other invocations meanwhile (it leases them, so no receive finds them).
            before, customers = customers, self._take_waiting(chunk, customers)
            if customers >= CHUNK_CUSTOMERS:
                break
            if customers > before:
                linger_until = None
            per_message = max(1, customers // len(chunk))
            wanted = max(1, min(32, (CHUNK_CUSTOMERS - customers) // per_message))
            pages = queue.receive_messages(messages_per_page=wanted, visibility_timeout=RECEIVE_LEASE_SECONDS).by_page()
            try:
                page = [m async for m in await pages.__anext__()]
            except StopAsyncIteration:
                page = []
            if not page:
                # A lone message goes out at once, unless it is part of a request the app queued: those are written
                # in a burst, one message after the other, and the host may hand the first over before the next exists.
                if not received and len(chunk) == 1 and not chunk[0].message.request_id:
                    break
                linger_until = linger_until or time.monotonic() + LINGER_SECONDS
                if time.monotonic() >= linger_until:
                    break
                await asyncio.sleep(LINGER_POLL_SECONDS)
                continue
            linger_until = None
            for raw in page:
                received += 1
                try:
                    message = SyncMessage.parse(raw.content)
                except ValueError as exc:
                    await send_dead_letter(poison, raw.content, f"malformed message: {exc}", "failed", None)
                    await queue.delete_message(raw)
                    continue
                if not _fits(chunk, customers, message):
                    await queue.update_message(raw, visibility_timeout=0)  # next chunk's
                    continue
                chunk.append(_Received(raw, message))
                customers += len(message.customers)

    def _take_waiting(self, chunk: list[_Item], customers: int) -> int:
        """Move waiting invocations into the chunk while they fit; the chunk's customer count."""
        while self.waiting and (not chunk or _fits(chunk, customers, self.waiting[0].message)):
            item = self.waiting.pop(0)
            chunk.append(item)
            customers += len(item.message.customers)
        return customers

    async def _sync_chunk(self, queue: QueueClient, poison: DeadLetterQueue, chunk: list[_Item]) -> None:
        """Send a chunk's work, kind by kind at once, and settle every message with its customers' results."""
        mapping = await self.ctx.mapping_store.compiled()
        by_kind: dict[str, list[_Item]] = {}
        for item in chunk:
            by_kind.setdefault(item.message.kind, []).append(item)
        sent = await asyncio.gather(*(self._send(kind, items, mapping) for kind, items in by_kind.items()))
        stats = self.stats
        stats.messages += len(chunk)
        stats.paused = any(outcome.paused is not None for _, outcome in sent)
        gate = asyncio.Semaphore(SETTLE_CONCURRENCY)

        async def settle(item: _Item, results: list[CustomerResult], paused: bool) -> None:
            async with gate:
                await _settle(self.ctx, queue, poison, item, results, paused)

        tasks = []
        for per_item, outcome in sent:
            stats.customers += len(outcome.results)
            stats.requests += outcome.requests_sent
            for result in outcome.results:
                stats.outcomes[result.status] = stats.outcomes.get(result.status, 0) + 1
            tasks += [settle(item, results, outcome.paused is not None) for item, results in per_item]
        await asyncio.gather(*tasks)
        logger.info("insider drain: %d message(s), %s, %d request(s), paused=%s", len(chunk),
                    ", ".join(f"{len(items)} {kind}" for kind, items in by_kind.items()),
                    sum(outcome.requests_sent for _, outcome in sent), stats.paused)

    async def _send(self, kind: str, items: list[_Item], mapping: CompiledMapping,
                    ) -> tuple[list[tuple[_Item, list[CustomerResult]]], SyncOutcome]:
        """One kind's messages: sync and delete-attributes packed into bulk requests, erase one customer a request."""
        if kind == "erase":
            eraser = self.ctx.insider_eraser()
            outcomes = await asyncio.gather(*(
                eraser.erase(mapping, item.message.customers, item.message.action or "", first_attempt=
                             item.message.attempt, deadline_seconds=ERASE_DEADLINE_SECONDS) for item in items))
            total = SyncOutcome([r for o in outcomes for r in o.results], sum(o.requests_sent for o in outcomes),
                                paused=next((o.paused for o in outcomes if o.paused), None))
            return [(item, o.results) for item, o in zip(items, outcomes, strict=True)], total
        syncer = self.ctx.insider_syncer()
        customers = [c for item in items for c in item.message.customers]
        batch_ids = [item.message.request_id for item in items for _ in item.message.customers]
        if kind == "delete-attributes":
            deletions = [item.message.deletion or {} for item in items for _ in item.message.customers]
            outcome = await syncer.delete_attributes(mapping, customers, deletions, inline_retry=False,
                                                     batch_ids=batch_ids)
        else:
            outcome = await syncer.sync(mapping, customers, inline_retry=False, batch_ids=batch_ids)
        per_item, offset = [], 0
        for item in items:
            size = len(item.message.customers)
            per_item.append((item, outcome.results[offset : offset + size]))
            offset += size
        return per_item, outcome


def _fits(chunk: list[_Item], customers: int, message: SyncMessage) -> bool:
    """Whether `message` joins the chunk: about 1,000 customers, of which at most 100 erased (one request each)."""
    if customers + len(message.customers) > CHUNK_CUSTOMERS:
        return False
    if message.kind != "erase":
        return True
    erasing = sum(len(item.message.customers) for item in chunk if item.message.kind == "erase")
    return erasing + len(message.customers) <= MAX_ERASE_PER_CHUNK


async def enqueue_request(ctx: AppContext, kind: str, customers: list[dict[str, Any]], template: SyncMessage) -> str:
    """Track `customers` as a request (batch items of `kind`, polled at /api/requests/{id}) and queue them in
    messages of MAX_CUSTOMERS_PER_MESSAGE like `template`; the request id."""
    request_id = new_identifier()
    await ctx.batches.create(request_id, kind, [(c["id"], c) for c in customers])
    queue = ctx.storage.work_queue(QUEUE_SETTING)
    for start in range(0, len(customers), MAX_CUSTOMERS_PER_MESSAGE):
        message = replace(template, customers=customers[start : start + MAX_CUSTOMERS_PER_MESSAGE],
                          request_id=request_id)
        await queue.send_message(message.to_text(), time_to_live=-1)  # kept while a pause outlasts 7 days
    return request_id


_drain: InsiderDrain | None = None


def process_drain(ctx: AppContext) -> InsiderDrain:
    """The drain of this process (one per app context, so one per event loop)."""
    global _drain
    if _drain is None or _drain.ctx is not ctx:
        _drain = InsiderDrain(ctx)
    return _drain


async def process_message(ctx: AppContext, text: str) -> None:
    """The queue trigger's body: settle `text` (one message) together with whatever else is waiting."""
    await process_drain(ctx).handle(text)
