"""Where the caller starts to speak, from the level of their audio: pure and synchronous.

The model decides on its own when the caller has the floor, but it stops listening for
barge-ins once it has generated its reply: the real service only *may* send ``interrupted``
while the rest of a reply plays from Twilio's buffer. So the call watches the caller's audio
itself, frame by frame, and notices the onset of speech.

A frame is voiced when its level is above all of:

- an absolute floor (``MIN_SPEECH_DBFS``): quieter is line hiss, not a talker;
- the line's noise floor plus ``NOISE_MARGIN_DB``: steady noise (a car, a fan) is not speech.
  The floor is the quietest frame of the last ``NOISE_WINDOW_MS`` (speech always has pauses,
  noise does not);
- while the agent is heard, its own level less ``ECHO_RETURN_LOSS_DB``: a phone line echoes
  the agent's voice back, attenuated; G.168 hybrids give at least 6 dB of echo return loss and
  networks with echo cancellers much more, so an echo comes back well below this line, while a
  caller talking over the agent speaks at a comparable level.

Speech starts after ``ONSET_MS`` of voiced frames in a row (a click or a cough is shorter) and
ends after ``HANGOVER_MS`` without one (the gaps between words are shorter).
"""

import math
from collections import deque

import numpy as np

MIN_SPEECH_DBFS = -45.0
NOISE_MARGIN_DB = 12.0
ECHO_RETURN_LOSS_DB = 10.0
ONSET_MS = 80.0
HANGOVER_MS = 300.0
NOISE_WINDOW_MS = 2000.0
NOISE_BLOCK_MS = 500.0
SILENT_DBFS = -120.0
_FULL_SCALE = 32768.0


def level_dbfs(pcm16: bytes) -> float:
    """RMS level of 16-bit little-endian PCM, in dB relative to full scale."""
    samples = np.frombuffer(pcm16, dtype="<i2", count=len(pcm16) // 2)
    if not samples.size:
        return SILENT_DBFS
    power = float(np.dot(samples, samples.astype(np.float64))) / samples.size
    return 10 * math.log10(power / _FULL_SCALE**2) if power > 0 else SILENT_DBFS


class SpeechOnset:
    """Finds the onsets of the caller's speech in a stream of frames (one per caller)."""

    def __init__(self) -> None:
        blocks = int(NOISE_WINDOW_MS // NOISE_BLOCK_MS)
        self._block_minima: deque[float] = deque(maxlen=blocks)
        self._block_min = -SILENT_DBFS
        self._window_min = -SILENT_DBFS
        """The quietest of the completed blocks, kept as blocks complete (not per frame)."""
        self._block_ms = 0.0
        self._voiced_ms = 0.0
        self._quiet_ms = 0.0
        self.speaking = False
        """Speech has started and not ended yet."""
        self.spoke_ms = 0.0
        """How long the current (or last) stretch of speech lasted, pauses included."""

    @property
    def noise_dbfs(self) -> float:
        """The line's noise floor: its quietest frame of late."""
        return min(self._block_min, self._window_min)

    def threshold_dbfs(self, echo_dbfs: float = SILENT_DBFS) -> float:
        """The level a frame must exceed to be voiced, with the agent heard at ``echo_dbfs``."""
        return max(
            MIN_SPEECH_DBFS,
            self.noise_dbfs + NOISE_MARGIN_DB,
            echo_dbfs - ECHO_RETURN_LOSS_DB,
        )

    def feed(self, pcm16: bytes, duration_ms: float, echo_dbfs: float = SILENT_DBFS) -> bool:
        """One frame of the caller's audio; True when speech starts with it.

        ``echo_dbfs``: the level of the agent's voice the caller is hearing now (what the line
        may echo back), or ``SILENT_DBFS`` when the agent is silent.
        """
        level = level_dbfs(pcm16)
        self._track_noise(level, duration_ms)
        if self.speaking:
            self.spoke_ms += duration_ms
        if level <= self.threshold_dbfs(echo_dbfs):
            self._voiced_ms = 0.0
            self._quiet_ms += duration_ms
            if self._quiet_ms >= HANGOVER_MS and self.speaking:
                self.speaking = False
                self.spoke_ms -= self._quiet_ms  # the trailing pause is not speech
            return False
        self._quiet_ms = 0.0
        self._voiced_ms += duration_ms
        if self.speaking or self._voiced_ms < ONSET_MS:
            return False
        self.speaking = True
        self.spoke_ms = self._voiced_ms
        return True

    def _track_noise(self, level: float, duration_ms: float) -> None:
        self._block_min = min(self._block_min, level)
        self._block_ms += duration_ms
        if self._block_ms >= NOISE_BLOCK_MS:
            self._block_minima.append(self._block_min)
            self._window_min = min(self._block_minima)
            self._block_min = -SILENT_DBFS
            self._block_ms = 0.0
