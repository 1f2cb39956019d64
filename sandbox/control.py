"""`/_control/*` routes: configuration, reset, token expiry, request log, stats, Insider users."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from sandbox.config import ConfigError
from sandbox.state import STATE_KEY
from sandbox.targets import RECORD_TARGETS

PREFIX = "/_control"


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def get_config(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE_KEY].config.to_json())


async def post_config(request: web.Request) -> web.Response:
    """Partial update: only the keys sent change; answers the whole resulting config."""
    try:
        update: Any = json.loads(await request.read() or b"{}")
    except ValueError:
        return _error(400, "body must be a JSON object")
    if not isinstance(update, dict):
        return _error(400, "body must be a JSON object")
    try:
        config = request.app[STATE_KEY].configure(update)
    except ConfigError as exc:
        return _error(400, str(exc))
    return web.json_response(config.to_json())


async def reset(request: web.Request) -> web.Response:
    """Back to the start-up config; forget applied users, the request log, counters, rate windows.

    Issued tokens stay valid (see SandboxState.reset); expire them with /_control/tokens/expire.
    """
    state = request.app[STATE_KEY]
    state.reset()
    return web.json_response(state.config.to_json())


async def expire_tokens(request: web.Request) -> web.Response:
    return web.json_response({"expired": request.app[STATE_KEY].tokens.expire_all()})


async def list_requests(request: web.Request) -> web.Response:
    """`?target=` one of the request targets; `?since=<seq>` only newer entries."""
    target = request.query.get("target")
    if target is not None and target not in RECORD_TARGETS:
        return _error(400, f"target must be one of {', '.join(RECORD_TARGETS)}")
    try:
        since = int(request.query.get("since", "0"))
    except ValueError:
        return _error(400, "since must be an integer")
    entries = request.app[STATE_KEY].recorder.entries(target, since)
    return web.json_response([e.to_json() for e in entries])


async def clear_requests(request: web.Request) -> web.Response:
    request.app[STATE_KEY].recorder.clear()
    return web.json_response({"cleared": True})


async def stats(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    counts = state.recorder.counts()
    return web.json_response(
        {
            "requests": counts,
            "total": sum(n for per_status in counts.values() for n in per_status.values()),
            "tokens_issued": state.tokens.issued,
            "tokens_active": state.tokens.active(),
            "insider_users": len(state.insider_users.all()),
        }
    )


async def insider_users(request: web.Request) -> web.Response:
    return web.json_response([u.to_json() for u in request.app[STATE_KEY].insider_users.all()])


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"{PREFIX}/health", health)
    app.router.add_get(f"{PREFIX}/config", get_config)
    app.router.add_post(f"{PREFIX}/config", post_config)
    app.router.add_post(f"{PREFIX}/reset", reset)
    app.router.add_post(f"{PREFIX}/tokens/expire", expire_tokens)
    app.router.add_get(f"{PREFIX}/requests", list_requests)
    app.router.add_delete(f"{PREFIX}/requests", clear_requests)
    app.router.add_get(f"{PREFIX}/stats", stats)
    app.router.add_get(f"{PREFIX}/insider/users", insider_users)
