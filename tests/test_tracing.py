"""A call's trace, captured with OpenTelemetry's in-memory exporter: the call's span, and
ADK's spans for the agent, the model and its tool calls under it. And JSON log lines."""

import io
import json
import logging
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from telephony.logcontext import CallContext, JsonFormatter
from telephony.tracing import CALL_SPAN
from tests.callserver import RunningServer
from tests.twilio_peer import CALLER
from twins.twilio import EndReason as SimEnd
from twins.twilio import Hangup, Speak, WaitForGreeting, WaitForReply

SCRIPT = (WaitForGreeting(timeout=30), Speak(1.2), WaitForReply(timeout=30), Hangup())


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    """Spans of this process, in memory. The global provider can be set once per process:
    an SDK provider already there gets the exporter added instead."""
    memory = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    yield memory
    memory.shutdown()


def descendants(spans: tuple[ReadableSpan, ...], root: ReadableSpan) -> list[ReadableSpan]:
    children: dict[int, list[ReadableSpan]] = {}
    for span in spans:
        if span.parent is not None:
            children.setdefault(span.parent.span_id, []).append(span)
    found: list[ReadableSpan] = []
    stack = [root]
    while stack:
        for child in children.get(stack.pop().context.span_id, []):
            found.append(child)
            stack.append(child)
    return found


async def test_a_call_is_one_span_with_the_agent_model_and_tools_under_it(
    call_server: RunningServer, exporter: InMemorySpanExporter
) -> None:
    exporter.clear()
    result = await call_server.place(SCRIPT)
    assert result.end_reason is SimEnd.CALLER_HANGUP
    await call_server.finished_transcript(result.call_sid)
    spans = exporter.get_finished_spans()
    calls = [s for s in spans if s.name == CALL_SPAN]
    assert len(calls) == 1
    call = calls[0]
    assert call.attributes is not None
    assert call.attributes["telephony.call_sid"] == result.call_sid
    assert call.attributes["telephony.end_reason"] == "caller_hung_up"

    under = descendants(spans, call)
    agents = [span for span in under if span.name == "invoke_agent receptionist"]
    assert len(agents) == 1, "the agent's live session"
    tools = [span.name for span in descendants(spans, agents[0])]
    assert "execute_tool opening_hours" in tools, "the tool the Saturday question calls"
    for span in (call, *under):
        assert CALLER not in json.dumps(dict(span.attributes or {}), default=str)


def test_json_log_lines_carry_the_call_and_nothing_else(exporter: InMemorySpanExporter) -> None:
    del exporter  # a tracer provider, so the line can carry a trace id
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(CallContext())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("telephony.test_json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with trace.get_tracer(__name__).start_as_current_span("work"):
            logger.warning("call %s: something", "CA" + "1" * 32, extra={"from_number": CALLER})
    finally:
        logger.removeHandler(handler)
    line = json.loads(out.getvalue())
    assert line["call_sid"] == "CA" + "1" * 32
    assert line["level"] == "WARNING"
    assert len(line["trace_id"]) == 32
    assert CALLER not in out.getvalue(), "a record's extra fields are not written"
