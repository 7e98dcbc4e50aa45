"""Post-call summaries end to end: a call on the real server, the summary made by the Live
emulator's text endpoint, stored with the call and delivered to a webhook receiver on loopback.
"""

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from telephony.summaries import verify
from telephony.transcripts import Speaker
from telephony.transcripts.summaries import DeliveryStatus, StoredSummary
from tests.callserver import RunningServer, running_server
from tests.test_metrics_prometheus import scrape, value
from tests.webhook_receiver import dead_url, webhook_receiver
from twins.twilio import Hangup, Speak, WaitForGreeting, WaitForReply

SECRET = "whsec-test-secret"
SCHEMA = {"properties": {"callback_time": {"type": "string"}, "urgent": {"type": "boolean"}}}
SCRIPT = (WaitForGreeting(timeout=20), Speak(1.5), WaitForReply(timeout=20), Hangup())
_FINAL = {
    DeliveryStatus.DELIVERED,
    DeliveryStatus.FAILED,
    DeliveryStatus.NOT_CONFIGURED,
    DeliveryStatus.NO_SUMMARY,
}


def _settings(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "summary_webhook_url": url,
        "summary_webhook_secret": SecretStr(SECRET),
        "summary_webhook_retry_s": 0.05,
        "summary_fields_schema": json.dumps(SCHEMA),
    } | extra


async def _settled(server: RunningServer, call_sid: str) -> StoredSummary:
    summaries = server.services.summaries
    assert summaries is not None
    async with asyncio.timeout(60):
        while True:
            found = await summaries.store.get(call_sid)
            if found is not None and found.delivery_status in _FINAL:
                return found
            await asyncio.sleep(0.05)


async def test_a_summary_is_delivered_once_signed(database_url: str) -> None:
    async with (
        webhook_receiver() as receiver,
        running_server(database_url, **_settings(receiver.url)) as server,
    ):
        result = await server.place(SCRIPT)
        stored = await _settled(server, result.call_sid)
        transcript = await server.finished_transcript(result.call_sid)
        await asyncio.sleep(0.3)  # room for a duplicate to show up, if one were sent
        metrics = (await server.metrics_when_idle())["summaries"]

    assert stored.delivery_status is DeliveryStatus.DELIVERED
    assert stored.delivery_attempts == 1
    assert stored.outcome == "resolved"
    assert stored.fields == {"callback_time": "", "urgent": False}
    assert "The caller spoke 1 times" in stored.summary
    assert len(receiver.received) == 1
    delivery = receiver.received[0]
    assert delivery.headers["x-telephony-delivery"] == stored.delivery_id
    assert delivery.headers["x-telephony-event"] == "call.summary"
    signature = delivery.headers["x-telephony-signature"]
    assert verify(SECRET.encode(), signature, delivery.body, now=time.time(), tolerance_s=300)
    assert not verify(b"another secret", signature, delivery.body, now=time.time(), tolerance_s=300)
    assert not verify(
        SECRET.encode(), signature, delivery.body + b" ", now=time.time(), tolerance_s=300
    )
    body = json.loads(delivery.body)
    assert body["delivery_id"] == stored.delivery_id
    assert body["call"]["call_sid"] == result.call_sid
    assert body["call"]["end_reason"] == transcript.call.end_reason
    assert body["summary"]["outcome"] == "resolved"
    assert metrics == {"made": 1, "failed": 0, "delivered": 1, "attempts_failed": 0, "gave_up": 0}


async def test_a_receiver_that_fails_twice_gets_it_on_the_third_try(tmp_path: Path) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}"
    async with (
        webhook_receiver(fail_first=2) as receiver,
        running_server(database, **_settings(receiver.url)) as server,
    ):
        result = await server.place(SCRIPT)
        stored = await _settled(server, result.call_sid)
        metrics = (await server.metrics_when_idle())["summaries"]
        _, scraped = await scrape(server)

    deliveries = scraped["telephony_webhook_deliveries"]
    name = "telephony_webhook_deliveries_total"
    assert value(deliveries, name, outcome="retried") == 2
    assert value(deliveries, name, outcome="delivered") == 1
    assert stored.delivery_status is DeliveryStatus.DELIVERED
    assert stored.delivery_attempts == 3
    assert stored.delivery_error is None
    assert len(receiver.received) == 3
    ids = {received.headers["x-telephony-delivery"] for received in receiver.received}
    assert ids == {stored.delivery_id}, "every retry carries the same delivery id"
    assert metrics["attempts_failed"] == 2
    assert metrics["delivered"] == 1


async def test_a_dead_receiver_does_not_affect_calls(tmp_path: Path) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}"
    settings = _settings(dead_url(), summary_webhook_attempts=3)
    async with running_server(database, **settings) as server:
        first = await server.place(SCRIPT)
        second = await server.place(SCRIPT)
        transcripts = [await server.finished_transcript(r.call_sid) for r in (first, second)]
        stored = [await _settled(server, r.call_sid) for r in (first, second)]
        metrics = (await server.metrics_when_idle())["summaries"]

    for result, transcript in zip((first, second), transcripts, strict=True):
        assert result.error is None
        assert result.metrics.first_audio_ms is not None
        assert len(result.metrics.reply_latencies_ms) == 1
        speakers = [turn.speaker for turn in transcript.turns]
        assert speakers[:2] == [Speaker.AGENT, Speaker.CALLER] and speakers[-1] is Speaker.AGENT
        assert speakers.count(Speaker.CALLER) == 1
    for summary in stored:
        assert summary.delivery_status is DeliveryStatus.FAILED
        assert summary.delivery_attempts == 3
        assert summary.delivery_error is not None
        assert summary.delivery_error.startswith("network error")
    assert metrics["gave_up"] == 2
    assert metrics["attempts_failed"] == 6


ORDER_ROUTES = """\
[[route]]
name = "orders"
numbers = ["+14155550100"]
[route.summary]
webhook_url = "{url}"
[route.summary.fields_schema]
properties.order_number = {{ type = "string" }}
properties.items = {{ type = "integer" }}
"""


async def test_a_routes_schema_and_webhook_reach_its_calls_summaries(tmp_path: Path) -> None:
    routes = tmp_path / "routes.toml"
    database = f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}"
    async with webhook_receiver() as deployment, webhook_receiver() as orders:
        routes.write_text(ORDER_ROUTES.format(url=orders.url))
        async with running_server(
            database, routes_file=routes, **_settings(deployment.url)
        ) as server:
            on_route = await server.place(SCRIPT, to_number="+14155550100")
            elsewhere = await server.place(SCRIPT, to_number="+14155550199")
            stored = [await _settled(server, r.call_sid) for r in (on_route, elsewhere)]

    assert [s.delivery_status for s in stored] == [DeliveryStatus.DELIVERED] * 2
    assert stored[0].fields == {"order_number": "", "items": 0}, "the route's schema"
    assert stored[1].fields == {"callback_time": "", "urgent": False}, "the settings' schema"
    [to_orders] = orders.received
    [to_deployment] = deployment.received
    assert json.loads(to_orders.body)["call"]["call_sid"] == on_route.call_sid
    assert json.loads(to_deployment.body)["call"]["call_sid"] == elsewhere.call_sid
    signature = to_orders.headers["x-telephony-signature"]
    assert verify(SECRET.encode(), signature, to_orders.body, now=time.time(), tolerance_s=300)
