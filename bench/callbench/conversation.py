"""How every benchmark caller talks: continuously, like a busy contact centre.

The cycle: speak 1.5 s, listen to the whole reply, speak 1.5 s, talk over the next reply once
0.8 s of it has played (for 1.2 s), listen to the answer to that, and again. Odd-numbered
callers start halfway through the cycle, so that the calls do not all barge in at once.
"""

import functools
import math

import numpy as np

from twins.speech import speech_like
from twins.twilio import Interrupt, Speak, Step, WaitForGreeting, WaitForReply
from twins.twilio.caller import Caller

SPEAK_S = 1.5
INTERRUPT_AFTER_MS = 800.0
INTERRUPT_SPEAK_S = 1.2
STEP_TIMEOUT_S = 20.0
CYCLE_S = 12.0
"""About how long one cycle takes with the emulator's default replies."""
VOICES = 4
"""Distinct caller voices (speech seeds); few, so that their audio is made once."""


@functools.cache
def _cycle(voice: int, rotated: bool) -> tuple[Step, ...]:
    seed = 100 * voice
    cycle: tuple[Step, ...] = (
        Speak(SPEAK_S, seed=seed + 1),
        WaitForReply(timeout=STEP_TIMEOUT_S),
        Speak(SPEAK_S, seed=seed + 2),
        Interrupt(INTERRUPT_AFTER_MS, INTERRUPT_SPEAK_S, timeout=STEP_TIMEOUT_S, seed=seed + 3),
        WaitForReply(timeout=STEP_TIMEOUT_S),
    )
    return cycle[2:] + cycle[:2] if rotated else cycle


def caller_script(caller: int, duration_s: float) -> tuple[Step, ...]:
    """The script of caller number ``caller`` for a call of about ``duration_s``."""
    repeats = math.ceil(duration_s / CYCLE_S) + 1
    return (
        WaitForGreeting(timeout=STEP_TIMEOUT_S),
        *_cycle(caller % VOICES, caller % 2 == 1) * repeats,
    )


@functools.cache
def speech_pcm(seconds: float, seed: int, rate: int) -> bytes:
    """Speech-like PCM16 audio at ``rate`` Hz, made once per (seconds, seed, rate)."""
    samples: np.ndarray = speech_like(seconds, rate, seed=seed)
    return samples.astype("<i2").tobytes()


def prepare_speech() -> None:
    """Make every caller voice's audio now (it is cached), not while the calls run."""
    for caller in range(2 * VOICES):
        Caller(_cycle(caller % VOICES, caller % 2 == 1))
