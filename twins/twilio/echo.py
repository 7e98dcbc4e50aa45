"""Line echo: the agent's voice coming back in the caller's audio.

Phone lines echo (the hybrid of an analogue line, a handset's loudspeaker into its microphone),
so an agent hears itself, attenuated and late, mixed into what the caller says. A voice agent
must not take that for the caller speaking over it. With an :class:`Echo` configured, the
simulator mixes what the caller heard ``delay_ms`` ago, ``level_db`` below its level, into each
frame the caller sends (speech, silence or line noise alike).

Pure and synchronous: :func:`mix_echo` works on one 20 ms mu-law frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from telephony.audio import pcm16_to_ulaw, ulaw_to_pcm16
from twins.twilio.protocol import FRAME_MS

DEFAULT_ECHO_LEVEL_DB = -20.0
"""20 dB below the agent's voice: an echo return loss a poor line or a speakerphone gives."""
DEFAULT_ECHO_DELAY_MS = 40.0


@dataclass(frozen=True)
class Echo:
    """Echo of the agent's voice in the caller's audio: ``level_db`` (negative: quieter) and
    ``delay_ms`` after the caller heard it. The delay is at least one frame (20 ms), since a
    frame is sent as its slot begins."""

    level_db: float = DEFAULT_ECHO_LEVEL_DB
    delay_ms: float = DEFAULT_ECHO_DELAY_MS

    def __post_init__(self) -> None:
        if self.delay_ms < FRAME_MS:
            raise ValueError(f"Echo.delay_ms must be at least {FRAME_MS} ms, got {self.delay_ms}")

    @property
    def gain(self) -> float:
        return float(10 ** (self.level_db / 20))


def mix_echo(frame: bytes, heard: bytes, gain: float) -> bytes:
    """``frame`` (mu-law) with ``heard`` (mu-law, the same length) added at ``gain``."""
    if len(frame) != len(heard):
        raise ValueError("the frame and the echo must be the same length")
    caller = np.frombuffer(ulaw_to_pcm16(frame), "<i2").astype(np.float64)
    echo = np.frombuffer(ulaw_to_pcm16(heard), "<i2").astype(np.float64)
    mixed = np.clip(np.round(caller + echo * gain), -32768, 32767).astype("<i2")
    return pcm16_to_ulaw(mixed.tobytes())
