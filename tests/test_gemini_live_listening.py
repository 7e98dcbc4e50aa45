"""The model's ears: voice activity detection as the setup asks, input transcription in time."""

import json
import random
from collections.abc import Mapping

import pytest
from google.genai import types

from tests.test_gemini_live_server import (
    MODEL_3X,
    MODEL_25,
    Message,
    RawClient,
    audio_messages,
    is_turn_complete,
    raw_client,
)
from twins.gemini_live import EmulatorConfig, LiveEmulator, Pacing, Transcripts
from twins.gemini_live.events import ActivityDetection, Setup
from twins.gemini_live.listening import (
    LOW_SENSITIVITY_FACTOR,
    LOW_START_EXTRA_DB,
    CallerSpeech,
    vad_settings,
)
from twins.gemini_live.wire import parse_client_message
from twins.speech import speech_like

CONFIG = EmulatorConfig.idealised(silence_ms=500, speech_start_ms=150, vad_threshold_dbfs=-40)
FRAME = 640  # 20 ms of 16 kHz PCM16


def speech(seconds: float, seed: int = 1) -> bytes:
    return speech_like(seconds, 16000, seed=seed).astype("<i2").tobytes()


def silence(seconds: float) -> bytes:
    return bytes(2 * round(seconds * 16000))


async def stream(client: RawClient, pcm: bytes) -> None:
    for start in range(0, len(pcm), FRAME):
        await client.audio(pcm[start : start + FRAME])


def heard(received: list[Message]) -> list[Message]:
    return [
        m["serverContent"]["inputTranscription"]
        for m in received
        if "inputTranscription" in m.get("serverContent", {})
    ]


# --- the detector's settings ---------------------------------------------------------------


def parse_setup(message: Mapping[str, object]) -> Setup:
    [setup] = parse_client_message(json.dumps(message))
    assert isinstance(setup, Setup)
    return setup


def test_without_settings_the_configured_detector_is_used() -> None:
    settings = vad_settings(CONFIG, ActivityDetection())

    assert (settings.threshold_dbfs, settings.start_ms, settings.end_ms) == (-40, 150, 500)


def test_low_sensitivities_need_more_speech_and_more_silence() -> None:
    settings = vad_settings(
        CONFIG,
        ActivityDetection(
            start_sensitivity="START_SENSITIVITY_LOW", end_sensitivity="END_SENSITIVITY_LOW"
        ),
    )

    assert settings.start_ms == 150 * LOW_SENSITIVITY_FACTOR
    assert settings.end_ms == 500 * LOW_SENSITIVITY_FACTOR
    assert settings.threshold_dbfs == -40 + LOW_START_EXTRA_DB


def test_high_sensitivities_are_the_configured_ones() -> None:
    activity = ActivityDetection(
        start_sensitivity="START_SENSITIVITY_HIGH", end_sensitivity="END_SENSITIVITY_HIGH"
    )

    assert vad_settings(CONFIG, activity) == vad_settings(CONFIG, ActivityDetection())


def test_padding_and_silence_durations_from_the_setup_win() -> None:
    activity = ActivityDetection(
        start_sensitivity="START_SENSITIVITY_LOW", prefix_padding_ms=40, silence_duration_ms=1200
    )
    settings = vad_settings(CONFIG, activity)

    assert (settings.start_ms, settings.end_ms) == (40, 1200)


def test_setup_activity_detection_settings() -> None:
    setup = parse_setup(
        {
            "setup": {
                "model": "models/gemini-2.5-flash-native-audio-preview-09-2025",
                "realtimeInputConfig": {
                    "automaticActivityDetection": {
                        "startOfSpeechSensitivity": "START_SENSITIVITY_LOW",
                        "endOfSpeechSensitivity": "END_SENSITIVITY_HIGH",
                        "prefixPaddingMs": 40,
                        "silenceDurationMs": "800",
                    },
                    "activityHandling": "NO_INTERRUPTION",
                },
            }
        }
    )

    assert isinstance(setup, Setup)
    assert setup.activity == ActivityDetection(
        start_sensitivity="START_SENSITIVITY_LOW",
        end_sensitivity="END_SENSITIVITY_HIGH",
        prefix_padding_ms=40,
        silence_duration_ms=800,
        interrupts=False,
    )


def test_google_genai_writes_the_activity_settings_we_read() -> None:
    config = types.LiveConnectConfig(
        realtime_input_config=types.RealtimeInputConfig(
            automatic_activity_detection=types.AutomaticActivityDetection(
                start_of_speech_sensitivity=types.StartSensitivity.START_SENSITIVITY_HIGH,
                end_of_speech_sensitivity=types.EndSensitivity.END_SENSITIVITY_LOW,
                prefix_padding_ms=20,
                silence_duration_ms=1000,
            ),
            activity_handling=types.ActivityHandling.START_OF_ACTIVITY_INTERRUPTS,
        )
    )
    realtime = config.realtime_input_config
    assert realtime is not None
    wire = {"setup": {"model": "m", "realtimeInputConfig": realtime.model_dump(mode="json")}}

    setup = parse_setup(wire)

    assert isinstance(setup, Setup)
    assert setup.activity == ActivityDetection(
        start_sensitivity="START_SENSITIVITY_HIGH",
        end_sensitivity="END_SENSITIVITY_LOW",
        prefix_padding_ms=20,
        silence_duration_ms=1000,
    )


