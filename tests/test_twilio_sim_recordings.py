"""Recording a live call over REST with the real twilio SDK: start with a status callback,
pause and resume (as while card digits are typed), stop, and the end of the call."""

import asyncio
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.twiml.voice_response import Connect, VoiceResponse

from twins.twilio import CallConfig, Silence, SimulatedCall, TwilioRestSim
from twins.twilio.appstub import AppStub, StreamPlan
from twins.twilio.clock import ManualClock
from twins.twilio.recording import Recording

ACCOUNT = "AC" + "7" * 32
TOKEN = "9" * 32
TIMEOUT = 30


async def in_thread(function: Any, *args: Any, **kwargs: Any) -> Any:
    return await asyncio.wait_for(asyncio.to_thread(function, *args, **kwargs), TIMEOUT)


async def test_recordings_start_pause_resume_stop_and_end_with_the_call() -> None:
    app = AppStub(TOKEN, voice="", stream=StreamPlan(close_after_s=None))
    response = VoiceResponse()
    connect = Connect()
    connect.stream(url=app.stream_url)
    response.append(connect)
    app.voice = str(response)
    async with (
        app.serving() as url,
        TwilioRestSim(account_sid=ACCOUNT, auth_token=TOKEN) as rest,
    ):
        call = SimulatedCall(
            CallConfig(
                server_url=url,
                public_url=app.public_url,
                auth_token=TOKEN,
                account_sid=ACCOUNT,
                script=(Silence(60),),
            )
        )
        rest.attach(call)
        running = asyncio.create_task(call.run())
        assert await asyncio.wait_for(call.wait_streaming(), TIMEOUT)
        recordings = rest.client().calls(call.call_sid).recordings

        whole = await in_thread(
            recordings.create,
            recording_status_callback=app.hook("recording"),
            recording_status_callback_event=["in-progress", "completed"],
        )
        assert (whole.status, whole.source, whole.channels) == (
            "in-progress",
            "StartCallRecordingAPI",
            1,
        )
        assert whole.sid.startswith("RE")
        paused = await in_thread(recordings(whole.sid).update, status="paused")
        assert paused.status == "paused"
        resumed = await in_thread(recordings("Twilio.CURRENT").update, status="in-progress")
        assert (resumed.sid, resumed.status) == (whole.sid, "in-progress")

        part = await in_thread(
            recordings.create,
            recording_status_callback=app.hook("recording"),
            recording_channels="dual",
        )
        stopped = await in_thread(recordings(part.sid).update, status="stopped")
        assert (stopped.status, stopped.channels) == ("completed", 2)
        await app.wait_for("/hooks/recording", count=2)

        await in_thread(rest.client().calls(call.call_sid).update, status="completed")
        await asyncio.wait_for(running, TIMEOUT)
        listed = await in_thread(recordings.list)
        fetched = await in_thread(recordings(whole.sid).fetch)

        with pytest.raises(TwilioRestException) as error:
            await in_thread(recordings.create)
        assert error.value.code == 21220

    assert {r.sid for r in listed} == {whole.sid, part.sid}
    assert {r.status for r in listed} == {"completed"}
    assert fetched.duration is not None and int(fetched.duration) >= 0
    forms = app.forms("/hooks/recording")
    assert [(f["RecordingSid"], f["RecordingStatus"]) for f in forms] == [
        (whole.sid, "in-progress"),
        (part.sid, "completed"),
        (whole.sid, "completed"),
    ], "the second recording subscribed to completed only (the default)"
    last = forms[-1]
    assert last["CallSid"] == call.call_sid
    assert last["AccountSid"] == ACCOUNT
    assert last["RecordingUrl"].endswith(f"/Accounts/{ACCOUNT}/Recordings/{whole.sid}")
    assert int(last["RecordingDuration"]) >= 0
    assert (last["RecordingChannels"], last["RecordingSource"]) == ("1", "StartCallRecordingAPI")
    assert forms[0]["RecordingDuration"] == "-1", "still recording"
    assert app.refused == 0


@pytest.mark.parametrize(("behavior", "seconds"), [("silence", 6.0), ("skip", 3.0)])
def test_a_pause_is_kept_as_silence_or_skipped(behavior: str, seconds: float) -> None:
    clock = ManualClock()
    recording = Recording("RE" + "1" * 32, ACCOUNT, "CA" + "2" * 32, clock)
    clock.advance(2)
    recording.pause(behavior)
    clock.advance(3)
    recording.resume()
    clock.advance(1)
    recording.stop()
    clock.advance(5)
    assert (recording.status, recording.duration_s, recording.pauses) == ("completed", seconds, 1)
    assert recording.callback_params()["RecordingDuration"] == str(int(seconds))
