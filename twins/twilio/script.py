"""What the simulated caller does, as a list of steps.

    script = [
        WaitForGreeting(),
        Speak(1.5),                           # 1.5 s of speech-like audio
        WaitForReply(timeout=10),             # the agent answers; wait until it has finished
        Speak(1.0),
        Interrupt(after_ms=800, speak_s=1.0), # talk over that answer once 0.8 s of it played
        WaitForReply(),
        Silence(0.5),
        Dtmf("1"),
        Hangup(),
    ]

Steps run one after another on the 20 ms frame clock; the caller's line carries silence whenever
it is not speaking. An agent *reply* is a stretch of played agent audio; gaps shorter than the
call's ``reply_gap_ms`` do not end it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DTMF_DIGITS = frozenset("0123456789*#")


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {value}")


@dataclass(frozen=True)
class Speak:
    """Speak for ``seconds`` (generated speech-like audio; ``seed`` picks the syllables)."""

    seconds: float
    seed: int | None = None
    level_dbfs: float = -20.0

    def __post_init__(self) -> None:
        _positive("Speak.seconds", self.seconds)


@dataclass(frozen=True)
class SpeakWav:
    """Speak the audio of a WAV file (mono or stereo 16-bit; resampled to 8 kHz if needed)."""

    path: Path


@dataclass(frozen=True)
class Silence:
    """Say nothing for ``seconds``."""

    seconds: float

    def __post_init__(self) -> None:
        _positive("Silence.seconds", self.seconds)


@dataclass(frozen=True)
class WaitForReply:
    """Wait until an agent reply has played and the line has gone quiet, or ``timeout`` passes.

    A reply already playing when the step begins counts; otherwise the step waits for the next.
    """

    timeout: float = 10.0

    def __post_init__(self) -> None:
        _positive("WaitForReply.timeout", self.timeout)


@dataclass(frozen=True)
class WaitForGreeting(WaitForReply):
    """:class:`WaitForReply` for the agent's first words: the same rule, a clearer name."""


@dataclass(frozen=True)
class Interrupt:
    """Once ``after_ms`` of an agent reply has played, speak ``speak_s`` over it.

    Counts the reply playing when the step begins, or the next one. If no reply gets that far
    within ``timeout``, the caller speaks anyway and the step is marked timed out.
    """

    after_ms: float
    speak_s: float = 1.0
    timeout: float = 10.0
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.after_ms < 0:
            raise ValueError(f"Interrupt.after_ms must not be negative, got {self.after_ms}")
        _positive("Interrupt.speak_s", self.speak_s)
        _positive("Interrupt.timeout", self.timeout)


@dataclass(frozen=True)
class Dtmf:
    """Press keys: one ``dtmf`` message per digit, ``gap_ms`` apart."""

    digits: str
    gap_ms: float = 250.0

    def __post_init__(self) -> None:
        if not self.digits or not set(self.digits) <= DTMF_DIGITS:
            raise ValueError("Dtmf.digits must be one or more of 0-9, * and #")
        _positive("Dtmf.gap_ms", self.gap_ms)


@dataclass(frozen=True)
class Hangup:
    """Hang up: Twilio sends ``stop`` and closes the stream."""


Step = Speak | SpeakWav | Silence | WaitForReply | Interrupt | Dtmf | Hangup
"""One step of a caller script (``WaitForGreeting`` is a ``WaitForReply``)."""
