"""Answering machine detection on calls the application places: who or what picked up.

Twilio facts mirrored (https://www.twilio.com/docs/voice/answering-machine-detection):

- ``MachineDetection=Enable`` answers as soon as it can tell: ``human``, ``machine_start``,
  ``fax`` or ``unknown``. ``DetectMessageEnd`` waits, for a machine, until its greeting ends:
  ``machine_end_beep``, ``machine_end_silence`` or ``machine_end_other``.
- Speech longer than ``MachineDetectionSpeechThreshold`` (default 2400 ms) reads as a machine,
  so a long "hello, this is ..." from a person is one too; the speech has ended after
  ``MachineDetectionSpeechEndThreshold`` (default 1200 ms) of silence; no speech within
  ``MachineDetectionSilenceTimeout`` (default 5000 ms) is ``unknown``, as is anything undecided
  at ``MachineDetectionTimeout`` (default 30 s).
- Synchronous detection delays the call's ``Url`` request until the result is known and adds
  ``AnsweredBy`` to it. With ``AsyncAmd=true`` the call is connected at once and the result is
  POSTed to ``AsyncAmdStatusCallback`` with ``AccountSid``, ``CallSid``, ``AnsweredBy`` and
  ``MachineDetectionDuration`` (ms).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

SPEECH_THRESHOLD_MS = 2400
SPEECH_END_THRESHOLD_MS = 1200
SILENCE_TIMEOUT_MS = 5000
DETECTION_TIMEOUT_S = 30
BEEP_MS = 500
"""How long after the greeting the beep is heard and recognised."""
FAX_TONE_MS = 3500
"""A fax calling tone (CNG) repeats every 3.5 s: one period is enough to tell."""

PickupKind = Literal["human", "machine", "fax", "nobody"]
GreetingEnd = Literal["beep", "silence", "other"]


@dataclass(frozen=True)
class Pickup:
    """Who or what answers: a person saying ``speech_s`` of "hello?", a machine playing a
    ``speech_s`` greeting that ends with a beep (or silence, or something else), a fax, or
    nobody saying anything."""

    kind: PickupKind = "human"
    speech_s: float = 1.0
    greeting_end: GreetingEnd = "beep"

    def __post_init__(self) -> None:
        if self.speech_s < 0:
            raise ValueError(f"Pickup.speech_s must not be negative, got {self.speech_s}")


HUMAN = Pickup()
"""The default: a person who says "hello?"."""


@dataclass(frozen=True)
class Detection:
    answered_by: str
    duration_ms: int


def detect(pickup: Pickup, form: Mapping[str, str]) -> Detection | None:
    """What Twilio's detection reports for ``pickup`` under the create request's options;
    None when the request asked for no detection."""
    mode = form.get("MachineDetection")
    if mode not in ("Enable", "DetectMessageEnd"):
        return None
    speech_threshold = _ms(form, "MachineDetectionSpeechThreshold", SPEECH_THRESHOLD_MS)
    end_threshold = _ms(form, "MachineDetectionSpeechEndThreshold", SPEECH_END_THRESHOLD_MS)
    silence_timeout = _ms(form, "MachineDetectionSilenceTimeout", SILENCE_TIMEOUT_MS)
    timeout = 1000 * _ms(form, "MachineDetectionTimeout", DETECTION_TIMEOUT_S)
    speech = round(pickup.speech_s * 1000)
    if pickup.kind == "fax":
        found = Detection("fax", FAX_TONE_MS)
    elif pickup.kind == "nobody" or speech == 0:
        found = Detection("unknown", silence_timeout)
    elif speech < speech_threshold:  # short speech: a person, whatever actually spoke
        found = Detection("human", speech + end_threshold)
    elif mode == "Enable":
        found = Detection("machine_start", speech_threshold)
    elif pickup.kind == "human":  # a long hello, and then silence
        found = Detection("machine_end_silence", speech + end_threshold)
    else:
        end = BEEP_MS if pickup.greeting_end == "beep" else end_threshold
        found = Detection(f"machine_end_{pickup.greeting_end}", speech + end)
    if found.duration_ms > timeout:
        return Detection("unknown", timeout)
    return found


def _ms(form: Mapping[str, str], name: str, default: int) -> int:
    value = form.get(name)
    try:
        return int(value) if value else default
    except ValueError:
        return default
