"""Outbound log test helpers: entries with defaults, and writing them with the app's writer."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from azure.data.tables.aio import TableClient

from shared.outbound_log.writer import OutboundLog, OutboundLogEntry

APP_LOG_TABLE = "outboundlog"  # the app's OUTBOUND_LOG_TABLE default


def entry(**overrides: Any) -> OutboundLogEntry:
    values: dict[str, Any] = {
        "target": "inquba", "operation": "event", "method": "POST", "url": "https://sandbox/cems/api/Events",
        "status_code": 200, "response_time_seconds": 0.25, "error": None, "identifier": None,
        "request_body": '{"eventDefinitionCode":"WELCOME"}', "response_body": '"Success"',
    }
    values.update(overrides)
    return OutboundLogEntry(**values)


async def write_entries_async(connection_string: str, entries: Iterable[OutboundLogEntry],
                              table_name: str = APP_LOG_TABLE) -> None:
    async with TableClient.from_connection_string(connection_string, table_name) as table:
        log = OutboundLog(table, None)
        gate = asyncio.Semaphore(16)

        async def write(item: OutboundLogEntry) -> None:
            async with gate:
                await log.write(item)

        await asyncio.gather(*(write(item) for item in entries))


def write_entries(connection_string: str, entries: Iterable[OutboundLogEntry], table_name: str = APP_LOG_TABLE) -> None:
    """Write entries with the app's writer, from a synchronous test (on a thread of its own: playwright's sync
    API keeps an event loop running in the test's thread)."""
    items = list(entries)
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, write_entries_async(connection_string, items, table_name)).result()
