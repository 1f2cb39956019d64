"""The outbound log routes' work: list and read entries (function key), and serve the log page (anonymous)."""

from __future__ import annotations

from pathlib import Path

import azure.functions as func

from shared.app_context import AppContext
from shared.outbound_log.query import parse_query, query_log, read_entry
from shared.web.pages import NO_STORE, page_response
from shared.web.responses import json_response

PAGE_PATH = Path(__file__).with_name("page.html")


async def list_entries(ctx: AppContext, req: func.HttpRequest) -> func.HttpResponse:
    page = await query_log(ctx.outbound_log.table, parse_query(req.params))
    return json_response(page.as_json(), headers=NO_STORE)


async def get_entry(ctx: AppContext, req: func.HttpRequest, entry_id: str) -> func.HttpResponse:
    customer_id = (req.params.get("customerId") or "").strip() or None
    return json_response(await read_entry(ctx.outbound_log.table, entry_id, customer_id), headers=NO_STORE)


def page(auth_mode: str = "function-key") -> func.HttpResponse:
    """The log page: static, holding no data; it calls the JSON routes with the key it is given."""
    return page_response(PAGE_PATH, auth_mode)
