"""WAV files in and out of the simulator: caller audio to send, what the caller heard.

Input is 16-bit PCM, mono or stereo (averaged to mono), any rate; other rates are brought to 8 kHz
with a windowed-sinc low-pass and linear interpolation. That is plenty for test audio; it is not
the call path's resampler.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

from twins.twilio.protocol import SAMPLE_RATE

_TAPS = 101


def read_wav(path: Path, *, rate: int = SAMPLE_RATE) -> npt.NDArray[np.int16]:
    """The file's audio as mono int16 at ``rate`` Hz; ``ValueError`` if it is not 16-bit PCM."""
    with wave.open(str(path), "rb") as wav:
        if wav.getcomptype() != "NONE" or wav.getsampwidth() != 2:
            raise ValueError(f"{path}: only 16-bit PCM WAV files are supported")
        channels = wav.getnchannels()
        source_rate = wav.getframerate()
        frames = wav.readframes(wav.getnframes())
    samples = np.frombuffer(frames, dtype="<i2").astype(np.float64)
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    if source_rate != rate:
        samples = _resample(samples, source_rate, rate)
    return np.clip(np.round(samples), -32768, 32767).astype(np.int16)


def write_wav(path: Path, pcm16: bytes, *, rate: int = SAMPLE_RATE) -> None:
    """Write mono 16-bit little-endian PCM as a WAV file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm16)


def _resample(
    samples: npt.NDArray[np.float64], source: int, target: int
) -> npt.NDArray[np.float64]:
    if samples.size == 0:
        return samples
    if target < source:
        # Low-pass below the new Nyquist frequency first so that downsampling does not alias.
        cutoff = 0.45 * target / source
        n = np.arange(_TAPS) - (_TAPS - 1) / 2
        taps = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(_TAPS)
        samples = np.convolve(samples, taps / taps.sum(), mode="same")
    count = round(samples.size * target / source)
    positions = np.arange(count) * (source / target)
    result: npt.NDArray[np.float64] = np.interp(positions, np.arange(samples.size), samples)
    return result