# --- input transcription fragments ----------------------------------------------------------


def test_fragments_are_due_a_lag_after_their_last_word() -> None:
    transcripts = Transcripts(input_fragment_words=(2, 2), caller_words_per_second=2.0)
    caller = CallerSpeech("one two three four five", transcripts, random.Random(0))

    assert caller.advance(999) == []
    assert caller.advance(1) == ["one two"]  # the second word is said by 1 s
    assert caller.advance(1000) == [" three four"]
    assert caller.rest() == [" five"]
    assert caller.rest() == []


def test_the_lag_holds_fragments_back() -> None:
    transcripts = Transcripts(input_fragment_words=(1, 1), caller_words_per_second=2.0)
    lagging = Transcripts(
        input_fragment_words=(1, 1), caller_words_per_second=2.0, input_lag_ms=300
    )
    prompt = CallerSpeech("one two", transcripts, random.Random(0))
    late = CallerSpeech("one two", lagging, random.Random(0))

    assert prompt.advance(500) == ["one"]
    assert late.advance(500) == []
    assert late.advance(300) == ["one"]


@pytest.mark.parametrize("seed", range(5))
def test_fragments_make_up_the_phrase(seed: int) -> None:
    caller = CallerSpeech(
        "Hello, are you open on Saturday?", Transcripts.realistic(), random.Random(seed)
    )

    pieces = caller.advance(1200) + caller.rest()
    assert "".join(pieces) == "Hello, are you open on Saturday?"
    assert all(1 <= len(piece.split()) <= 4 for piece in pieces)


# --- on the wire ----------------------------------------------------------------------------


async def test_input_transcription_streams_while_the_caller_speaks() -> None:
    transcripts = Transcripts(input_streaming=True, input_fragment_words=(1, 1), input_lag_ms=200)
    config = EmulatorConfig.idealised(transcripts=transcripts, pacing=Pacing.unpaced())
    async with LiveEmulator(config) as emulator, raw_client(emulator) as client:
        emulator.script.next_transcription("one two three four five six")
        await client.setup(MODEL_25, inputAudioTranscription={})
        await stream(client, speech(2.5))  # still speaking: no silence yet
        first = await client.recv()
        assert emulator.record.last.caller_turns == 0  # the turn has not ended
        await stream(client, silence(1.0))
        received = [first, *await client.recv_until(is_turn_complete)]

    fragments = heard(received)
    assert fragments[0] == {"text": "one"}
    assert "".join(f["text"] for f in fragments) == "one two three four five six"


async def test_the_last_fragment_can_come_after_the_reply_began() -> None:
    config = EmulatorConfig.idealised(pacing=Pacing.unpaced())
    async with LiveEmulator(config) as emulator, raw_client(emulator) as client:
        emulator.script.next_transcription("one two three four five")
        emulator.script.late_input_transcription()
        await client.setup(MODEL_25, inputAudioTranscription={})
        await stream(client, speech(1.5) + silence(1.0))
        received = await client.recv_until(is_turn_complete)

    first_audio = received.index(audio_messages(received)[0])
    last_heard = max(i for i, m in enumerate(received) if "inputTranscription" in str(m))
    assert last_heard > first_audio
    assert "".join(f["text"] for f in heard(received)) == "one two three four five"


async def test_a_3x_model_sends_one_final_transcription_possibly_late() -> None:
    config = EmulatorConfig.idealised(pacing=Pacing.unpaced())
    async with LiveEmulator(config) as emulator, raw_client(emulator) as client:
        emulator.script.next_transcription("one two three")
        emulator.script.late_input_transcription()
        await client.setup(MODEL_3X, inputAudioTranscription={})
        await stream(client, speech(1.5) + silence(1.0))
        received = await client.recv_until(is_turn_complete)

    assert heard(received) == [{"text": "one two three", "finished": True}]
    first_audio = received.index(audio_messages(received)[0])
    assert "inputTranscription" in received[first_audio + 1]["serverContent"]


async def test_the_setup_silence_duration_decides_when_the_turn_ends() -> None:
    detection = {"automaticActivityDetection": {"silenceDurationMs": 1500}}
    async with LiveEmulator(CONFIG) as emulator, raw_client(emulator) as client:
        await client.setup(MODEL_25, realtimeInputConfig=detection)
        await stream(client, speech(1.0) + silence(1.0))
        await emulator.record.wait_for(lambda r: r.last.audio_ms >= 2000)
        assert emulator.record.last.caller_turns == 0  # 1 s of silence is not enough
        await stream(client, silence(0.6))
        await emulator.record.wait_for(lambda r: r.last.caller_turns == 1)


async def test_no_interruption_lets_the_reply_play_on() -> None:
    realtime = {"activityHandling": "NO_INTERRUPTION"}
    config = EmulatorConfig.idealised(pacing=Pacing(speed=1.0, burst_ms=0))
    async with LiveEmulator(config) as emulator, raw_client(emulator) as client:
        emulator.script.next_reply(words=12)
        await client.setup(MODEL_25, realtimeInputConfig=realtime)
        await client.say("Hello?")
        await client.recv()  # the reply has begun
        await stream(client, speech(0.6) + silence(0.8))
        await emulator.record.wait_for(lambda r: r.last.caller_turns == 1)
        received = await client.recv_until(is_turn_complete)

    assert emulator.record.last.interruptions == 0
    assert not any("interrupted" in m.get("serverContent", {}) for m in received)
