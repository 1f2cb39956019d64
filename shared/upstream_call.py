"""Send one request to an upstream API, time it, and write it to the outbound log, secrets redacted."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import httpx

from shared.outbound_log import CustomerSlice, OutboundLog, OutboundLogEntry
from shared.redaction import Redactor
from shared.telemetry import end_upstream_span, upstream_span


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


async def send(
    http: httpx.AsyncClient,
    request: httpx.Request,
    meta: CallMeta,
    log: OutboundLog,
    redactor: Redactor,
    customer_slices: Callable[[UpstreamResult], list[CustomerSlice]] | None = None,
) -> UpstreamResult:
    """Send `request`; network errors and timeouts become a result, never an exception.

    `customer_slices` splits a batched request into per-customer log slices once the response is known.
    """
    started = time.perf_counter()
    epoch_ms = int(time.time() * 1000)
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
    )
    await log.record(entry)
    result.log_entry = entry
    return result
