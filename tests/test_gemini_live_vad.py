"""Energy-based voice activity detection, in audio time; plus the reply plan it is paired with."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twins.gemini_live.vad import (
    EnergyVad,
    SpeechEnded,
    SpeechStarted,
    VadEvent,
    block_levels_dbfs,
)
from twins.speech import speech_like

RATE = 16000


def silence(seconds: float) -> bytes:
    return bytes(2 * round(seconds * RATE))


def speech(seconds: float, seed: int = 0) -> bytes:
    return speech_like(seconds, RATE, seed=seed).astype("<i2").tobytes()


def feed_in_chunks(vad: EnergyVad, pcm: bytes, sizes: list[int]) -> list[VadEvent]:
    events: list[VadEvent] = []
    position = 0
    for size in sizes:
        events += vad.feed(pcm[position : position + size], RATE)
        position += size
    return events + vad.feed(pcm[position:], RATE)


def test_levels_of_a_full_scale_sine_and_of_silence() -> None:
    t = np.arange(1600) / RATE
    sine = (32767 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)

    levels = block_levels_dbfs(np.concatenate([sine, np.zeros(160, np.int16)]), 160)

    assert levels[:10] == pytest.approx(-3.01, abs=0.01)
    assert levels[10] == -np.inf


def test_silence_is_not_speech() -> None:
    vad = EnergyVad()

    assert vad.feed(silence(2.0), RATE) == []
    assert not vad.speaking
    assert vad.position_ms == 2000


def test_an_utterance_starts_and_ends_once() -> None:
    vad = EnergyVad(start_ms=150, end_ms=500)

    events = vad.feed(silence(0.3) + speech(1.0) + silence(0.6), RATE)

    assert [type(e) for e in events] == [SpeechStarted, SpeechEnded]
    started, ended = events
    assert isinstance(started, SpeechStarted)
    assert isinstance(ended, SpeechEnded)
    assert 300 <= started.at_ms < 400
    assert ended.started_ms == started.at_ms
    assert 1100 <= ended.at_ms <= 1300
    assert not vad.speaking


def test_speech_ends_only_after_the_configured_silence() -> None:
    vad = EnergyVad(end_ms=500)
    assert [type(e) for e in vad.feed(speech(1.0) + silence(0.4), RATE)] == [SpeechStarted]

    assert [type(e) for e in vad.feed(silence(0.2), RATE)] == [SpeechEnded]


def test_a_short_blip_is_not_speech() -> None:
    vad = EnergyVad(start_ms=150)

    assert vad.feed(speech(0.08) + silence(1.0), RATE) == []


def test_quiet_audio_under_the_threshold_is_not_speech() -> None:
    quiet = speech_like(1.0, RATE, level_dbfs=-60.0).astype("<i2").tobytes()

    assert EnergyVad(threshold_dbfs=-40.0).feed(quiet, RATE) == []


def test_flush_ends_speech_in_progress() -> None:
    vad = EnergyVad()
    vad.feed(speech(0.5), RATE)
    speaking_before = vad.speaking

    events = vad.flush()

    assert speaking_before
    assert [type(e) for e in events] == [SpeechEnded]
    assert vad.speaking is False
    assert vad.flush() == []


@settings(deadline=None, max_examples=30)
@given(st.lists(st.integers(min_value=0, max_value=3001), max_size=40))
def test_chunked_input_gives_the_same_events_as_whole_input(sizes: list[int]) -> None:
    pcm = silence(0.2) + speech(0.8, seed=3) + silence(0.7) + speech(0.4, seed=4) + silence(0.6)
    whole = EnergyVad().feed(pcm, RATE)

    assert feed_in_chunks(EnergyVad(), pcm, sizes) == whole
    assert [type(e) for e in whole] == [SpeechStarted, SpeechEnded] * 2


@settings(deadline=None, max_examples=50)
@given(
    st.lists(st.floats(min_value=-46.0, max_value=-34.0), min_size=1, max_size=30),
    st.integers(min_value=0, max_value=2**32 - 1),
)
def test_a_block_is_voiced_exactly_when_its_level_reaches_the_threshold(
    levels_dbfs: list[float], seed: int
) -> None:
    # Noise blocks of 10 ms at levels around the -40 dBFS threshold; with start_ms of one block,
    # speech starts at the first block whose level (block_levels_dbfs) reaches the threshold.
    rng = np.random.default_rng(seed)
    blocks = [rng.normal(0.0, 32768 * 10 ** (level / 20), 160) for level in levels_dbfs]
    samples = np.clip(np.round(np.concatenate(blocks)), -32768, 32767).astype(np.int16)
    levels = block_levels_dbfs(samples, 160)
    voiced = [i for i, level in enumerate(levels) if level >= -40.0]

    events = EnergyVad(threshold_dbfs=-40.0, start_ms=10).feed(samples.tobytes(), RATE)

    starts = [e.at_ms for e in events if isinstance(e, SpeechStarted)]
    assert starts[:1] == [10.0 * i for i in voiced[:1]]


def test_other_sample_rates() -> None:
    pcm = speech_like(1.0, 8000).astype("<i2").tobytes() + bytes(2 * 8000)

    events = EnergyVad().feed(pcm, 8000)

    assert [type(e) for e in events] == [SpeechStarted, SpeechEnded]
