"""Daily clean-up of the operations tables: hourly rollups after 35 days, dead-letter records after 30."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from shared.operations.dead_letters import WORK_QUEUE_SETTINGS
from shared.operations.stats import delete_expired

if TYPE_CHECKING:
    from shared.app_context import AppContext

logger = logging.getLogger(__name__)

# A record outlives its poison copy (Queue Storage's default time-to-live is 7 days), so a dead letter can be
# replayed from the record for this long.
DEAD_LETTER_RETENTION_DAYS = 30


async def run(ctx: AppContext) -> None:
    now = datetime.now(UTC)
    hours = await delete_expired(ctx.stats.table, now)
    queues = [ctx.settings.queues[setting] for setting in WORK_QUEUE_SETTINGS]
    records = await ctx.dead_letters.delete_expired(queues, now, DEAD_LETTER_RETENTION_DAYS)
    logger.info("operations retention: deleted %d hourly rollup(s) and %d dead-letter record(s)", hours, records)
