"""Call control over REST with the real twilio SDK: transfers that run their TwiML, hang-ups in
any phase, errors that mean "already ended", and calls placed with answering machine detection."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.twiml.voice_response import Connect, Dial, VoiceResponse

from twins.twilio import (
    AfterStream,
    CallConfig,
    Callee,
    Callees,
    Dialled,
    HungUp,
    Party,
    Pickup,
    Redirected,
    Requested,
    Said,
    Silence,
    SimulatedCall,
    TwilioRestSim,
)
from twins.twilio.amd import detect
from twins.twilio.appstub import AppStub, StreamPlan

ACCOUNT = "AC" + "4" * 32
TOKEN = "e" * 32
TIMEOUT = 30
FAST = AfterStream(words_per_minute=6000)
ALREADY_ENDED = {20404, 21220}
"""Both of Twilio's answers to updating a call that has ended."""


async def in_thread(function: Any, *args: Any, **kwargs: Any) -> Any:
    return await asyncio.wait_for(asyncio.to_thread(function, *args, **kwargs), TIMEOUT)


def streaming(app: AppStub, *after: str) -> str:
    response = VoiceResponse()
    connect = Connect()
    connect.stream(url=app.stream_url)
    response.append(connect)
    for text in after:
        response.say(text, loop=0)
    return str(response)


@pytest.fixture
async def app() -> AsyncIterator[AppStub]:
    stub = AppStub(TOKEN, voice="", stream=StreamPlan(close_after_s=None))
    async with stub.serving():
        yield stub


def inbound(app: AppStub, **overrides: Any) -> SimulatedCall:
    options: dict[str, Any] = {
        "server_url": app.url,
        "public_url": app.public_url,
        "auth_token": TOKEN,
        "account_sid": ACCOUNT,
        "after_stream": FAST,
        "script": (Silence(60),),
    }
    return SimulatedCall(CallConfig(**options | overrides))


async def test_a_transfer_stops_the_stream_then_runs_the_new_twiml(app: AppStub) -> None:
    app.voice = streaming(app)
    app.pages["dialled"] = "<Response><Say>Thanks for calling.</Say></Response>"
    callees = Callees(parties={"+12025550188": Party(after_s=0.1, talk_s=0.2)})
    async with TwilioRestSim(account_sid=ACCOUNT, auth_token=TOKEN) as rest:
        call = inbound(app, callees=callees)
        rest.attach(call)
        running = asyncio.create_task(call.run())
        assert await asyncio.wait_for(call.wait_streaming(), TIMEOUT)
        client = rest.client()

        transfer = VoiceResponse()
        transfer.say("Transferring you now.")
        dial = Dial(action=app.hook("dialled"))
        dial.number("+12025550188")
        transfer.append(dial)
        await in_thread(client.calls(call.call_sid).update, twiml=str(transfer))
        result = await asyncio.wait_for(running, TIMEOUT)

        with pytest.raises(TwilioRestException) as error:
            await in_thread(client.calls(call.call_sid).update, twiml="<Response/>")
    assert error.value.code in ALREADY_ENDED

    assert app.streams[0].events()[-1] == "stop", "the stream ended with stop, not a close"
    assert [type(e).__name__ for e in result.journey] == [
        "Redirected",
        "Said",
        "Dialled",
        "Requested",
        "Said",
        "HungUp",
    ]
    dialled = result.journey[2]
    assert isinstance(dialled, Dialled) and dialled.status == "completed"
    assert app.forms("/hooks/dialled")[0]["DialCallStatus"] == "completed"
    assert result.final_status == "completed"


async def test_hanging_up_over_rest_ends_the_twiml_after_the_stream(app: AppStub) -> None:
    app.voice = streaming(app, "Please hold.")
    app.stream.close_after_s = 0.1
    async with TwilioRestSim(account_sid=ACCOUNT, auth_token=TOKEN) as rest:
        call = inbound(app)
        rest.attach(call)
        running = asyncio.create_task(call.run())
        assert await asyncio.wait_for(call.wait_phase("after"), TIMEOUT)
        client = rest.client()
        assert (await in_thread(client.calls(call.call_sid).fetch)).status == "in-progress"

        await in_thread(client.calls(call.call_sid).update, status="completed")
        result = await asyncio.wait_for(running, TIMEOUT)
        fetched = await in_thread(client.calls(call.call_sid).fetch)

        for stale in (call.call_sid, "CA" + "0" * 32):
            with pytest.raises(TwilioRestException) as error:
                await in_thread(client.calls(stale).update, status="completed")
            assert error.value.code in ALREADY_ENDED

    assert [type(e).__name__ for e in result.journey] == ["Said", "HungUp"]
    assert result.journey[-1] == HungUp(t=result.journey[-1].t, by="rest")
    assert (fetched.status, result.final_status) == ("completed", "completed")
    assert fetched.duration is not None


async def test_a_url_update_after_the_stream_is_fetched_and_run(app: AppStub) -> None:
    app.voice = streaming(app, "Please hold.")
    app.stream.close_after_s = 0.1
    app.pages["moved"] = "<Response><Say>Moved.</Say><Hangup/></Response>"
    async with TwilioRestSim(account_sid=ACCOUNT, auth_token=TOKEN) as rest:
        call = inbound(app)
        rest.attach(call)
        running = asyncio.create_task(call.run())
        assert await asyncio.wait_for(call.wait_phase("after"), TIMEOUT)
        await in_thread(rest.client().calls(call.call_sid).update, url=app.hook("moved"))
        result = await asyncio.wait_for(running, TIMEOUT)

    redirected = result.journey[1]
    assert isinstance(redirected, Redirected)
    assert (redirected.by, redirected.url) == ("rest", app.hook("moved"))
    assert [e.text for e in result.journey if isinstance(e, Said)][-1] == "Moved."
    assert app.forms("/hooks/moved")[0]["CallStatus"] == "in-progress"


