"""Who answered, from the answering party's audio alone: a person or a voicemail box. Pure.

For when the carrier's answering machine detection is not available. The rules are those of
the detectors in the field (Twilio's, Asterisk's ``AMD()``), on the first seconds after answer:

- a person says something short ("hello?", "Sam speaking") and waits: speech shorter than
  ``LONG_GREETING_MS`` followed by ``HUMAN_SILENCE_MS`` of silence is a ``human``;
- a voicemail box plays a long, nearly uninterrupted greeting (pauses under ``WORD_GAP_MS``),
  then a beep: a steady pure tone between ``BEEP_MIN_HZ`` and ``BEEP_MAX_HZ`` lasting at least
  ``BEEP_MIN_MS``. After a long greeting the detector waits for that tone and reports
  ``machine_end_beep`` when it ends (it is recording then); a long greeting followed by
  ``MACHINE_SILENCE_MS`` of silence without a tone is ``machine_end_silence``;
- nothing heard for ``NOTHING_MS`` is ``unknown``.

A beep is told from a voice by how much of a frame's energy sits in one narrow band (a
voiced vowel spreads it over many harmonics) and by its pitch holding still from frame to
frame. Times are milliseconds from the first frame fed.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from telephony.audio.formats import TWILIO_RATE

FRAME_MS = 20
FRAME_SAMPLES = TWILIO_RATE * FRAME_MS // 1000
LONG_GREETING_MS = 2400
WORD_GAP_MS = 900
HUMAN_SILENCE_MS = 1000
MACHINE_SILENCE_MS = 1500
NOTHING_MS = 5000
SPEECH_DBFS = -45.0
"""Quieter than this is never speech; above the line's noise floor by ``NOISE_MARGIN_DB``
it is."""
NOISE_MARGIN_DB = 9.0
NOISE_FRAMES = 100
"""The noise floor is the quietest frame of the last 2 s."""
BEEP_MIN_HZ = 300.0
BEEP_MAX_HZ = 2500.0
BEEP_MIN_MS = 120
BEEP_PURITY = 0.75
"""Share of a frame's energy within one bin of its peak, for a tone (a vowel: well under)."""
BEEP_DRIFT_HZ = 40.0

_FFT = 256
_WINDOW = np.hanning(FRAME_SAMPLES)
_FULL_SCALE = 32768.0


@dataclass(frozen=True, slots=True)
class Verdict:
    """What answered (Twilio's ``AnsweredBy`` vocabulary) and when it was known (ms)."""

    answered_by: str
    at_ms: int
    greeting_ms: int
    """How long the answering party spoke before the verdict."""


class VoicemailDetector:
    """Feed 8 kHz 16-bit PCM as it arrives; ``feed`` returns the verdict once there is one."""

    def __init__(self) -> None:
        self._pending = b""
        self._now = 0
        self._speech_start: int | None = None
        self._last_speech: int | None = None
        self._spoken = 0
        self._tone_start: int | None = None
        self._tone_hz = 0.0
        self._long = False
        """The greeting has been long: latched (a person then silent is still a machine)."""
        self._levels: list[float] = []
        self.verdict: Verdict | None = None

    def feed(self, pcm16: bytes) -> Verdict | None:
        if self.verdict is not None:
            return self.verdict
        data = self._pending + pcm16
        whole = len(data) // (2 * FRAME_SAMPLES) * 2 * FRAME_SAMPLES
        self._pending = data[whole:]
        frames = np.frombuffer(data[:whole], "<i2").astype(np.float64)
        for frame in frames.reshape(-1, FRAME_SAMPLES):
            decided = self._frame(frame)
            self._now += FRAME_MS
            if decided:
                break
        return self.verdict

    def _frame(self, frame: npt.NDArray[np.float64]) -> bool:
        """Take one frame; True once there is a verdict."""
        self._take(frame)
        return self.verdict is not None

    def _take(self, frame: npt.NDArray[np.float64]) -> None:
        power = float(np.mean(frame**2))
        level = 10 * np.log10(power / _FULL_SCALE**2) if power > 0 else -120.0
        self._levels = [*self._levels[-(NOISE_FRAMES - 1) :], level]
        loud = level > max(SPEECH_DBFS, min(self._levels) + NOISE_MARGIN_DB)
        tone_hz = _tone(frame) if loud else None
        now = self._now
        if tone_hz is not None and self._long_greeting():
            if self._tone_start is None or abs(tone_hz - self._tone_hz) > BEEP_DRIFT_HZ:
                self._tone_start, self._tone_hz = now, tone_hz
            return
        if self._tone_start is not None and now - self._tone_start >= BEEP_MIN_MS:
            self._decide("machine_end_beep", now)
            return
        self._tone_start = None
        if loud:
            if self._speech_start is None:
                self._speech_start = now
            if self._last_speech is not None and now - self._last_speech > WORD_GAP_MS:
                self._speech_start = now  # a new stretch of speech after a real pause
            self._last_speech = now
            self._spoken += FRAME_MS
            return
        self._quiet(now)

    def _quiet(self, now: int) -> None:
        if self._last_speech is None:
            if now >= NOTHING_MS:
                self._decide("unknown", now)
            return
        silent = now - self._last_speech
        if self._long_greeting():
            if silent >= MACHINE_SILENCE_MS:
                self._decide("machine_end_silence", now)
        elif silent >= HUMAN_SILENCE_MS:
            self._decide("human", now)

    def _long_greeting(self) -> bool:
        start, last = self._speech_start, self._last_speech
        if start is not None and last is not None and last - start >= LONG_GREETING_MS:
            self._long = True
        return self._long

    def _decide(self, answered_by: str, now: int) -> None:
        self.verdict = Verdict(answered_by, now, self._spoken)


def _tone(frame: npt.NDArray[np.float64]) -> float | None:
    """The frequency of a pure tone filling ``frame``, or None."""
    spectrum = np.abs(np.fft.rfft(frame * _WINDOW, _FFT)) ** 2
    total = float(spectrum.sum())
    peak = int(np.argmax(spectrum))
    hz = peak * TWILIO_RATE / _FFT
    if total <= 0 or not BEEP_MIN_HZ <= hz <= BEEP_MAX_HZ:
        return None
    band = float(spectrum[max(0, peak - 2) : peak + 3].sum())
    return hz if band / total >= BEEP_PURITY else None
