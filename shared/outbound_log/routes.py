"""The outbound log routes' work: list and read entries (function key), and serve the log page (anonymous)."""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from pathlib import Path

import azure.functions as func

from shared.app_context import AppContext
from shared.outbound_log.query import parse_query, query_log, read_entry
from shared.web.responses import json_response

PAGE_PATH = Path(__file__).with_name("page.html")
NO_STORE = {"Cache-Control": "no-store"}


async def list_entries(ctx: AppContext, req: func.HttpRequest) -> func.HttpResponse:
    page = await query_log(ctx.outbound_log.table, parse_query(req.params))
    return json_response(page.as_json(), headers=NO_STORE)


async def get_entry(ctx: AppContext, req: func.HttpRequest, entry_id: str) -> func.HttpResponse:
    customer_id = (req.params.get("customerId") or "").strip() or None
    return json_response(await read_entry(ctx.outbound_log.table, entry_id, customer_id), headers=NO_STORE)


def _hashes(html: str, tag: str) -> str:
    blocks = re.findall(rf"<{tag}>(.*?)</{tag}>", html, flags=re.DOTALL)
    return " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(block.encode("utf-8")).digest()).decode() + "'"
        for block in blocks
    )


@cache
def _page() -> tuple[bytes, dict[str, str]]:
    html = PAGE_PATH.read_text(encoding="utf-8")
    policy = (
        f"default-src 'none'; script-src {_hashes(html, 'script')}; style-src {_hashes(html, 'style')}; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    headers = {
        "Content-Security-Policy": policy,
        "Referrer-Policy": "no-referrer",  # the first URL carries ?code=
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        **NO_STORE,
    }
    return html.encode("utf-8"), headers


def page() -> func.HttpResponse:
    """The log page: static, holding no data; it calls the JSON routes with the key it is given."""
    body, headers = _page()
    return func.HttpResponse(body, status_code=200, headers=headers, mimetype="text/html", charset="utf-8")
