"""The queue message formats (docs/queues.md): inQuba work items and their dead-letter envelope."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.identifiers import IDENTIFIER_PATTERN
from shared.telemetry import log_extra
from shared.timestamps import iso_utc

if TYPE_CHECKING:
    from shared.operations.dead_letters import DeadLetterQueue

logger = logging.getLogger(__name__)


class InqubaQueueMessage(BaseModel):
    """`{"kind", "identifier", "payload", "batchId"?, "attempt"?, "firstSend"?}`: payload is the route's body."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    kind: Literal["event", "transaction"]
    identifier: str = Field(pattern=IDENTIFIER_PATTERN)
    payload: dict[str, Any]
    batch_id: str | None = Field(None, alias="batchId", max_length=128)
    attempt: int = Field(1, ge=1, le=1000, description="Set by the app when it re-queues a retry.")
    # Only the batch route's own message of an item may skip the status read on its first delivery: every other
    # copy (a replay, a dead letter put back by hand, a producer's) lacks it and meets the duplicate guard.
    first_send: bool | None = Field(None, alias="firstSend",
                                    description="Set by the batch route on the one message it writes for an item.")

    def to_text(self) -> str:
        return json.dumps(self.model_dump(by_alias=True, exclude_none=True), ensure_ascii=False, default=str)


def dead_letter_text(original: str | dict[str, Any], error: str, status: str, upstream_status: int | None,
                     at: datetime | None = None, attempts: int | None = None) -> str:
    """The poison-queue copy: the original message plus why it was given up."""
    body: dict[str, Any]
    if isinstance(original, dict):
        body = dict(original)
    else:
        try:
            parsed = json.loads(original)
            body = parsed if isinstance(parsed, dict) else {"original": original}
        except ValueError:
            body = {"original": original}
    body["deadLetter"] = {
        "status": status,
        "error": error,
        "upstreamStatus": upstream_status,
        "attempts": attempts,
        "at": iso_utc(at.timestamp() if at else None),
    }
    return json.dumps(body, ensure_ascii=False, default=str)


async def send_dead_letter(poison: DeadLetterQueue, original: str | dict[str, Any], error: str, status: str,
                           upstream_status: int | None, *, identifier: str | None = None,
                           attempts: int | None = None) -> None:
    """Put the dead-letter copy on the poison queue, record it, and say so: the one way the app dead-letters.

    The record (`shared/operations/dead_letters.py`) is what `GET /api/dead-letters` lists and replay re-enqueues.
    The log line is the `dead_lettered` event the alert rules count: docs/deploy.md ("Alerts") queries `traces`
    for `customDimensions.event == "dead_lettered"`.
    """
    at = datetime.now(UTC)
    text = original if isinstance(original, str) else json.dumps(original, ensure_ascii=False, default=str)
    sent = await poison.poison.send_message(dead_letter_text(original, error, status, upstream_status, at, attempts))
    await poison.records.add(poison.work_queue_name, text, status=status, error=error,
                             upstream_status=upstream_status, attempts=attempts, identifier=identifier,
                             poison_message_id=sent.id, poison_pop_receipt=sent.pop_receipt, at=at)
    logger.warning("dead-lettered to %s (%s): %s", poison.queue_name, status, error[:500],
                   extra=log_extra(identifier, event="dead_lettered", queue=poison.queue_name, status=status,
                                   upstream_status=upstream_status))
