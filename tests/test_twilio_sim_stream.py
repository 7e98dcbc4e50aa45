"""The media stream's playback task ends with the stream, however the two meet."""

import asyncio

import pytest

from twins.twilio.caller import Caller
from twins.twilio.clock import MonotonicClock
from twins.twilio.inbound import Inbound
from twins.twilio.playout import Playout
from twins.twilio.stream import MediaStream, StreamSetup
from twins.twilio.timeline import Timeline

CALL_SID = "CA" + "1" * 32
STREAM_SID = "MZ" + "2" * 32


async def test_playback_stops_when_cancelled_just_as_it_is_woken() -> None:
    # A message from the server wakes playback in the same moment the stream ends (the caller
    # hangs up): the playback task must still end, or the call never does.
    clock = MonotonicClock()
    timeline = Timeline(clock.now())
    stream = MediaStream(
        StreamSetup(
            url="wss://voice.example.test/twilio/media",
            connect_url="ws://127.0.0.1:9/twilio/media",
            auth_token="token",
            account_sid="AC" + "3" * 32,
            call_sid=CALL_SID,
            stream_sid=STREAM_SID,
        ),
        Caller([]),
        timeline,
        clock,
    )
    inbound = Inbound(
        stream_sid=STREAM_SID,
        call_sid=CALL_SID,
        playout=Playout(clock),
        timeline=timeline,
        clock=clock,
    )
    inbound.playout.add_audio(b"\x10" * 8000)  # a second of agent audio playing
    playback = asyncio.create_task(stream._play(inbound))
    for _ in range(3):
        await asyncio.sleep(0)  # playback is asleep until the audio ends

    stream._wake.set()
    await asyncio.sleep(0)
    playback.cancel()

    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(playback, timeout=2.0)
