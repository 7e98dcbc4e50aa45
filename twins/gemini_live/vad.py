"""Energy-based voice activity detection on PCM16 audio, in audio time.

The audio is cut into short blocks (10 ms by default); a block is voiced when its RMS level is at
or above a threshold in dBFS. Speech *starts* once ``start_ms`` of voiced blocks have come in
without a gap longer than ``gap_ms`` (syllables have short dips between them), and *ends* after
``end_ms`` of unvoiced blocks. All times are positions in the fed audio, not wall-clock times, so
the detector is deterministic and does not care how fast the audio arrives.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

BLOCK_MS = 10
FULL_SCALE = 32768.0


@dataclass(frozen=True)
class SpeechStarted:
    """Speech began at ``at_ms`` (detected ``start_ms`` of voiced audio later)."""

    at_ms: float


@dataclass(frozen=True)
class SpeechEnded:
    """Speech that began at ``started_ms`` ended at ``at_ms`` (the end of the last voiced block)."""

    started_ms: float
    at_ms: float

    @property
    def speech_ms(self) -> float:
        return self.at_ms - self.started_ms


VadEvent = SpeechStarted | SpeechEnded


def block_levels_dbfs(samples: npt.NDArray[np.int16], block: int) -> npt.NDArray[np.float64]:
    """RMS level in dBFS of each whole ``block``-sample block (-inf for digital silence)."""
    whole = len(samples) // block * block
    blocks = samples[:whole].astype(np.float64).reshape(-1, block)
    power = np.mean(blocks * blocks, axis=1) / FULL_SCALE**2
    with np.errstate(divide="ignore"):
        levels: npt.NDArray[np.float64] = 10.0 * np.log10(power)
    return levels


class EnergyVad:
    """Streaming detector: feed PCM16 bytes of any length, get start/end events."""

    def __init__(
        self,
        *,
        threshold_dbfs: float = -40.0,
        start_ms: float = 150.0,
        end_ms: float = 500.0,
        gap_ms: float = 200.0,
        block_ms: int = BLOCK_MS,
    ) -> None:
        if block_ms <= 0 or start_ms < 0 or end_ms <= 0:
            raise ValueError("block_ms and end_ms must be positive, start_ms not negative")
        self.threshold_dbfs = threshold_dbfs
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.gap_ms = gap_ms
        self.block_ms = block_ms
        # A block is voiced when 10 * log10(mean square / full scale^2) >= threshold_dbfs, that
        # is when its mean square reaches this (no logarithm per block).
        self._threshold_power = FULL_SCALE**2 * 10.0 ** (threshold_dbfs / 10.0)
        self._rate: int | None = None
        self._pending = b""
        self._position_ms = 0.0
        self._speaking = False
        self._onset_ms: float | None = None
        self._voiced_ms = 0.0
        self._unvoiced_ms = 0.0
        self._last_voiced_end_ms = 0.0

    @property
    def speaking(self) -> bool:
        return self._speaking

    @property
    def position_ms(self) -> float:
        """How much audio has been analysed (whole blocks only)."""
        return self._position_ms

    def feed(self, pcm: bytes, rate: int) -> list[VadEvent]:
        """Analyse more audio (PCM16 little-endian mono at ``rate`` Hz)."""
        if rate <= 0:
            raise ValueError("rate must be positive")
        if rate != self._rate:
            self._rate = rate
            self._pending = b""
        data = self._pending + pcm
        block_bytes = 2 * max(1, rate * self.block_ms // 1000)
        whole = len(data) // block_bytes * block_bytes
        self._pending = data[whole:]
        if not whole:
            return []
        block = block_bytes // 2
        blocks = np.frombuffer(data[:whole], dtype="<i2").astype(np.float64).reshape(-1, block)
        mean_square = (blocks * blocks).sum(axis=1) / block
        block_ms = block_bytes / 2 / rate * 1000.0
        events: list[VadEvent] = []
        for voiced in (mean_square >= self._threshold_power).tolist():
            event = self._step(voiced, block_ms)
            if event is not None:
                events.append(event)
        return events

    def flush(self) -> list[VadEvent]:
        """End the current speech now (the client said no more audio is coming)."""
        self._pending = b""
        if not self._speaking:
            self._reset_onset()
            return []
        return [self._end()]

    def _step(self, voiced: bool, block_ms: float) -> VadEvent | None:
        start = self._position_ms
        self._position_ms += block_ms
        if voiced:
            self._last_voiced_end_ms = self._position_ms
            self._unvoiced_ms = 0.0
        else:
            self._unvoiced_ms += block_ms
        if self._speaking:
            return self._end() if self._unvoiced_ms >= self.end_ms else None
        if voiced:
            if self._onset_ms is None:
                self._onset_ms = start
            self._voiced_ms += block_ms
            if self._voiced_ms >= self.start_ms:
                self._speaking = True
                return SpeechStarted(self._onset_ms)
        elif self._onset_ms is not None and self._unvoiced_ms > self.gap_ms:
            self._reset_onset()
        return None

    def _end(self) -> SpeechEnded:
        started = self._onset_ms if self._onset_ms is not None else self._last_voiced_end_ms
        self._speaking = False
        self._reset_onset()
        return SpeechEnded(started_ms=started, at_ms=self._last_voiced_end_ms)

    def _reset_onset(self) -> None:
        self._onset_ms = None
        self._voiced_ms = 0.0
