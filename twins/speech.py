"""Speech-like synthetic audio for the simulators.

Not speech, but shaped like it where it matters to a voice pipeline: voiced syllables of about
150-300 ms with a wandering pitch (90-230 Hz), harmonics shaped by moving formants, short dips
between syllables, and a level near -20 dBFS. Energy-based voice activity detection treats it as
speech and a resampler sees a realistic spectrum. Deterministic for a given seed.
"""

import numpy as np
import numpy.typing as npt

SPEECH_LEVEL_DBFS = -20.0

_FORMANT_SETS = (  # rough (F1, F2, F3) of a few vowels, Hz
    (730, 1090, 2440),
    (270, 2290, 3010),
    (530, 1840, 2480),
    (570, 840, 2410),
    (300, 870, 2240),
    (660, 1720, 2410),
)
_FORMANT_WIDTH_HZ = (90.0, 120.0, 160.0)


def speech_like(
    duration_s: float,
    rate: int,
    *,
    seed: int = 0,
    level_dbfs: float = SPEECH_LEVEL_DBFS,
    max_hz: float | None = None,
) -> npt.NDArray[np.int16]:
    """Return ``duration_s`` seconds of speech-like mono audio at ``rate`` Hz as int16.

    ``max_hz`` caps the highest harmonic (default: 0.45 of the rate, and never above 7 kHz).
    """
    total = round(duration_s * rate)
    if total <= 0:
        return np.zeros(0, dtype=np.int16)
    rng = np.random.default_rng(seed)
    top = min(max_hz if max_hz is not None else 7000.0, 0.45 * rate)
    out = np.zeros(total, dtype=np.float64)
    start = 0
    while start < total:
        length = min(int(rng.uniform(0.15, 0.30) * rate), total - start)
        gap = int(rng.uniform(0.02, 0.06) * rate)
        out[start : start + length] = _syllable(length, rate, top, rng)
        start += length + gap
    peak_rms = np.sqrt(np.mean(out**2)) or 1.0
    scale = 32768.0 * 10 ** (level_dbfs / 20) / peak_rms
    return np.clip(out * scale, -32768, 32767).astype(np.int16)


def _syllable(
    length: int, rate: int, top_hz: float, rng: np.random.Generator
) -> npt.NDArray[np.float64]:
    t = np.arange(length) / rate
    f0_start, f0_end = rng.uniform(90, 230, size=2)
    f0 = np.linspace(f0_start, f0_end, length) * (1 + 0.02 * np.sin(2 * np.pi * 5.5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    formants = _FORMANT_SETS[rng.integers(len(_FORMANT_SETS))]
    mean_f0 = float(np.mean(f0))
    signal = np.zeros(length)
    for k in range(1, int(top_hz / max(f0_start, f0_end)) + 1):
        freq = k * mean_f0
        gain = sum(
            1.0 / (1.0 + ((freq - fc) / bw) ** 2)
            for fc, bw in zip(formants, _FORMANT_WIDTH_HZ, strict=True)
        )
        signal += (gain + 0.02) / k**0.5 * np.sin(k * phase)
    # Rise and fall like a syllable: a raised-cosine envelope over the whole syllable.
    envelope = 0.5 - 0.5 * np.cos(2 * np.pi * (np.arange(length) + 0.5) / length)
    return signal * envelope


BEEP_HZ = 1000.0
BEEP_S = 0.4


def voicemail_greeting(
    speech_s: float, rate: int, *, pause_s: float = 0.2, seed: int = 7
) -> npt.NDArray[np.int16]:
    """A voicemail box answering: ``speech_s`` of greeting, a pause, then a 1 kHz beep of
    ``BEEP_S`` (-13 dBFS). The beep ends at ``speech_s + pause_s + BEEP_S``."""
    speech = speech_like(speech_s, rate, seed=seed).astype(np.float64)
    t = np.arange(round(BEEP_S * rate)) / rate
    beep = 0.3 * 32767 * np.sin(2 * np.pi * BEEP_HZ * t)
    audio = np.concatenate([speech, np.zeros(round(pause_s * rate)), beep])
    clipped: npt.NDArray[np.int16] = np.clip(audio, -32768, 32767).astype(np.int16)
    return clipped


def tone_end_s(pcm16: npt.NDArray[np.int16], rate: int, hz: float = BEEP_HZ) -> float | None:
    """When the last stretch of a pure ``hz`` tone in ``pcm16`` ends (10 ms resolution)."""
    frame = rate // 100
    samples = pcm16[: len(pcm16) // frame * frame].astype(np.float64).reshape(-1, frame)
    spectrum = np.abs(np.fft.rfft(samples, axis=1))
    tonal = spectrum[:, round(hz * frame / rate)] > 0.5 * spectrum.sum(axis=1)
    loud = np.sqrt(np.mean(samples**2, axis=1)) > 1000
    found = np.flatnonzero(tonal & loud)
    return float((found[-1] + 1) * frame / rate) if found.size else None
