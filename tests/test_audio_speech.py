"""The onset of the caller's speech: found within a few frames, not fooled by noise or echo."""

import numpy as np

from telephony.audio.speech import ONSET_MS, SILENT_DBFS, SpeechOnset, level_dbfs
from twins.speech import speech_like

RATE = 16000
FRAME_MS = 20.0
FRAME = int(RATE * FRAME_MS / 1000)


def frames(signal: np.ndarray) -> list[bytes]:
    pcm = np.clip(signal, -32768, 32767).astype("<i2")
    return [pcm[i : i + FRAME].tobytes() for i in range(0, len(pcm) - FRAME + 1, FRAME)]


def at_level(signal: np.ndarray, dbfs: float) -> np.ndarray:
    rms = float(np.sqrt(np.mean(np.square(signal.astype(np.float64)))))
    return signal.astype(np.float64) * (32768 * 10 ** (dbfs / 20) / rms)


def noise(seconds: float, dbfs: float, seed: int = 0) -> np.ndarray:
    return at_level(np.random.default_rng(seed).standard_normal(int(RATE * seconds)), dbfs)


def onsets(detector: SpeechOnset, chunks: list[bytes], echo_dbfs: float = SILENT_DBFS) -> list[int]:
    return [i for i, chunk in enumerate(chunks) if detector.feed(chunk, FRAME_MS, echo_dbfs)]


def test_level_of_a_full_scale_square_wave_is_zero_dbfs() -> None:
    square = np.tile(np.array([32767, -32767], dtype="<i2"), 80).tobytes()
    assert abs(level_dbfs(square)) < 0.01
    assert level_dbfs(bytes(320)) == SILENT_DBFS


def test_speech_after_silence_starts_after_the_onset_time() -> None:
    detector = SpeechOnset()
    quiet = frames(noise(1.0, -70))
    talk = frames(at_level(speech_like(1.0, RATE, seed=3), -22))
    found = onsets(detector, quiet + talk)
    assert found, "the speech was not found"
    first = found[0] - len(quiet)
    assert 0 <= first * FRAME_MS <= ONSET_MS + 60  # a syllable may start softly
    assert detector.speaking


def test_steady_line_noise_is_not_speech() -> None:
    detector = SpeechOnset()
    assert onsets(detector, frames(noise(3.0, -35))) == []


def test_speech_over_steady_noise_is_found() -> None:
    detector = SpeechOnset()
    background = noise(3.0, -40, seed=1)
    talk = at_level(speech_like(1.0, RATE, seed=4), -20)
    background[RATE * 2 : RATE * 3] += talk
    found = onsets(detector, frames(background))
    assert found
    assert found[0] * FRAME_MS >= 2000


def loudest_chunk_dbfs(signal: np.ndarray, chunk_ms: float = 40.0) -> float:
    """What the call takes as the agent's level: its loudest chunk in Twilio's buffer."""
    size = int(RATE * chunk_ms / 1000)
    pcm = signal.astype("<i2")
    return max(level_dbfs(pcm[i : i + size].tobytes()) for i in range(0, len(pcm), size))


def test_the_agents_echo_is_not_the_caller_talking() -> None:
    detector = SpeechOnset()
    agent = at_level(speech_like(2.0, RATE, seed=5), -18)
    echo = agent * 10 ** (-12 / 20)  # the line returns the agent 12 dB down
    assert onsets(detector, frames(echo), echo_dbfs=loudest_chunk_dbfs(agent)) == []


def test_the_caller_talking_over_the_agent_is_found() -> None:
    detector = SpeechOnset()
    agent = at_level(speech_like(2.0, RATE, seed=5), -18)
    line = agent * 10 ** (-12 / 20)
    line[RATE // 2 : RATE // 2 + RATE] += at_level(speech_like(1.0, RATE, seed=6), -20)
    assert onsets(detector, frames(line), echo_dbfs=loudest_chunk_dbfs(agent))


def test_a_click_is_not_speech() -> None:
    detector = SpeechOnset()
    signal = noise(1.0, -70)
    signal[8000:8040] += 20000
    assert onsets(detector, frames(signal)) == []
