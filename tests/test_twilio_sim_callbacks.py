"""Callbacks Twilio sends about a call: call progress events and ``<Stream statusCallback>``
events, signed like Twilio's (the stand-in application refuses anything else)."""

import asyncio
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from twilio.twiml.voice_response import Connect, VoiceResponse

from twins.twilio import AfterStream, CallConfig, CallResult, Silence, SimulatedCall
from twins.twilio.appstub import AppStub

TOKEN = "c" * 32
TIMEOUT = 30
FAST = AfterStream(words_per_minute=6000)


def streaming_twiml(app: AppStub, **stream: str) -> str:
    response = VoiceResponse()
    connect = Connect()
    connect.stream(url=stream.pop("url", app.stream_url), **stream)
    response.append(connect)
    response.say("Goodbye.")
    return str(response)


async def place(app: AppStub, **overrides: Any) -> CallResult:
    async with app.serving() as url:
        options: dict[str, Any] = {
            "server_url": url,
            "public_url": app.public_url,
            "auth_token": TOKEN,
            "after_stream": FAST,
            "script": (Silence(20),),
        }
        result = await asyncio.wait_for(SimulatedCall(CallConfig(**options | overrides)).run(), 30)
    assert app.refused == 0
    return result


async def test_call_progress_events_are_sent_as_subscribed() -> None:
    app = AppStub(TOKEN, voice="")
    app.voice = streaming_twiml(app)

    result = await place(
        app,
        status_callback=app.hook("status"),
        status_callback_events=("ringing", "answered", "completed"),
    )

    forms = app.forms("/hooks/status")
    assert [form["CallStatus"] for form in forms] == ["ringing", "in-progress", "completed"]
    assert [form["SequenceNumber"] for form in forms] == ["0", "1", "2"]
    assert {form["CallbackSource"] for form in forms} == {"call-progress-events"}
    assert {form["CallSid"] for form in forms} == {result.call_sid}
    assert all(isinstance(parsedate_to_datetime(form["Timestamp"]), datetime) for form in forms)
    completed = forms[-1]
    assert int(completed["CallDuration"]) >= 0
    assert int(completed["Duration"]) >= 1
    assert (completed["Direction"], completed["From"]) == ("inbound", "+12025550101")
    assert "CallDuration" not in forms[0]


async def test_by_default_only_completed_is_sent() -> None:
    app = AppStub(TOKEN, voice="")
    app.voice = streaming_twiml(app)

    await place(app, status_callback=app.hook("status"))

    assert [form["CallStatus"] for form in app.forms("/hooks/status")] == ["completed"]


async def test_a_get_callback_is_signed_over_its_query_string() -> None:
    app = AppStub(TOKEN, voice="")
    app.voice = streaming_twiml(app)

    await place(app, status_callback=app.hook("status?tenant=7"), status_callback_method="GET")

    [hit] = [hit for hit in app.hits if hit.path == "/hooks/status"]
    assert hit.method == "GET"
    assert (hit.form["tenant"], hit.form["CallStatus"]) == ("7", "completed")


async def test_stream_status_callbacks_report_start_and_stop() -> None:
    app = AppStub(TOKEN, voice="")
    app.voice = streaming_twiml(app, status_callback="/hooks/stream", name="agent-leg")

    result = await place(app)

    forms = app.forms("/hooks/stream")
    assert [form["StreamEvent"] for form in forms] == ["stream-started", "stream-stopped"]
    for form in forms:
        assert form["StreamSid"] == result.stream_sid
        assert form["CallSid"] == result.call_sid
        assert form["AccountSid"] == result.account_sid
        assert form["StreamName"] == "agent-leg"
        assert datetime.fromisoformat(form["Timestamp"].replace("Z", "+00:00")).tzinfo
        assert "StreamError" not in form


async def test_a_refused_upgrade_is_a_stream_error_and_the_call_goes_on() -> None:
    app = AppStub(TOKEN, voice="")
    app.voice = streaming_twiml(
        app, url="wss://app.example.test/not-a-stream", status_callback=app.hook("stream")
    )

    result = await place(app)

    [form] = app.forms("/hooks/stream")
    assert form["StreamEvent"] == "stream-error"
    assert form["StreamError"].startswith("31920: Stream - WebSocket - Handshake Error")
    assert form["StreamName"] == result.stream_sid, "no name: the StreamSid stands in"
    assert [type(entry).__name__ for entry in result.journey] == ["Said", "HungUp"]
