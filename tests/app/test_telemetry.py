"""Spans carry the delivery identifier; telemetry stays off without a connection string."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared import telemetry


def test_no_connection_string_no_exporter() -> None:
    assert telemetry.configure_telemetry({}) is False


def test_client_id_is_read_from_the_authentication_string() -> None:
    assert telemetry._client_id("ClientId=abc-123;Authorization=AAD") == "abc-123"
    assert telemetry._client_id("Authorization=AAD") is None


def test_delivery_spans_carry_the_identifier() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    original = telemetry._tracer
    telemetry._tracer = lambda: tracer
    try:
        with telemetry.delivery_span("inquba.publish", "order-1", kind="event", attempt=2):
            pass
    finally:
        telemetry._tracer = original
    (span,) = exporter.get_finished_spans()
    assert span.name == "inquba.publish"
    assert span.attributes == {"delivery.identifier": "order-1", "delivery.kind": "event", "delivery.attempt": 2}
