"""Fixtures of the app tests on Azurite."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from azure.data.tables.aio import TableClient, TableServiceClient


@pytest.fixture
async def table(storage_connection_string: str) -> AsyncIterator[TableClient]:
    """A table of the test's own on Azurite, deleted afterwards."""
    async with TableServiceClient.from_connection_string(storage_connection_string) as service:
        client = service.get_table_client(f"t{uuid.uuid4().hex[:12]}")
        await client.create_table()
        yield client
        await client.delete_table()
