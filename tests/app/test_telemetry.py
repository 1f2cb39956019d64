"""Spans carry the delivery identifier; telemetry stays off without a connection string."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from shared import telemetry


def upstream_call(status_code: int | None, error: str | None = None) -> ReadableSpan:
    with telemetry.upstream_span("insider", "upsert", "POST", "01KID") as span:
        telemetry.end_upstream_span(span, status_code, error)
    return span  # type: ignore[return-value]


def test_no_connection_string_no_exporter() -> None:
    assert telemetry.configure_telemetry({}) is False


def test_client_id_is_read_from_the_authentication_string() -> None:
    assert telemetry._client_id("ClientId=abc-123;Authorization=AAD") == "abc-123"
    assert telemetry._client_id("Authorization=AAD") is None


@pytest.fixture
def exporter(monkeypatch: pytest.MonkeyPatch) -> InMemorySpanExporter:
    """Spans of `shared.telemetry` recorded in memory."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    monkeypatch.setattr(telemetry, "_tracer", lambda: tracer)
    return exporter


def test_delivery_spans_carry_the_identifier(exporter: InMemorySpanExporter) -> None:
    with telemetry.delivery_span("inquba.publish", "order-1", kind="event", attempt=2):
        pass
    (span,) = exporter.get_finished_spans()
    assert span.name == "inquba.publish"
    assert span.attributes == {"delivery.identifier": "order-1", "delivery.kind": "event", "delivery.attempt": 2}


def test_every_upstream_call_is_a_client_span_the_failure_rate_alert_can_count(
    exporter: InMemorySpanExporter,
) -> None:
    """App Insights turns CLIENT spans into dependencies; `success` follows the span status (docs/deploy.md)."""
    upstream_call(200)
    upstream_call(503, "HTTP 503: busy")
    upstream_call(None, "timeout: ReadTimeout")
    ok, refused, silent = exporter.get_finished_spans()
    assert all(s.kind is SpanKind.CLIENT for s in (ok, refused, silent))
    assert ok.attributes is not None and ok.attributes["upstream.target"] == "insider"
    assert ok.attributes["upstream.operation"] == "upsert" and ok.attributes["http.response.status_code"] == 200
    assert ok.status.status_code is StatusCode.UNSET
    assert refused.status.status_code is StatusCode.ERROR and refused.status.description == "HTTP 503: busy"
    assert silent.status.status_code is StatusCode.ERROR
    assert "http.response.status_code" not in (silent.attributes or {})
