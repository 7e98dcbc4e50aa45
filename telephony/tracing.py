"""Traces in OpenTelemetry's terms: one span per call, the agent's own spans under it.

The call's span is current while the call runs, so every span ADK opens for the call (the
agent's live session ``invoke_agent <name>``, each tool it executes ``execute_tool <name>``)
is its descendant; its own parent is FastAPI's span of the media stream's endpoint. A trace
shows one phone call from the stream's start to its end. Attributes carry the CallSid, the
agent and the end reason: no phone number, no words.

Nothing is exported unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set: then ``serve`` installs a
tracer provider that sends spans over OTLP/HTTP (``install_exporter``). Without a provider
OpenTelemetry's API does nothing, at no cost; tests install one with an in-memory exporter.
"""

import contextlib
from collections.abc import Iterator

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

CALL_SPAN = "telephony.call"
SERVICE_NAME = "telephony"
TRACES_PATH = "/v1/traces"


@contextlib.contextmanager
def call_span(call_sid: str, agent: str) -> Iterator[trace.Span]:
    """The span of one call, current for the block (and every task started within it)."""
    tracer = trace.get_tracer(__name__)
    attributes = {"telephony.call_sid": call_sid, "telephony.agent": agent}
    with tracer.start_as_current_span(
        CALL_SPAN, kind=trace.SpanKind.SERVER, attributes=attributes
    ) as span:
        yield span


def call_ended(span: trace.Span, reason: str) -> None:
    span.set_attribute("telephony.end_reason", reason)


def install_exporter(endpoint: str, service_name: str = SERVICE_NAME) -> TracerProvider:
    """Send every span to the OTLP/HTTP collector at ``endpoint`` (its origin, e.g.
    ``http://otel-collector:4318``). Process-wide: for the entry point that owns the process,
    which must ``shutdown()`` the returned provider at exit to flush what is batched."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    exporter = OTLPSpanExporter(endpoint=endpoint.rstrip("/") + TRACES_PATH)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider
