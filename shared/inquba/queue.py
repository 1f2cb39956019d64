"""inQuba queue work: enqueue batches, process one message, replay what was given up.

At-least-once delivery: a message is deleted only after its outcome is recorded; a delivery record
keyed by identifier turns a redelivered message into an acknowledgement instead of a second send.
Retries do not block a worker: a retryable failure goes back to the queue as a new message with a
growing visibility delay, and after `DELIVERY_MAX_ATTEMPTS` tries it is dead-lettered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from azure.storage.queue.aio import QueueClient
from pydantic import ValidationError

from shared.app_context import AppContext
from shared.delivery.messages import InqubaQueueMessage, send_dead_letter
from shared.delivery.records import DeliveryRecord
from shared.delivery.retry_policy import retry_delay_seconds
from shared.inquba.models import ITEM_MODELS, InqubaItem, ItemKind
from shared.inquba.publishing import UpstreamFailure
from shared.operations.dead_letters import DeadLetterQueue
from shared.telemetry import log_extra
from shared.web.parsing import field_errors

logger = logging.getLogger(__name__)

QUEUE_SETTINGS = {"event": "INQUBA_EVENTS_QUEUE", "transaction": "INQUBA_TRANSACTIONS_QUEUE"}
ENQUEUE_CONCURRENCY = 32


@dataclass
class ProcessResult:
    outcome: str  # delivered | duplicate | retry | failed | dead-lettered
    identifier: str | None
    delay_seconds: int | None = None


def _queue(ctx: AppContext, kind: str) -> QueueClient:
    return ctx.storage.work_queue(QUEUE_SETTINGS[kind])


def _poison(ctx: AppContext, kind: str) -> DeadLetterQueue:
    return ctx.dead_letter_queue(QUEUE_SETTINGS[kind])


async def enqueue(ctx: AppContext, messages: Sequence[InqubaQueueMessage]) -> list[str | None]:
    """Send each message; per message None on success or the error text (the caller records it)."""
    gate = asyncio.Semaphore(ENQUEUE_CONCURRENCY)

    async def one(message: InqubaQueueMessage) -> str | None:
        async with gate:
            try:
                await _queue(ctx, message.kind).send_message(message.to_text())
                return None
            except Exception as exc:
                logger.error("enqueue failed for %s: %s", message.identifier, type(exc).__name__)
                return f"could not enqueue: {type(exc).__name__}"

    return list(await asyncio.gather(*(one(m) for m in messages)))


async def _finish(
    ctx: AppContext,
    message: InqubaQueueMessage,
    status: str,
    *,
    attempts: int,
    upstream_status: int | None,
    upstream_body: str | None = None,
    error: str | None,
) -> None:
    """Record a final outcome where the duplicate check will look: the batch item, or the delivery record."""
    if message.batch_id:
        await ctx.batches.update(message.batch_id, message.identifier, status, attempts=attempts,
                                 upstream_status=upstream_status, error=error)
    else:
        await ctx.deliveries.save(
            DeliveryRecord(message.identifier, status, message.kind, upstream_status, upstream_body, error, attempts)
        )


async def _dead_letter(
    ctx: AppContext, message: InqubaQueueMessage, status: str, *, attempts: int, upstream_status: int | None, error: str
) -> ProcessResult:
    original = message.model_dump(by_alias=True, exclude_none=True, exclude={"first_send"})  # a copy put back reads
    await send_dead_letter(_poison(ctx, message.kind), original, error, status, upstream_status,
                           identifier=message.identifier, attempts=attempts)
    await _finish(ctx, message, status, attempts=attempts, upstream_status=upstream_status, error=error)
    logger.warning("inQuba %s %s %s after %d attempt(s): %s", message.kind, message.identifier, status, attempts, error,
                   extra=log_extra(message.identifier, status=status))
    return ProcessResult(status, message.identifier)


async def process_message(ctx: AppContext, text: str, expected_kind: ItemKind,
                          dequeue_count: int | None = None) -> ProcessResult:
    """Handle one queue message. Storage errors propagate, so the host retries the message.

    `dequeue_count` is the host's count of this message's deliveries (None: unknown).
    """
    try:
        message = InqubaQueueMessage.model_validate_json(text)
    except ValidationError as exc:
        error = "malformed message: " + "; ".join(f"{e.field} {e.message}" for e in field_errors(exc))
        await send_dead_letter(_poison(ctx, expected_kind), text, error, "failed", None)
        logger.warning("inQuba queue: %s", error)
        return ProcessResult("failed", None)

    # A batch item is its own delivery record (one read instead of two stores); other messages have one.
    # The batch route writes one message per item (firstSend), so its first try on its first delivery cannot
    # have been sent before: nothing to read. A redelivery (the process died, storage failed), a retry, and any
    # other copy (a replay, a dead letter put back by hand) reads.
    if message.batch_id:
        first_sight = bool(message.first_send) and message.attempt == 1 and dequeue_count == 1
        status = None if first_sight else await ctx.batches.item_status(message.batch_id, message.identifier)
    else:
        record = await ctx.deliveries.get(message.identifier)
        status = record.status if record else None
    if status == "delivered":
        return ProcessResult("duplicate", message.identifier)

    try:
        item: InqubaItem = ITEM_MODELS[message.kind].model_validate(message.payload)
    except ValidationError as exc:
        error = "invalid payload: " + "; ".join(f"{e.field} {e.message}" for e in field_errors(exc, "payload"))
        return await _dead_letter(ctx, message, "failed", attempts=message.attempt - 1, upstream_status=None,
                                  error=error)

    try:
        outcome = await ctx.inquba.publish(ctx.inquba_connection(), message.kind, item, message.identifier,
                                           first_attempt=message.attempt, inline_retries=False,
                                           batch_id=message.batch_id)
    except UpstreamFailure as failure:
        attempts = message.attempt + failure.attempts - 1
        if not failure.retryable:
            return await _dead_letter(ctx, message, "failed", attempts=attempts,
                                      upstream_status=failure.upstream_status, error=failure.error)
        if attempts >= ctx.settings.max_attempts:
            return await _dead_letter(ctx, message, "dead-lettered", attempts=attempts,
                                      upstream_status=failure.upstream_status, error=failure.error)
        delay = retry_delay_seconds(attempts, failure.retry_after, base=ctx.settings.retry_base_delay_seconds,
                                    cap=ctx.settings.retry_max_delay_seconds)
        retry = message.model_copy(update={"attempt": attempts + 1, "first_send": None})
        await _queue(ctx, message.kind).send_message(retry.to_text(), visibility_timeout=delay)
        if message.batch_id:
            await ctx.batches.update(message.batch_id, message.identifier, "pending", attempts=attempts,
                                     upstream_status=failure.upstream_status, error=failure.error)
        return ProcessResult("retry", message.identifier, delay)

    await _finish(ctx, message, "delivered", attempts=message.attempt + outcome.attempts - 1,
                  upstream_status=outcome.upstream_status, upstream_body=outcome.upstream_body, error=None)
    return ProcessResult("delivered", message.identifier)


async def replay(ctx: AppContext, batch_id: str, identifier: str | None = None) -> list[str] | None:
    """Put a batch's failed and dead-lettered items back on their queue; None when the batch is unknown."""
    view = await ctx.batches.read(batch_id, with_payloads=True)
    if view is None:
        return None
    chosen = [
        item for item in view.items
        if item.status in ("failed", "dead-lettered") and (identifier is None or item.identifier == identifier)
        and item.payload is not None
    ]
    messages = [
        InqubaQueueMessage(kind=view.kind, identifier=item.identifier, payload=item.payload or {}, batchId=batch_id)
        for item in chosen
    ]
    for message in messages:
        await ctx.batches.update(batch_id, message.identifier, "queued", attempts=0, error="", force=True)
    errors = await enqueue(ctx, messages)
    for message, error in zip(messages, errors, strict=True):
        if error:
            await ctx.batches.update(batch_id, message.identifier, "failed", attempts=0, error=error)
    return [m.identifier for m, e in zip(messages, errors, strict=True) if e is None]


def as_payload(item: InqubaItem) -> dict[str, Any]:
    return item.model_dump(mode="json", by_alias=True, exclude_none=True)
