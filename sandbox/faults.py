"""Faults applied to API requests before the simulated API sees them.

Order: latency (always), timeout hold (`timeout_rate`, filtered by `error_targets`), rate limit
(`rate_limit_per_minute`, per fault target), injected error (`error_rates`, filtered by
`error_targets`). Random draws come from the state's RNG, seeded by `random_seed`; a draw is only
made for a fault whose probability is above zero, so a seed gives the same sequence of outcomes.
"""

from __future__ import annotations

import asyncio
import math
from http import HTTPStatus

from aiohttp import web

from sandbox.insider_replies import ACCESS_DENIED, NO_SUCH_USER
from sandbox.recorder import RecordedRequest
from sandbox.state import SandboxState
from sandbox.targets import INSIDER_FAULT_TARGETS

FAULT_HEADER = "X-Sandbox-Fault"

# Documented Insider bodies ([PM] in insider-api.md §6.3, §8); the 503 text is the unverified [AE] one.
_INSIDER_BODIES: dict[int, dict[str, object]] = {
    403: ACCESS_DENIED,
    404: NO_SUCH_USER,
    429: {"error": "rejected: too many requests"},
    500: {"success": False, "message": "The request processing has failed because of an unknown error."},
    503: {"error": "temporarily unavailable due to overload or maintenance"},
}


def error_response(fault_target: str, status: int, retry_after: int | None, fault: str) -> web.Response:
    """The sandbox's answer for an injected or rate-limit error on `fault_target`."""
    if fault_target in INSIDER_FAULT_TARGETS and status in _INSIDER_BODIES:
        body: dict[str, object] = _INSIDER_BODIES[status]
    else:
        # inQuba documents no error body; use a small JSON object naming the status.
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "error"
        body = {"error": phrase.lower()}
    headers = {FAULT_HEADER: fault}
    if status in (429, 503) and retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return web.json_response(body, status=status, headers=headers)


def _pick_status(state: SandboxState) -> int | None:
    rates = {code: rate for code, rate in state.config.error_rates.items() if rate > 0}
    if not rates:
        return None
    draw = state.rng.random()
    cumulative = 0.0
    for code in sorted(rates):
        cumulative += rates[code]
        if draw < cumulative:
            return int(code)
    return None


async def apply_faults(state: SandboxState, fault_target: str, entry: RecordedRequest) -> web.Response | None:
    """Delay the request as configured; return an error response if a fault answers it instead."""
    config = state.config
    if config.latency_ms > 0:
        await asyncio.sleep(config.latency_ms / 1000)

    targeted = fault_target in config.error_targets
    if targeted and config.timeout_rate > 0 and state.rng.random() < config.timeout_rate:
        entry.fault = "timeout"
        # Hold the request; if the client is still there afterwards it gets the normal answer.
        await state.hold(config.timeout_seconds)

    limit = config.rate_limit_for(fault_target)
    if limit is not None:
        wait = state.window(fault_target).admit(limit, config.rate_limit_window_seconds)
        if wait is not None:
            entry.fault = "rate-limit"
            retry_after = config.retry_after_seconds
            if retry_after is not None:
                retry_after = max(retry_after, math.ceil(wait))
            return error_response(fault_target, 429, retry_after, "rate-limit")

    if targeted:
        status = _pick_status(state)
        if status is not None:
            entry.fault = "error"
            return error_response(fault_target, status, config.retry_after_seconds, "error")
    return None
