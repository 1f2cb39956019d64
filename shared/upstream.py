"""The one upstream client of both platforms: every call timed, traced, counted and written to the outbound log.

`UpstreamClient.send` sends one request; `UpstreamClient.call` builds on it in layers, as httpx does:
an optional auth step (refreshed once on a 401), then a short in-call retry of a 429/503 whose
`Retry-After` is small. What counts as retryable is declared here once, for inQuba and Insider alike.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Protocol

import httpx

from shared.outbound_log.writer import CustomerSlice, OutboundLog, OutboundLogEntry
from shared.redaction import Redactor
from shared.telemetry import end_upstream_span, upstream_span

if TYPE_CHECKING:
    from shared.operations.stats import DeliveryStats

#: Answers a later try may not get: timeouts, throttling and server errors (no answer at all counts too).
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: Answers that may be retried within the same call when their Retry-After is short.
THROTTLE_STATUSES = frozenset({429, 503})


def is_retryable(status_code: int | None) -> bool:
    return status_code is None or status_code in RETRYABLE_STATUSES


class UpstreamAuth(Protocol):
    """An auth step for `UpstreamClient.call`: sets the credentials, and renews them once after a 401."""

    async def authorize(self, request: httpx.Request) -> None: ...

    async def refresh(self) -> None: ...


@dataclass
class CallMeta:
    """What the outbound log needs to know about a call besides the request itself."""

    target: str
    operation: str
    identifier: str | None = None
    attempt: int = 1
    customer_id: str | None = None
    customer_name: str | None = None
    customers: list[CustomerSlice] = field(default_factory=list)
    batch_id: str | None = None  # the customer's batch, recorded on its log index entity
    # Personal data the call carries that its log entry must not keep (an erase request's identifiers):
    # masked like secrets in the stored URL, bodies and error.
    private_values: tuple[str, ...] = ()


@dataclass
class UpstreamResult:
    status_code: int | None
    body: bytes
    headers: httpx.Headers
    elapsed_seconds: float
    error: str | None  # network error or timeout; None when a response came back
    timed_out: bool = False
    log_entry: OutboundLogEntry | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def retry_after_seconds(self) -> float | None:
        return parse_retry_after(self.headers.get("retry-after"))


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def describe_status_error(status: int, body: str) -> str:
    snippet = body.strip().replace("\n", " ")[:300]
    return f"HTTP {status}" + (f": {snippet}" if snippet else "")


class UpstreamClient:
    """One HTTP client, the outbound log, the delivery statistics, the redactor and the retry policy, shared by
    every upstream caller."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        log: OutboundLog,
        redactor: Redactor,
        *,
        max_inline_retry_after: float,
        stats: DeliveryStats | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.http = http
        self.log = log
        self.redactor = redactor
        self.max_inline_retry_after = max_inline_retry_after
        self.stats = stats
        self.sleep = sleep

    async def call(
        self,
        request: httpx.Request,
        meta: CallMeta,
        *,
        auth: UpstreamAuth | None = None,
        inline_retry: bool = False,
        customer_slices: Callable[[UpstreamResult], list[CustomerSlice]] | None = None,
    ) -> tuple[UpstreamResult, int]:
        """Send with the auth step and, when asked, one short throttling retry; (the last result, calls made).

        Each try is its own outbound log entry, numbered from `meta.attempt`.
        """
        attempt, refreshed, throttled = meta.attempt, False, False
        while True:
            if auth is not None:
                await auth.authorize(request)
            result = await self.send(request, replace(meta, attempt=attempt), customer_slices)
            calls = attempt - meta.attempt + 1
            if result.status_code == 401 and auth is not None and not refreshed:
                # The credentials may have expired or been revoked early: renew them once, then retry.
                refreshed = True
                await auth.refresh()
            elif inline_retry and not throttled and (delay := self.inline_delay(result)) is not None:
                throttled = True
                await self.sleep(delay)
            else:
                return result, calls
            attempt += 1

    def inline_delay(self, result: UpstreamResult) -> float | None:
        """How long to wait before retrying `result` in the same call, or None when that is not worth it."""
        retry_after = result.retry_after_seconds
        if result.status_code in THROTTLE_STATUSES and retry_after is not None \
                and retry_after <= self.max_inline_retry_after:
            return retry_after
        return None

    async def send(
        self,
        request: httpx.Request,
        meta: CallMeta,
        customer_slices: Callable[[UpstreamResult], list[CustomerSlice]] | None = None,
    ) -> UpstreamResult:
        """Send `request` once; network errors and timeouts become a result, never an exception.

        `customer_slices` splits a batched request into per-customer log slices once the response is known.
        """
        return await _send(self.http, request, meta, self.log, self.redactor, customer_slices, self.stats)


async def _send(
    http: httpx.AsyncClient,
    request: httpx.Request,
    meta: CallMeta,
    log: OutboundLog,
    redactor: Redactor,
    customer_slices: Callable[[UpstreamResult], list[CustomerSlice]] | None,
    stats: DeliveryStats | None = None,
) -> UpstreamResult:
    started = time.perf_counter()
    epoch_ms = int(time.time() * 1000)
    if meta.private_values:
        redactor = redactor.including(meta.private_values)
    with upstream_span(meta.target, meta.operation, request.method, meta.identifier) as span:
        try:
            response = await http.send(request)
            body = await response.aread()
            result = UpstreamResult(response.status_code, body, response.headers, time.perf_counter() - started, None)
        except httpx.TimeoutException as exc:
            result = UpstreamResult(
                None, b"", httpx.Headers(), time.perf_counter() - started, f"timeout: {type(exc).__name__}", True
            )
        except httpx.TransportError as exc:
            result = UpstreamResult(
                None, b"", httpx.Headers(), time.perf_counter() - started,
                f"network error: {type(exc).__name__}: {exc}",
            )
        error = result.error
        if error is None and not result.ok:
            error = describe_status_error(result.status_code or 0, redactor.body(result.text, None) or "")
        end_upstream_span(span, result.status_code, redactor.text(error) if error else None)
    if stats is not None:  # in memory: merged into the hourly rollups about once a minute
        stats.record(meta.target, meta.operation, result.status_code, result.elapsed_seconds, epoch_ms)
    entry = OutboundLogEntry(
        target=meta.target,
        operation=meta.operation,
        method=request.method,
        url=redactor.text(str(request.url)),
        status_code=result.status_code,
        response_time_seconds=result.elapsed_seconds,
        error=redactor.text(error) if error else None,
        identifier=meta.identifier,
        attempt=meta.attempt,
        customer_id=meta.customer_id,
        customer_name=meta.customer_name,
        request_body=redactor.body(request.content, request.headers.get("content-type")),
        response_body=redactor.body(result.body, result.headers.get("content-type")),
        epoch_ms=epoch_ms,
        customers=customer_slices(result) if customer_slices else meta.customers,
        batch_id=meta.batch_id,
    )
    await log.record(entry)
    result.log_entry = entry
    return result
