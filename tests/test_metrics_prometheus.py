"""The metrics as Prometheus scrapes them, parsed with ``prometheus_client``'s own parser."""

from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from telephony.admission import Refusal
from tests.callserver import RunningServer, running_server
from tests.twilio_peer import CALLER
from twins.twilio import EndReason as SimEnd
from twins.twilio import Hangup, Interrupt, Speak, WaitForGreeting, WaitForReply

SCRIPT = (
    WaitForGreeting(timeout=30),
    Speak(1.0),
    WaitForReply(timeout=30),
    Speak(1.0),
    Interrupt(after_ms=400, speak_s=1.0),
    WaitForReply(timeout=30),
    Hangup(),
)


async def scrape(server: RunningServer) -> tuple[str, dict[str, list[Sample]]]:
    """The scrape's text, and its samples by metric family (no bearer token sent)."""
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        response = await client.get("/metrics/prometheus")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = text_string_to_metric_families(response.text)
    return response.text, {family.name: list(family.samples) for family in families}


def value(samples: list[Sample], name: str, **labels: str) -> float:
    found = [s.value for s in samples if s.name == name and s.labels == labels]
    assert len(found) == 1, (name, labels, samples)
    return found[0]


async def test_a_scrape_counts_calls_refusals_and_times_replies_and_barge_ins(
    call_server: RunningServer,
) -> None:
    _, before = await scrape(call_server)
    assert value(before["telephony_calls_active"], "telephony_calls_active") == 0
    result = await call_server.place(SCRIPT)
    assert result.end_reason is SimEnd.CALLER_HANGUP
    await call_server.metrics_when_idle()
    call_server.services.admission.draining = True  # one refusal, for its counter
    refused = await call_server.place((WaitForGreeting(timeout=5),))
    assert refused.end_reason is SimEnd.NO_STREAM

    text, after = await scrape(call_server)
    assert value(after["telephony_calls"], "telephony_calls_total", reason="caller_hung_up") == 1
    assert value(after["telephony_calls_active"], "telephony_calls_active") == 0
    assert (
        value(
            after["telephony_calls_refused"],
            "telephony_calls_refused_total",
            reason=Refusal.DRAINING.value,
        )
        == 1
    )
    replies = value(
        after["telephony_reply_latency_seconds"], "telephony_reply_latency_seconds_count"
    )
    assert replies >= 2, "each of the caller's questions was answered and timed"
    assert (
        value(
            after["telephony_barge_in_reaction_seconds"],
            "telephony_barge_in_reaction_seconds_count",
        )
        >= 1
    )
    assert (
        value(after["telephony_event_loop_lag_seconds"], "telephony_event_loop_lag_seconds_count")
        > 0
    )
    connections = value(after["telephony_model_connections"], "telephony_model_connections_total")
    assert connections >= 1
    connect = after["telephony_model_connect_seconds"]
    assert value(connect, "telephony_model_connect_seconds_count") == connections
    assert value(connect, "telephony_model_connect_seconds_sum") > 0
    assert {"telephony_transfers", "telephony_webhook_deliveries"} <= after.keys()
    assert value(after["telephony_frames_in"], "telephony_frames_in_total") > 0
    assert result.call_sid not in text, "no call identifiers in the labels"
    assert CALLER not in text


async def test_with_a_metrics_port_the_main_port_does_not_serve_them(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'port.db'}"
    # In process nothing binds the port: serving it is the server process's (see test_processes).
    async with (
        running_server(url, metrics_port=9) as server,
        httpx.AsyncClient(base_url=server.base_url) as client,
    ):
        response = await client.get("/metrics/prometheus")
    assert response.status_code == 404
