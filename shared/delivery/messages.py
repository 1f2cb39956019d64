"""The queue message formats (docs/queues.md): inQuba work items and their dead-letter envelope."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.identifiers import IDENTIFIER_PATTERN
from shared.telemetry import log_extra
from shared.timestamps import iso_utc

if TYPE_CHECKING:
    from azure.storage.queue.aio import QueueClient

logger = logging.getLogger(__name__)


class InqubaQueueMessage(BaseModel):
    """`{"kind", "identifier", "payload", "batchId"?, "attempt"?}`: payload is the body of the HTTP route."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    kind: Literal["event", "transaction"]
    identifier: str = Field(pattern=IDENTIFIER_PATTERN)
    payload: dict[str, Any]
    batch_id: str | None = Field(None, alias="batchId", max_length=128)
    attempt: int = Field(1, ge=1, le=1000, description="Set by the app when it re-queues a retry.")

    def to_text(self) -> str:
        return json.dumps(self.model_dump(by_alias=True, exclude_none=True), ensure_ascii=False, default=str)


def dead_letter_text(original: str | dict[str, Any], error: str, status: str, upstream_status: int | None) -> str:
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
        "at": iso_utc(),
    }
    return json.dumps(body, ensure_ascii=False, default=str)


async def send_dead_letter(poison: QueueClient, original: str | dict[str, Any], error: str, status: str,
                           upstream_status: int | None, *, identifier: str | None = None) -> None:
    """Put the dead-letter copy on `poison` and say so: the `dead_lettered` event the alert rules count.

    docs/deploy.md ("Alerts") queries `traces` for `customDimensions.event == "dead_lettered"`.
    """
    await poison.send_message(dead_letter_text(original, error, status, upstream_status))
    logger.warning("dead-lettered to %s (%s): %s", poison.queue_name, status, error[:500],
                   extra=log_extra(identifier, event="dead_lettered", queue=poison.queue_name, status=status,
                                   upstream_status=upstream_status))
