"""Every dead letter is written to the poison queue, recorded for listing and replay, and said once as the
`dead_lettered` event that the alert rule counts (docs/deploy.md)."""

from __future__ import annotations

import asyncio
import json
import logging
from types import SimpleNamespace
from typing import Any

import pytest

from shared.delivery.messages import send_dead_letter
from shared.operations.dead_letters import DeadLetterQueue


class RecordingQueue:
    """Stands in for a poison QueueClient: this test is about what is logged and recorded beside the write."""

    queue_name = "inquba-events-poison"

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send_message(self, content: str) -> SimpleNamespace:
        self.sent.append(content)
        return SimpleNamespace(id=f"m{len(self.sent)}", pop_receipt="receipt")


class RecordingRecords:
    def __init__(self) -> None:
        self.added: list[dict[str, Any]] = []

    async def add(self, queue: str, original: str, **fields: Any) -> str:
        self.added.append({"queue": queue, "original": original, **fields})
        return "record"


def test_a_dead_letter_is_written_recorded_and_logged_as_the_alerts_event(caplog: pytest.LogCaptureFixture) -> None:
    poison, records = RecordingQueue(), RecordingRecords()
    with caplog.at_level(logging.WARNING, logger="shared"):
        asyncio.run(send_dead_letter(DeadLetterQueue(poison, records),  # type: ignore[arg-type]
                                     {"kind": "event", "identifier": "order-1"}, "HTTP 400: bad", "failed", 400,
                                     identifier="order-1", attempts=2))
    (copy,) = poison.sent
    assert json.loads(copy)["deadLetter"]["error"] == "HTTP 400: bad"
    assert json.loads(copy)["deadLetter"]["attempts"] == 2
    (record,) = records.added
    assert record["queue"] == "inquba-events" and json.loads(record["original"]) == {
        "kind": "event", "identifier": "order-1"}  # as it was before the envelope: what replay re-enqueues
    assert (record["poison_message_id"], record["poison_pop_receipt"], record["attempts"]) == ("m1", "receipt", 2)
    (record,) = [r for r in caplog.records if getattr(r, "event", None) == "dead_lettered"]
    assert (record.queue, record.identifier, record.status, record.upstream_status) == (  # type: ignore[attr-defined]
        "inquba-events-poison", "order-1", "failed", 400)
