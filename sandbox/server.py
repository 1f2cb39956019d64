"""The sandbox application: API routes, the recording/fault middleware and the control routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from sandbox import control, inquba, insider, insider_profiles
from sandbox.config import SandboxConfig
from sandbox.faults import apply_faults
from sandbox.state import ENTRY_KEY, STATE_KEY, SandboxState
from sandbox.targets import (
    FAULT_TARGET_OF,
    INQUBA_EVENTS,
    INQUBA_TOKEN,
    INQUBA_TRANSACTIONS,
    INSIDER_ANONYMIZE,
    INSIDER_ATTRIBUTES_DELETE,
    INSIDER_DELETE,
    INSIDER_PROFILE,
    INSIDER_UPSERT,
    UNMATCHED,
)

# Above Insider's 5,000,000-byte limit so the upsert can answer its own documented 400.
CLIENT_MAX_SIZE = 64 * 1024 * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _headers(request: web.Request) -> dict[str, str]:
    """Request headers with lower-case names; repeated headers joined with ", "."""
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


# Route names are unique; both anonymise routes log to one target.
_ANONYMIZE_CONTACT = "insider-anonymize-contact"
_TARGET_OF_ROUTE = {_ANONYMIZE_CONTACT: INSIDER_ANONYMIZE}


def _target(request: web.Request) -> str:
    route = request.match_info.route
    name = route.name if route is not None else None
    name = _TARGET_OF_ROUTE.get(name, name) if name is not None else None
    if name in FAULT_TARGET_OF:
        return name
    return UNMATCHED


@web.middleware
async def api_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Record every non-control request, apply the configured faults, note the answered status."""
    if request.path == control.PREFIX or request.path.startswith(control.PREFIX + "/"):
        return await handler(request)
    state = request.app[STATE_KEY]
    target = _target(request)
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        body = b""
    query: dict[str, list[str]] = {}
    for key, value in request.query.items():
        query.setdefault(key, []).append(value)
    entry = state.recorder.record(
        target=target,
        method=request.method,
        path=request.path,
        query=query,
        headers=_headers(request),
        content_type=request.content_type,
        body=body,
    )
    request[ENTRY_KEY] = entry
    status: int | None = None
    try:
        response: web.StreamResponse | None = None
        fault_target = FAULT_TARGET_OF.get(target)
        if fault_target is not None:
            response = await apply_faults(state, fault_target, entry)
        if response is None:
            response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    except Exception:
        status = 500
        raise
    finally:
        state.recorder.answered(entry, status)


async def _release_held_requests(app: web.Application) -> None:
    app[STATE_KEY].release_held_requests()


def create_app(config: SandboxConfig | Mapping[str, Any] | None = None) -> web.Application:
    """A sandbox application; `config` (a SandboxConfig or a partial dict) is also what reset restores."""
    if config is None:
        config = SandboxConfig()
    elif not isinstance(config, SandboxConfig):
        config = SandboxConfig().updated(config)
    app = web.Application(middlewares=[api_middleware], client_max_size=CLIENT_MAX_SIZE)
    app[STATE_KEY] = SandboxState(config)
    app.on_shutdown.append(_release_held_requests)
    app.router.add_post("/{tenant}/connect/token", inquba.token, name=INQUBA_TOKEN)
    app.router.add_post("/tenants/{tenant}/cems/api/Events", inquba.events, name=INQUBA_EVENTS)
    app.router.add_post("/tenants/{tenant}/cems/api/Transactions", inquba.transactions, name=INQUBA_TRANSACTIONS)
    app.router.add_post("/api/user/v1/upsert", insider.upsert, name=INSIDER_UPSERT)
    app.router.add_post(
        "/api/user/v1/attribute/delete", insider_profiles.delete_attributes, name=INSIDER_ATTRIBUTES_DELETE
    )
    app.router.add_post("/api/user/v1/delete", insider_profiles.delete_user, name=INSIDER_DELETE)
    app.router.add_post("/api/user/v1/anonymize", insider_profiles.anonymize_user, name=INSIDER_ANONYMIZE)
    app.router.add_post("/api/contact/v1/anonymize", insider_profiles.anonymize_contact, name=_ANONYMIZE_CONTACT)
    app.router.add_post("/api/user/v1/profile", insider_profiles.profile, name=INSIDER_PROFILE)
    control.add_routes(app)
    return app
