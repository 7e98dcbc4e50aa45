"""The emulator's options for benchmarks: transcript tags, timing logs, forgetting closed
connections, and replies synthesized ahead. Off by default; when on, what the client receives
is the same apart from the tag."""

import base64
import time

import pytest

from tests.test_gemini_live_server import (
    IDEALISED_FAST,
    Message,
    RawClient,
    audio_messages,
    is_turn_complete,
    raw_client,
)
from twins.gemini_live import EmulatorConfig, LiveEmulator, Pacing
from twins.gemini_live.brain import plan_reply
from twins.gemini_live.conversation import RECEPTIONIST
from twins.speech import speech_like

GREETING = RECEPTIONIST.greeting or ""
FRAME_BYTES = 640  # 20 ms of 16 kHz PCM16
SPEECH = speech_like(1.0, 16000).astype("<i2").tobytes()
SILENCE = bytes(2 * 16000)


def said(received: list[Message]) -> str:
    return "".join(
        m["serverContent"]["outputTranscription"]["text"]
        for m in received
        if "outputTranscription" in m.get("serverContent", {})
    )


def audio_bytes(received: list[Message]) -> int:
    return sum(
        len(base64.b64decode(part["inlineData"]["data"]))
        for m in audio_messages(received)
        for part in m["serverContent"]["modelTurn"]["parts"]
    )


async def greeting(client: RawClient) -> list[Message]:
    await client.setup(outputAudioTranscription={})
    await client.say("[The call has just been connected.]")
    return await client.recv_until(is_turn_complete)


async def speak(client: RawClient, pcm: bytes) -> None:
    for start in range(0, len(pcm), FRAME_BYTES):
        await client.audio(pcm[start : start + FRAME_BYTES])


async def test_each_reply_is_tagged_with_its_connection_when_asked() -> None:
    config = EmulatorConfig.idealised(tag_transcripts=True, pacing=Pacing.unpaced())
    async with LiveEmulator(config) as emulator:
        async with raw_client(emulator) as client:
            first = await greeting(client)
            await speak(client, SPEECH + SILENCE)
            reply = await client.recv_until(is_turn_complete)
        async with raw_client(emulator) as client:
            second = await greeting(client)

    assert said(first) == "[c0] " + GREETING
    assert said(reply) == "[c0] " + RECEPTIONIST.exchanges[0].answer(None)
    assert said(second) == "[c1] " + GREETING
    # The tag is text only: the audio is as long as the untagged greeting's.
    plan = plan_reply(GREETING, words_per_second=2.75, seed=0)
    assert audio_bytes(second) == len(plan.pcm)


async def test_replies_are_not_tagged_by_default() -> None:
    async with LiveEmulator(IDEALISED_FAST) as live_emulator, raw_client(live_emulator) as client:
        received = await greeting(client)

    assert said(received) == GREETING
    assert live_emulator.record.last.timings is None


async def test_timing_logs_follow_the_audio_in_and_out() -> None:
    config = EmulatorConfig.idealised(record_timings=True, pacing=Pacing.unpaced())
    async with LiveEmulator(config) as emulator, raw_client(emulator) as client:
        before = time.monotonic()
        received = await greeting(client)
        await speak(client, SPEECH + SILENCE)
        received += await client.recv_until(is_turn_complete)
        after = time.monotonic()
        timings = emulator.record.last.timings

    assert timings is not None
    frames = (len(SPEECH) + len(SILENCE)) // FRAME_BYTES
    assert list(timings.audio_in_ms) == pytest.approx([20.0 * (k + 1) for k in range(frames)])
    assert before <= timings.audio_in_t[0] and timings.audio_in_t[-1] <= after
    assert list(timings.audio_in_t) == sorted(timings.audio_in_t)

    chunks = len(audio_messages(received))
    assert len(timings.chunk_t) == len(timings.chunk_ms) == len(timings.chunk_turn) == chunks
    assert timings.chunk_ms[-1] == pytest.approx(audio_bytes(received) / 48.0)  # 24 kHz PCM16
    assert list(timings.chunk_ms) == sorted(timings.chunk_ms)
    assert list(timings.chunk_t) == sorted(timings.chunk_t)
    assert set(timings.chunk_turn) == {0, 1}  # the greeting, then the reply
    assert timings.replies == 2
    assert not timings.interrupted_t
    # The reply's audio went out after the caller's last audio came in.
    first_of_reply = list(timings.chunk_turn).index(1)
    assert timings.chunk_t[first_of_reply] > timings.audio_in_t[-1]


async def test_an_interruption_is_logged_between_the_chunks_it_cut() -> None:
    config = EmulatorConfig.idealised(record_timings=True, pacing=Pacing(speed=20.0))
    async with LiveEmulator(config) as emulator, raw_client(emulator) as client:
        emulator.script.next_reply(words=60)  # the greeting: long enough to talk over
        await client.setup(outputAudioTranscription={})
        await client.say("[The call has just been connected.]")
        await client.recv_until(lambda m: "modelTurn" in m.get("serverContent", {}))
        await speak(client, SPEECH[: 10 * FRAME_BYTES])  # 200 ms of speech: a barge-in
        await client.recv_until(lambda m: m.get("serverContent", {}).get("interrupted"))
        timings = emulator.record.last.timings

    assert timings is not None
    assert len(timings.interrupted_t) == 1
    assert timings.chunk_t and timings.chunk_t[-1] <= timings.interrupted_t[0]
    assert set(timings.chunk_turn) == {0}


async def test_forgetting_closed_connections_keeps_the_numbering() -> None:
    async with LiveEmulator(EmulatorConfig.idealised(pacing=Pacing.unpaced())) as emulator:
        for _ in range(2):
            async with raw_client(emulator) as client:
                await client.setup()
        await emulator.record.wait_for(lambda r: all(c.closed for c in r.connections))
        async with raw_client(emulator) as client:
            await client.setup()
            forgotten = emulator.record.forget_closed()
            record = emulator.record

            assert forgotten == 2
            assert [c.index for c in record.connections] == [2]
            assert record.connection_count == 3


async def test_replies_prepared_ahead_sound_the_same() -> None:
    config = EmulatorConfig.idealised(pacing=Pacing.unpaced())
    heard = []
    for prepare in (False, True):
        async with LiveEmulator(config) as emulator:
            if prepare:
                await emulator.prepare_replies()
            async with raw_client(emulator) as client:
                heard.append([m["serverContent"] for m in audio_messages(await greeting(client))])

    assert heard[0] == heard[1]
