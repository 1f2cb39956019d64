"""Outbound log tests that need no running app (the app-based ones are tests/integration/test_outbound_logs_*)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from azure.data.tables.aio import TableClient, TableServiceClient


@pytest.fixture
async def fresh_table(storage_connection_string: str) -> AsyncIterator[TableClient]:
    """An empty table of its own, deleted afterwards."""
    async with TableServiceClient.from_connection_string(storage_connection_string) as service:
        table = await service.create_table(f"olog{uuid.uuid4().hex[:12]}")
        try:
            yield table
        finally:
            await table.delete_table()
            await table.close()
