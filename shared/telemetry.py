"""OpenTelemetry to Application Insights (when configured) and spans that carry each delivery's identifier."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer

logger = logging.getLogger(__name__)


@cache
def _tracer() -> Tracer:
    """Imported on first use: `function_app` imports this module at start-up, and spans are not needed then."""
    from opentelemetry import trace

    return trace.get_tracer("inquba-insider-functions")


# Each logs every request at INFO: one line per storage call or upstream call, which the outbound log already has.
CHATTY_LIBRARY_LOGGERS = ("azure", "httpx")


def quiet_library_loggers() -> None:
    for name in CHATTY_LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def _client_id(authentication: str) -> str | None:
    """`ClientId=<guid>;Authorization=AAD` -> the user-assigned identity's client id."""
    parts = dict(p.split("=", 1) for p in authentication.split(";") if "=" in p)
    return parts.get("ClientId")


def configure_telemetry(env: Mapping[str, str]) -> bool:
    """Send logs and traces to Application Insights with Entra auth; False when no connection string is set.

    Imported lazily: the exporter costs start-up time that an app without App Insights should not pay.
    """
    connection_string = env.get("APPLICATIONINSIGHTS_CONNECTION_STRING")
    if not connection_string:
        return False
    from azure.identity import ManagedIdentityCredential
    from azure.monitor.opentelemetry import configure_azure_monitor

    authentication = env.get("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", "")
    credential = None
    if "authorization=aad" in authentication.lower():
        client_id = _client_id(authentication)
        credential = ManagedIdentityCredential(client_id=client_id) if client_id else ManagedIdentityCredential()
    configure_azure_monitor(connection_string=connection_string, credential=credential, logger_name="shared")
    logger.info("telemetry: sending logs and traces to Application Insights")
    return True


@contextmanager
def delivery_span(name: str, identifier: str | None, **attributes: Any) -> Iterator[Span]:
    """A span for one delivery, tagged with its identifier so a trace search finds every attempt."""
    tags = {"delivery.identifier": identifier or "", **{f"delivery.{k}": v for k, v in attributes.items()}}
    with _tracer().start_as_current_span(name, attributes=tags) as span:
        yield span


@contextmanager
def upstream_span(target: str, operation: str, method: str, identifier: str | None) -> Iterator[Span]:
    """A CLIENT span per outbound call: App Insights records it as a dependency (docs/deploy.md, "Alerts").

    The failure-rate alert counts `dependencies` by `upstream.target` and `success`; mark the span failed
    with :func:`end_upstream_span` when the answer is not 2xx or there was none.
    """
    from opentelemetry.trace import SpanKind

    tags = {"upstream.target": target, "upstream.operation": operation, "http.request.method": method,
            "delivery.identifier": identifier or ""}
    with _tracer().start_as_current_span(f"{method} {target} {operation}", kind=SpanKind.CLIENT,
                                         attributes=tags) as span:
        yield span


def end_upstream_span(span: Span, status_code: int | None, error: str | None) -> None:
    from opentelemetry.trace import Status, StatusCode

    if status_code is not None:
        span.set_attribute("http.response.status_code", status_code)
    if status_code is None or not 200 <= status_code < 300:
        span.set_status(Status(StatusCode.ERROR, (error or f"HTTP {status_code}")[:200]))


def log_extra(identifier: str | None, **fields: Any) -> dict[str, Any]:
    """`extra=` for a log record: the identifier travels to App Insights as a custom dimension."""
    return {"identifier": identifier, **fields}