@pytest.mark.parametrize(
    ("pickup", "form", "answered_by"),
    [
        (Pickup("human", speech_s=0.8), {"MachineDetection": "Enable"}, "human"),
        (Pickup("human", speech_s=3.0), {"MachineDetection": "Enable"}, "machine_start"),
        (Pickup("machine", speech_s=9.0), {"MachineDetection": "Enable"}, "machine_start"),
        (Pickup("machine", 9.0), {"MachineDetection": "DetectMessageEnd"}, "machine_end_beep"),
        (
            Pickup("machine", 9.0, greeting_end="silence"),
            {"MachineDetection": "DetectMessageEnd"},
            "machine_end_silence",
        ),
        (Pickup("fax"), {"MachineDetection": "Enable"}, "fax"),
        (Pickup("nobody"), {"MachineDetection": "Enable"}, "unknown"),
        (
            Pickup("machine", 40.0),
            {"MachineDetection": "DetectMessageEnd", "MachineDetectionTimeout": "30"},
            "unknown",
        ),
    ],
)
def test_answering_machine_detection_follows_twilios_thresholds(
    pickup: Pickup, form: dict[str, str], answered_by: str
) -> None:
    found = detect(pickup, form)
    assert found is not None and found.answered_by == answered_by
    assert detect(pickup, {}) is None


async def test_a_created_call_with_async_amd_reports_a_machine_while_it_runs(
    app: AppStub,
) -> None:
    app.voice = streaming(app)
    callee = Callee(
        server_url=app.url,
        public_url=app.public_url,
        script=[Silence(2.5)],
        pickup=Pickup("machine", speech_s=1.2),
        answer_delay_s=0.1,
    )
    async with TwilioRestSim(account_sid=ACCOUNT, auth_token=TOKEN, callee=callee) as rest:
        created = await in_thread(
            rest.client().calls.create,
            to="+12025550177",
            from_="+12025550123",
            url=app.public_url + "/twilio/voice",
            machine_detection="DetectMessageEnd",
            machine_detection_speech_threshold=1000,
            async_amd="true",
            async_amd_status_callback=app.hook("amd"),
            status_callback=app.hook("status"),
            status_callback_event=["initiated", "ringing", "answered", "completed"],
        )
        result = await asyncio.wait_for(rest.placed_result(created.sid), TIMEOUT)
        fetched = await in_thread(rest.client().calls(created.sid).fetch)

    assert app.refused == 0
    [webhook] = app.forms("/twilio/voice")
    assert "AnsweredBy" not in webhook, "asynchronous: the call is connected at once"
    [amd] = app.forms("/hooks/amd")
    assert (amd["AnsweredBy"], amd["MachineDetectionDuration"]) == ("machine_end_beep", "1700")
    assert (amd["CallSid"], amd["AccountSid"]) == (created.sid, ACCOUNT)
    amd_at = next(hit.t for hit in app.hits if hit.path == "/hooks/amd")
    stop_at = next(t for t, m in app.streams[0].received if m["event"] == "stop")
    assert amd_at < stop_at, "the result came while the call was running"
    statuses = app.forms("/hooks/status")
    assert [s["CallStatus"] for s in statuses] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert statuses[-1]["AnsweredBy"] == "machine_end_beep"
    assert (fetched.answered_by, result.answered_by) == ("machine_end_beep", "machine_end_beep")


async def test_synchronous_amd_puts_the_result_in_the_webhook(app: AppStub) -> None:
    app.voice = streaming(app)
    callee = Callee(
        server_url=app.url,
        public_url=app.public_url,
        script=[Silence(0.3)],
        pickup=Pickup("fax"),
    )
    async with TwilioRestSim(account_sid=ACCOUNT, auth_token=TOKEN, callee=callee) as rest:
        created = await in_thread(
            rest.client().calls.create,
            to="+12025550177",
            from_="+12025550123",
            twiml=streaming(app),
            machine_detection="Enable",
        )
        result = await asyncio.wait_for(rest.placed_result(created.sid), TIMEOUT)

    assert result.answered_by == "fax"
    assert app.forms("/twilio/voice") == [], "Twiml= given up front: no webhook"
    requested = [e for e in result.journey if isinstance(e, Requested)]
    assert requested == []


async def test_hanging_up_a_ringing_call_cancels_it(app: AppStub) -> None:
    app.voice = streaming(app)
    callee = Callee(server_url=app.url, public_url=app.public_url, answer_delay_s=30)
    async with TwilioRestSim(account_sid=ACCOUNT, auth_token=TOKEN, callee=callee) as rest:
        client = rest.client()
        created = await in_thread(
            client.calls.create, to="+12025550177", from_="+12025550123", url=app.hook("x")
        )
        await in_thread(client.calls(created.sid).update, status="canceled")
        result = await asyncio.wait_for(rest.placed_result(created.sid), TIMEOUT)
        fetched = await in_thread(client.calls(created.sid).fetch)

    assert (result.final_status, fetched.status) == ("canceled", "canceled")
    assert result.journey == (HungUp(t=result.journey[0].t, by="rest"),)
