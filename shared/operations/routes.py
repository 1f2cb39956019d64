"""The operations routes' work: statistics, overview, dead letters and their replay, and the operations page.

Who may call them is decided before these run (`shared/operations/access.py`): the host's function-key check,
or, with OPERATIONS_AUTH=entra, the App Service Authentication principal's group.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import azure.functions as func

from shared.app_context import AppContext
from shared.operations import dead_letters as dl
from shared.operations.overview import overview as read_overview
from shared.operations.stats import MAX_SPAN, StatsQuery, query_stats
from shared.web.api_models import (
    DeadLetterPage,
    DeadLetterQueryParameters,
    DeadLetterReplay,
    DeadLetterReplayRequest,
    OperationsOverview,
    StatsQueryParameters,
    StatsResponse,
)
from shared.web.pages import NO_STORE, page_response
from shared.web.parsing import parse_body, parse_params
from shared.web.problems import FieldError, bad_request
from shared.web.responses import model_response

PAGE_PATH = Path(__file__).with_name("page.html")
DEFAULT_STATS_SPAN = timedelta(hours=24)


def _ordered(start: datetime | None, end: datetime | None, names: tuple[str, str] = ("from", "to")) -> None:
    if start is not None and end is not None and start > end:
        raise bad_request("the time range is reversed", [FieldError(names[0], f"must not be later than {names[1]}")])


async def stats(ctx: AppContext, req: func.HttpRequest) -> func.HttpResponse:
    params = parse_params(req, StatsQueryParameters)
    end = params.to or datetime.now(UTC)
    start = params.from_ or end - DEFAULT_STATS_SPAN
    _ordered(start, end)
    if end - start > MAX_SPAN[params.interval]:
        days = MAX_SPAN[params.interval].days
        raise bad_request("the time range is too long for the interval",
                          [FieldError("from", f"must be at most {days} days before `to` with this interval")])
    query = StatsQuery(start, end, params.interval, params.group_by, params.target, params.operation)
    return model_response(StatsResponse, await query_stats(ctx.stats.table, query), headers=NO_STORE)


async def overview(ctx: AppContext) -> func.HttpResponse:
    return model_response(OperationsOverview, await read_overview(ctx), headers=NO_STORE)


async def list_dead_letters(ctx: AppContext, req: func.HttpRequest) -> func.HttpResponse:
    params = parse_params(req, DeadLetterQueryParameters)
    _ordered(params.from_, params.to)
    if params.queue is not None:
        dl.work_queue_setting(ctx, params.queue)  # 400 naming the work queues there are
        queues: tuple[str, ...] = (params.queue,)
    else:
        queues = tuple(ctx.settings.queues[setting] for setting in dl.WORK_QUEUE_SETTINGS)
    query = dl.DeadLetterQuery(queues, params.from_, params.to, params.identifier, params.limit,
                               params.continuation_token)
    return model_response(DeadLetterPage, await ctx.dead_letters.page(query), headers=NO_STORE)


async def replay_dead_letters(ctx: AppContext, req: func.HttpRequest) -> func.HttpResponse:
    body = parse_body(req, DeadLetterReplayRequest, ctx.settings.max_request_body_bytes)
    _ordered(body.since, body.until, ("since", "until"))
    result = await dl.replay(ctx, body.queue, body.since, body.until, body.identifier)
    return model_response(DeadLetterReplay, result)


def page(auth_mode: str) -> func.HttpResponse:
    """The operations page: static, holding no data (Overview and Dead letters; it links the outbound log page)."""
    return page_response(PAGE_PATH, auth_mode)
