"""Health: app version and whether blob, queue and table storage answer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from shared import __version__
from shared.storage_clients import StorageClients

CHECK_TIMEOUT_SECONDS = 5.0


async def _check(probe: Awaitable[Any]) -> str | None:
    """None when the probe answered, otherwise a short reason (no secrets: exception type and status)."""
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT_SECONDS)
        return None
    except TimeoutError:
        return f"no answer within {CHECK_TIMEOUT_SECONDS:g}s"
    except Exception as exc:
        status = getattr(exc, "status_code", None)
        return f"{type(exc).__name__}" + (f" (HTTP {status})" if status else "")


async def _first_entity(storage: StorageClients) -> None:
    table = storage.table_client("OUTBOUND_LOG_TABLE")
    async for _ in table.list_entities(results_per_page=1, select=["PartitionKey"]).by_page():
        break


async def storage_health(storage: StorageClients) -> dict[str, Any]:
    """{"status": "healthy"|"unhealthy", "version", "checks": {"blob"|"queue"|"table": "ok"|reason}}."""
    blob, queue, table = await asyncio.gather(
        _check(storage.container("TOKEN_CACHE_CONTAINER").get_container_properties()),
        _check(storage.work_queue("OUTBOUND_LOG_RETRY_QUEUE").get_queue_properties()),
        _check(_first_entity(storage)),
    )
    checks = {"blob": blob or "ok", "queue": queue or "ok", "table": table or "ok"}
    healthy = all(v == "ok" for v in checks.values())
    return {"status": "healthy" if healthy else "unhealthy", "version": __version__, "checks": checks}
