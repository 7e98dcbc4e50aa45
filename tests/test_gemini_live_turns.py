"""A turn's life as the real Live API lives it: generation ahead of playback, ``generationComplete``
then ``turnComplete`` once the audio has played, late interruptions."""

import base64
import math
import time

from tests.test_gemini_live_server import (
    MODEL_3X,
    MODEL_25,
    Message,
    RawClient,
    audio_messages,
    is_turn_complete,
    raw_client,
)
from twins.gemini_live import (
    AfterGenerationComplete,
    EmulatorConfig,
    Interruptions,
    LiveEmulator,
    Pacing,
)
from twins.speech import speech_like

FRAME = 640
WAITING = Pacing(speed=20.0, burst_ms=0, turn_complete_after_playback=True)
"""Generated fast, completed after playback: the window between the two is wide."""


def content(message: Message) -> dict[str, object]:
    found: dict[str, object] = message.get("serverContent", {})
    return found


def is_generation_complete(message: Message) -> bool:
    return bool(content(message).get("generationComplete"))


def audio_seconds(received: list[Message]) -> float:
    return sum(
        len(base64.b64decode(part["inlineData"]["data"])) / 48000
        for m in audio_messages(received)
        for part in m["serverContent"]["modelTurn"]["parts"]
    )


async def speak(client: RawClient, seconds: float, silence_s: float = 0.8) -> None:
    pcm = speech_like(seconds, 16000, seed=3).astype("<i2").tobytes() + bytes(
        2 * round(silence_s * 16000)
    )
    for start in range(0, len(pcm), FRAME):
        await client.audio(pcm[start : start + FRAME])


async def test_turn_complete_waits_for_the_playback_of_generated_audio() -> None:
    config = EmulatorConfig.idealised(pacing=WAITING)
    async with LiveEmulator(config) as emulator, raw_client(emulator) as client:
        emulator.script.next_reply(words=8)
        await client.setup(MODEL_25)
        await client.say("Hello?")
        generated = await client.recv_until(is_generation_complete)
        generated_at = time.monotonic()
        rest = await client.recv_until(is_turn_complete)
        completed_at = time.monotonic()

    assert audio_messages(generated)
    assert not audio_messages(rest)  # every chunk came before generationComplete
    assert [is_turn_complete(m) for m in rest] == [True]
    # The model waited for (its estimate of) playback: it never completes before the audio,
    # sent at 20x real time, could have played.
    assert completed_at - generated_at >= audio_seconds(generated) * (1 - 1 / 20) - 0.05


async def test_caller_speech_during_the_playback_wait_can_interrupt() -> None:
    config = EmulatorConfig.idealised(
        pacing=WAITING, interruptions=Interruptions(turn_complete_after_interrupted=True)
    )
    async with LiveEmulator(config) as emulator, raw_client(emulator) as client:
        emulator.script.next_reply(words=20)
        emulator.script.decide_late_interruption(True)
        await client.setup(MODEL_25)
        await client.say("Hello?")
        await client.recv_until(is_generation_complete)
        await speak(client, 0.6, silence_s=0.0)
        received = await client.recv_until(is_turn_complete)

    assert [list(content(m)) for m in received] == [["interrupted"], ["turnComplete"]]
    assert emulator.record.last.interruptions == 1
    assert emulator.record.last.turns_completed == 0


async def test_caller_speech_during_the_playback_wait_may_not_interrupt() -> None:
    config = EmulatorConfig.idealised(pacing=WAITING)
    async with LiveEmulator(config) as emulator, raw_client(emulator) as client:
        emulator.script.next_reply(words=20)
        emulator.script.decide_late_interruption(False)
        await client.setup(MODEL_25)
        await client.say("Hello?")
        await client.recv_until(is_generation_complete)
        await speak(client, 0.6, silence_s=0.0)
        received = await client.recv_until(is_turn_complete)

    assert not any("interrupted" in content(m) for m in received)
    assert emulator.record.last.interruptions == 0
    assert emulator.record.last.turns_completed == 1


async def test_an_interrupted_turn_ends_interrupted_then_turn_complete() -> None:
    config = EmulatorConfig.idealised(
        pacing=Pacing(speed=1.0, burst_ms=0),
        interruptions=Interruptions(turn_complete_after_interrupted=True),
    )
    async with LiveEmulator(config) as emulator, raw_client(emulator) as client:
        emulator.script.next_reply(words=30)
        await client.setup(MODEL_3X)
        await client.say("Hello?")
        await client.recv()  # the reply is being generated
        await speak(client, 0.6, silence_s=0.0)
        received = await client.recv_until(lambda m: "interrupted" in content(m))
        received += [await client.recv()]

    assert is_turn_complete(received[-1])
    assert not any(is_generation_complete(m) for m in received)


async def test_a_stray_interrupted_can_follow_turn_complete() -> None:
    config = EmulatorConfig.idealised(
        pacing=Pacing.unpaced(),
        interruptions=Interruptions(after_turn_complete=1.0, after_turn_complete_window_ms=60_000),
    )
    async with LiveEmulator(config) as emulator, raw_client(emulator) as client:
        await client.setup(MODEL_25)
        await client.say("Hello?")
        await client.recv_until(is_turn_complete)
        await speak(client, 0.6, silence_s=0.0)
        received = await client.recv()

    assert content(received) == {"interrupted": True}


async def test_the_script_can_act_while_the_model_waits_for_playback() -> None:
    config = EmulatorConfig.idealised(pacing=WAITING)
    async with LiveEmulator(config) as emulator, raw_client(emulator) as client:
        emulator.script.go_away(time_left_s=0.2, when=AfterGenerationComplete())
        await client.setup(MODEL_25)
        await client.say("Hello?")
        received, closed = await client.rest()

    assert is_generation_complete(received[-2])
    assert "goAway" in received[-1]
    assert not any(is_turn_complete(m) for m in received)
    assert closed.rcvd is not None
    assert closed.rcvd.code == 1011


async def test_a_scripted_pacing_applies_to_the_next_reply_only() -> None:
    config = EmulatorConfig.idealised(pacing=Pacing.unpaced(), reply_chunk_ms=40)
    async with LiveEmulator(config) as emulator, raw_client(emulator) as client:
        emulator.script.pace_next_reply(Pacing(speed=math.inf, chunk_range_ms=(100, 100)))
        await client.setup(MODEL_25)
        await client.say("Hello?")
        first = await client.recv_until(is_turn_complete)
        await client.say("And then?")
        second = await client.recv_until(is_turn_complete)

    assert set(chunk_lengths_ms(first)[:-1]) == {100}  # the last chunk is what is left
    assert set(chunk_lengths_ms(second)[:-1]) == {40}


def chunk_lengths_ms(received: list[Message]) -> list[int]:
    return [
        round(len(base64.b64decode(part["inlineData"]["data"])) / 48)
        for m in audio_messages(received)
        for part in m["serverContent"]["modelTurn"]["parts"]
    ]
