"""Every dead letter is said once as the `dead_lettered` event that the alert rule counts (docs/deploy.md)."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from shared.delivery.messages import send_dead_letter


class RecordingQueue:
    """Stands in for a poison QueueClient: this test is about what is logged beside the write."""

    queue_name = "inquba-events-poison"

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send_message(self, content: str) -> None:
        self.sent.append(content)


def test_a_dead_letter_is_written_and_logged_as_the_alerts_event(caplog: pytest.LogCaptureFixture) -> None:
    poison = RecordingQueue()
    with caplog.at_level(logging.WARNING, logger="shared"):
        asyncio.run(send_dead_letter(poison, {"kind": "event", "identifier": "order-1"}, "HTTP 400: bad",  # type: ignore[arg-type]
                                     "failed", 400, identifier="order-1"))
    (copy,) = poison.sent
    assert json.loads(copy)["deadLetter"]["error"] == "HTTP 400: bad"
    (record,) = [r for r in caplog.records if getattr(r, "event", None) == "dead_lettered"]
    assert (record.queue, record.identifier, record.status, record.upstream_status) == (  # type: ignore[attr-defined]
        "inquba-events-poison", "order-1", "failed", 400)
