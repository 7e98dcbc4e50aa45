"""Voicemail detection from the audio alone: a short hello is a person, a long greeting then a
beep is a machine (known when the beep ends), a long greeting then silence too, nothing at all
is unknown. Accuracy on many generated cases: ``bench/voicemail.py``."""

import numpy as np
import numpy.typing as npt
import pytest

from telephony.audio.voicemail import VoicemailDetector
from twins.speech import speech_like

RATE = 8000


def seconds(s: float) -> npt.NDArray[np.float64]:
    return np.zeros(int(s * RATE))


def speech(s: float, seed: int = 1) -> npt.NDArray[np.float64]:
    return speech_like(s, RATE, seed=seed).astype(np.float64)


def tone(s: float, hz: float, dbfs: float = -12.0) -> npt.NDArray[np.float64]:
    t = np.arange(int(s * RATE)) / RATE
    amplitude = 32768 * 10 ** (dbfs / 20) * np.sqrt(2)
    wave: npt.NDArray[np.float64] = amplitude * np.sin(2 * np.pi * hz * t)
    return wave


def pcm(*parts: npt.NDArray[np.float64]) -> bytes:
    audio = np.concatenate(parts)
    noise = np.random.default_rng(0).normal(0, 32768 * 10 ** (-55 / 20), len(audio))
    return np.clip(audio + noise, -32768, 32767).astype("<i2").tobytes()


def verdict(audio: bytes, chunk: int = 320) -> tuple[str, int] | None:
    detector = VoicemailDetector()
    for offset in range(0, len(audio), chunk):
        if (found := detector.feed(audio[offset : offset + chunk])) is not None:
            return found.answered_by, found.at_ms
    return None


@pytest.mark.parametrize("hz", [440.0, 1000.0, 1400.0])
def test_a_long_greeting_then_a_beep_is_a_machine_known_as_the_beep_ends(hz: float) -> None:
    audio = pcm(seconds(0.2), speech(5.0), seconds(0.4), tone(0.5, hz), seconds(3))
    found = verdict(audio)
    assert found is not None
    answered_by, at_ms = found
    assert answered_by == "machine_end_beep"
    assert 6100 - 20 <= at_ms <= 6100 + 40  # the beep ends at 6.1 s


def test_a_short_hello_then_silence_is_a_person() -> None:
    found = verdict(pcm(seconds(0.3), speech(0.9), seconds(3)))
    assert found is not None
    assert found[0] == "human"
    assert 2100 <= found[1] <= 2200  # a second after the hello ended (at 1.2 s)


def test_a_long_greeting_then_silence_is_a_machine_without_a_beep() -> None:
    found = verdict(pcm(speech(4.0), seconds(3)))
    assert found is not None and found[0] == "machine_end_silence"


def test_nothing_but_line_noise_is_unknown() -> None:
    assert verdict(pcm(seconds(7))) == ("unknown", 5000)


def test_a_tone_without_a_long_greeting_before_it_is_not_a_beep() -> None:
    # A short tone (a phone's key click, a ringback) before any greeting is not voicemail.
    found = verdict(pcm(seconds(0.2), tone(0.5, 1000.0), seconds(0.3), speech(0.8), seconds(3)))
    assert found is not None and found[0] == "human"


def test_the_verdict_does_not_depend_on_how_the_audio_is_cut() -> None:
    audio = pcm(speech(3.5, seed=4), seconds(0.2), tone(0.4, 850.0), seconds(2))
    assert verdict(audio, chunk=320) == verdict(audio, chunk=77 * 2) == verdict(audio, 4096)
