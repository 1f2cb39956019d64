"""The `insider-sync` queue, drained in bulk so that 10,000 queued updates cost about ten upsert requests.

A queue trigger sees one message at a time; Insider takes 1,000 users per request. So a timer drains
the queue with the SDK: it receives messages (32 per call) until about 1,000 customers are in hand,
syncs them in as few requests as the limits allow, then settles each message: deleted when all its
customers are final, its retryable customers re-queued with a delay (only those, never the ones
that succeeded), and dead-lettered after DELIVERY_MAX_ATTEMPTS. On a 403 nothing is dropped: the
unsent customers wait in the queue until the pause is lifted.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from azure.storage.queue.aio import QueueClient

from shared.app_context import AppContext
from shared.insider_sync import CustomerResult
from shared.queue_messages import dead_letter_text
from shared.retry_policy import retry_delay_seconds

logger = logging.getLogger(__name__)

QUEUE_SETTING = "INSIDER_SYNC_QUEUE"
CHUNK_CUSTOMERS = 1000
RECEIVE_LEASE_SECONDS = 300
PAUSED_RECHECK_SECONDS = 10  # while paused the drain receives nothing, so this only bounds resume latency
MAX_CUSTOMERS_PER_MESSAGE = 100
SETTLE_CONCURRENCY = 32
LINGER_SECONDS = 2.0
LINGER_POLL_SECONDS = 0.2


@dataclass
class SyncMessage:
    """`{"customers": [...], "requestId"?, "attempt"?}`, or one customer object on its own."""

    customers: list[Any]
    request_id: str | None = None
    attempt: int = 1

    @classmethod
    def parse(cls, text: str) -> SyncMessage:
        body = json.loads(text)
        if isinstance(body, dict) and isinstance(body.get("customers"), list):
            attempt = body.get("attempt", 1)
            request_id = body.get("requestId")
            if not isinstance(attempt, int) or attempt < 1 or not (request_id is None or isinstance(request_id, str)):
                raise ValueError("attempt must be a positive integer and requestId a string")
            return cls(body["customers"], request_id, attempt)
        if isinstance(body, dict) and "id" in body:
            return cls([body])
        raise ValueError('expected {"customers": [...]} or a customer object with an "id"')

    def to_text(self) -> str:
        body: dict[str, Any] = {"customers": self.customers, "attempt": self.attempt}
        if self.request_id:
            body["requestId"] = self.request_id
        return json.dumps(body, ensure_ascii=False, default=str)


@dataclass
class DrainStats:
    messages: int = 0
    customers: int = 0
    requests: int = 0
    paused: bool = False
    outcomes: dict[str, int] = field(default_factory=dict)


@dataclass
class _Received:
    raw: Any  # azure.storage.queue.QueueMessage
    message: SyncMessage


async def _receive_chunk(queue: QueueClient, poison: QueueClient) -> list[_Received]:
    """Messages holding up to CHUNK_CUSTOMERS customers, so that each chunk fills whole upsert requests.

    Receives are sized by the customers per message seen so far; a message that would overflow the
    chunk is released at once for the next one. When the queue runs dry with a part-full chunk, it
    lingers briefly: producers often write just behind the drain.
    """
    chunk: list[_Received] = []
    customers = 0
    linger_until: float | None = None
    while customers < CHUNK_CUSTOMERS:
        per_message = max(1, customers // len(chunk)) if chunk else 1
        wanted = max(1, min(32, (CHUNK_CUSTOMERS - customers) // per_message))
        pages = queue.receive_messages(messages_per_page=wanted, visibility_timeout=RECEIVE_LEASE_SECONDS).by_page()
        try:
            page = [m async for m in await pages.__anext__()]
        except StopAsyncIteration:
            page = []
        if not page:
            if not chunk:
                break
            linger_until = linger_until or time.monotonic() + LINGER_SECONDS
            if time.monotonic() >= linger_until:
                break
            await asyncio.sleep(LINGER_POLL_SECONDS)
            continue
        linger_until = None
        for raw in page:
            try:
                message = SyncMessage.parse(raw.content)
            except ValueError as exc:
                await poison.send_message(dead_letter_text(raw.content, f"malformed message: {exc}", "failed", None))
                await queue.delete_message(raw)
                continue
            if chunk and customers + len(message.customers) > CHUNK_CUSTOMERS:
                await queue.update_message(raw, visibility_timeout=0)  # next chunk's
                continue
            chunk.append(_Received(raw, message))
            customers += len(message.customers)
    return chunk


async def _settle(ctx: AppContext, queue: QueueClient, poison: QueueClient, item: _Received,
                  results: list[CustomerResult], paused: bool) -> None:
    message = item.message
    retry = [c for c, r in zip(message.customers, results, strict=True) if r.status == "failed" and r.retryable]
    retry_results = [r for r in results if r.status == "failed" and r.retryable]
    give_up = bool(retry) and not paused and message.attempt >= ctx.settings.max_attempts
    if retry and paused:
        # Kept as they are, attempt not counted: a paused connection is not the customers' fault.
        await queue.send_message(SyncMessage(retry, message.request_id, message.attempt).to_text(),
                                 visibility_timeout=PAUSED_RECHECK_SECONDS, time_to_live=-1)
    elif retry and not give_up:
        delay = retry_delay_seconds(message.attempt, None, base=ctx.settings.retry_base_delay_seconds,
                                    cap=ctx.settings.retry_max_delay_seconds)
        await queue.send_message(SyncMessage(retry, message.request_id, message.attempt + 1).to_text(),
                                 visibility_timeout=delay, time_to_live=-1)
    elif give_up:
        errors = "; ".join(e["message"] for r in retry_results for e in r.errors)[:4000]
        await poison.send_message(dead_letter_text(SyncMessage(retry, message.request_id, message.attempt).to_text(),
                                                   errors, "dead-lettered", retry_results[0].upstream_status))
    if message.request_id:
        for result in results:
            if result.customer_id is None:
                continue
            status = result.status
            if status == "failed" and result.retryable:
                status = "dead-lettered" if give_up else "pending"
            await ctx.batches.update(message.request_id, result.customer_id, status, attempts=message.attempt,
                                     upstream_status=result.upstream_status,
                                     error="; ".join(e["message"] for e in result.errors) or None)
    await queue.delete_message(item.raw)


_draining = asyncio.Lock()


async def drain(ctx: AppContext, *, budget_seconds: float = 50.0) -> DrainStats:
    """Sync what is on the queue, chunk by chunk, until it is empty, paused or the budget is spent."""
    if _draining.locked():  # the previous tick is still draining: one drainer per process keeps order
        return DrainStats()
    async with _draining:
        return await _drain(ctx, budget_seconds)


async def _drain(ctx: AppContext, budget_seconds: float) -> DrainStats:
    stats = DrainStats()
    syncer = ctx.insider_syncer()
    if await syncer.pause.state():
        stats.paused = True
        return stats
    queue = ctx.storage.work_queue(QUEUE_SETTING)
    poison = ctx.storage.poison_queue(QUEUE_SETTING)
    deadline = time.monotonic() + budget_seconds
    gate = asyncio.Semaphore(SETTLE_CONCURRENCY)
    while time.monotonic() < deadline:
        chunk = await _receive_chunk(queue, poison)
        if not chunk:
            break
        mapping = await ctx.mapping_store.compiled()
        customers = [c for item in chunk for c in item.message.customers]
        outcome = await syncer.sync(mapping, customers, inline_retry=False)
        stats.messages += len(chunk)
        stats.customers += len(customers)
        stats.requests += outcome.requests_sent
        for result in outcome.results:
            stats.outcomes[result.status] = stats.outcomes.get(result.status, 0) + 1

        async def settle(item: _Received, results: list[CustomerResult], paused: bool) -> None:
            async with gate:
                await _settle(ctx, queue, poison, item, results, paused)

        offset, tasks = 0, []
        for item in chunk:
            size = len(item.message.customers)
            tasks.append(settle(item, outcome.results[offset : offset + size], outcome.paused is not None))
            offset += size
        await asyncio.gather(*tasks)
        if outcome.paused:
            stats.paused = True
            break
    if stats.messages:
        logger.info("insider drain: %d message(s), %d customer(s), %d request(s), outcomes %s, paused=%s",
                    stats.messages, stats.customers, stats.requests, stats.outcomes, stats.paused)
    return stats
