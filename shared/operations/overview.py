"""The operations overview: queue and poison depths, the Insider pause, the inQuba token cache (never the token)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.operations.dead_letters import WORK_QUEUE_SETTINGS

if TYPE_CHECKING:
    from shared.app_context import AppContext

# Every queue the app reads, in the order the page shows them; each has a `-poison` queue.
QUEUE_SETTINGS = (*WORK_QUEUE_SETTINGS, "OUTBOUND_LOG_RETRY_QUEUE")


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


async def _depth(client: Any) -> int | None:
    """Queue Storage's approximate message count; None when the queue cannot be read."""
    try:
        return (await client.get_queue_properties()).approximate_message_count
    except Exception:
        return None


async def queue_depths(ctx: AppContext) -> list[dict[str, Any]]:
    storage = ctx.storage

    async def one(setting: str) -> dict[str, Any]:
        depth, poison = await asyncio.gather(_depth(storage.work_queue(setting)), _depth(storage.poison_queue(setting)))
        name = ctx.settings.queues[setting]
        return {"name": name, "setting": setting, "depth": depth, "poisonName": name + "-poison",
                "poisonDepth": poison, "deadLetterRecords": setting in WORK_QUEUE_SETTINGS}

    return list(await asyncio.gather(*(one(setting) for setting in QUEUE_SETTINGS)))


async def insider_pause(ctx: AppContext) -> dict[str, Any]:
    if ctx.settings.insider is None:
        return {"configured": False, "paused": False, "since": None, "error": None}
    state = await ctx.insider_syncer().pause.state()
    return {"configured": True, "paused": state is not None, "since": (state or {}).get("since"),
            "error": (state or {}).get("error")}


async def inquba_token(ctx: AppContext) -> dict[str, Any]:
    """The cached token's expiry and age for the configured connection; nothing of the token itself."""
    if ctx.settings.inquba is None:
        return {"configured": False, "cached": False}
    cached = await ctx.token_cache.describe(ctx.inquba_connection().cache_key)
    if cached is None:
        return {"configured": True, "cached": False}
    now = time.time()
    return {"configured": True, "cached": True, "expiresAt": _iso(cached.expires_at),
            "expiresInSeconds": round(cached.expires_at - now), "ageSeconds": round(now - cached.written_at),
            "lifetimeKnown": cached.lifetime_known, "fresh": cached.fresh}


async def overview(ctx: AppContext) -> dict[str, Any]:
    queues, pause, token = await asyncio.gather(queue_depths(ctx), insider_pause(ctx), inquba_token(ctx))
    return {"generatedAt": _iso(time.time()), "queues": queues, "insider": pause, "inqubaToken": token,
            "operationsAuth": ctx.settings.operations.mode}
