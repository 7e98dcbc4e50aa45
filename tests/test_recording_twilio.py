"""Twilio's recording of a call: announced first, started over REST once the announcement was
heard, paused while the caller types card digits and resumed after, its SID, duration and URL
kept with the call from the recording status callback. The server's own file keeps the
caller's channel silent around the digits."""

import asyncio
import time
import wave
from pathlib import Path

import httpx
import numpy as np

from telephony.recording import StereoTimeline
from tests.outbound import dialling_server
from twins.twilio import Dtmf, Hangup, Silence, SimulatedCall, Speak, WaitForReply
from twins.twilio.timeline import EventKind

CONSENT = "This call is recorded for quality purposes."


def test_the_callers_channel_can_be_silenced_back_to_what_is_not_written_yet() -> None:
    timeline = StereoTimeline()
    loud = bytes([0x10]) * 160
    for i in range(10):
        timeline.caller(loud, timestamp_ms=20 * i, now=160 * i)
    timeline.commit(800)
    timeline.mute_caller_since(1200)
    timeline.caller(loud, timestamp_ms=200, now=1600, muted=True)
    block = timeline.commit(1760)
    assert block is not None
    left = np.frombuffer(block.pcm, "<i2").reshape(-1, 2)[:, 0]
    assert np.all(left[: 1200 - 800] != 0)
    assert np.all(left[1200 - 800 :] == 0)


async def test_twilio_records_after_the_announcement_and_pauses_for_digits(
    tmp_path: Path,
) -> None:
    async with dialling_server(
        tmp_path,
        record_twilio=True,
        record_heard=True,
        recordings_dir=str(tmp_path / "recordings"),
        recording_consent=CONSENT,
    ) as (server, rest):
        call = SimulatedCall(
            server.call_config(
                [
                    WaitForReply(timeout=20),
                    Silence(0.5),
                    Dtmf("4242", gap_ms=250),
                    Speak(1.0),  # while the recordings are paused: not recorded
                    Silence(3.5),
                    Speak(1.0),  # after: recorded
                    WaitForReply(timeout=20),
                    Hangup(),
                ]
            )
        )
        rest.attach(call)
        running = asyncio.create_task(call.run())
        statuses: list[str] = []
        first_seen: float | None = None
        async with asyncio.timeout(90):
            while not running.done():
                for recording in rest.recordings.values():
                    first_seen = first_seen or time.monotonic()
                    if not statuses or statuses[-1] != recording.status:
                        statuses.append(recording.status)
                await asyncio.sleep(0.01)
        result = await running
        headers = {"Authorization": f"Bearer {server.api_token}"}
        async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as client:
            async with asyncio.timeout(20):
                while True:
                    listed = (await client.get(f"/calls/{result.call_sid}/recordings")).json()
                    kinds = {item["kind"]: item for item in listed}
                    done = kinds.get("twilio", {}).get("status") == "completed"
                    if done and kinds.get("heard", {}).get("status") == "completed":
                        break
                    await asyncio.sleep(0.05)
        texts = [t.text for c in server.emulator.record.connections for t in c.texts]
        [recording] = rest.recordings.values()

    assert CONSENT in texts[0], "the first thing the agent is asked to say is the announcement"
    greeting_end = result.timeline.of(EventKind.PLAYBACK_STOPPED)[0].t
    digits = result.timeline.of(EventKind.DTMF_SENT)
    assert first_seen is not None and first_seen > greeting_end, "recording after the greeting"
    assert statuses == ["in-progress", "paused", "in-progress", "completed"]
    assert recording.pauses == 1 and recording.channels == 2
    assert first_seen < digits[0].t

    twilio = kinds["twilio"]
    assert twilio["recording_sid"] == recording.sid
    assert twilio["url"] == recording.url
    assert twilio["duration_ms"] is not None and twilio["duration_ms"] >= 5000

    # The server's own file: the caller's channel is silent from the first digit until three
    # seconds after the last one (their words then included); what they say after is there.
    with wave.open(kinds["heard"]["path"], "rb") as wav:
        frames = np.frombuffer(wav.readframes(wav.getnframes()), "<i2").reshape(-1, 2)
    left = frames[:, 0]
    origin = result.timeline.origin
    muted_speech, recorded_speech = result.timeline.of(EventKind.SPEECH_STARTED)[:2]

    def seconds(start: float, end: float) -> np.ndarray:
        return left[int((start - origin) * 8000) : int((end - origin) * 8000)]

    assert np.all(seconds(digits[0].t + 0.1, muted_speech.t + 1.0) == 0)
    assert np.count_nonzero(seconds(recorded_speech.t + 0.2, recorded_speech.t + 0.8)) > 1000
