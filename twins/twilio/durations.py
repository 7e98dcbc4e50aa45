"""How long TwiML takes on the line, and the options of the phase after the agent.

Twilio facts mirrored: ``<Say>`` and ``<Play>`` repeat ``loop`` times, and ``loop="0"`` repeats
until the call ends (https://www.twilio.com/docs/voice/twiml/say, .../play); ``<Pause length>``
defaults to one second (https://www.twilio.com/docs/voice/twiml/pause). Speech takes the time a
text-to-speech voice needs at a conversational pace; audio the simulator does not fetch
(``<Play>`` URLs, hold music) is given an assumed length.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from twins.twilio.twiml import Verb

WORDS_PER_MINUTE = 150.0
"""Conversational speech, the pace of Twilio's text-to-speech voices."""
PLAY_S = 5.0
"""The length assumed for audio at a ``<Play>`` URL (the simulator does not fetch it)."""
PAUSE_S = 1.0
"""``<Pause>`` without ``length``."""
DIGIT_S = 0.5
"""One DTMF tone of ``<Play digits>`` and the gap after it."""
AFTER_STREAM_MAX_S = 600.0


@dataclass(frozen=True, kw_only=True)
class AfterStream:
    """What happens once the agent's media stream has ended and the caller is still there."""

    follow_twiml: bool = True
    """Run the TwiML after ``</Connect>`` (or the ``<Connect action>``'s), as Twilio does; False
    ends the call when the stream ends and only records ``next_verbs`` (the old behaviour)."""
    hang_up_after_s: float | None = None
    """The caller hangs up this long after the stream ended (None: stays until the call ends)."""
    words_per_minute: float = WORDS_PER_MINUTE
    play_s: float = PLAY_S
    max_s: float = AFTER_STREAM_MAX_S
    """The simulator hangs up (``time-limit``) if this phase lasts longer."""

    def __post_init__(self) -> None:
        if self.words_per_minute <= 0 or self.play_s < 0 or self.max_s <= 0:
            raise ValueError("AfterStream needs a positive pace and limit")
        if self.hang_up_after_s is not None and self.hang_up_after_s < 0:
            raise ValueError("AfterStream.hang_up_after_s must not be negative")


DEFAULT_AFTER_STREAM = AfterStream()


def loops(verb: Verb) -> int | None:
    """How many times ``<Say>``/``<Play>`` repeats; None for ``loop="0"`` (until the call ends)."""
    try:
        count = int(verb.attributes.get("loop", "1"))
    except ValueError:
        return 1
    return None if count == 0 else max(1, count)


def say_seconds(text: str, words_per_minute: float) -> float:
    words = len(text.split())
    return words * 60.0 / words_per_minute


def verb_seconds(verb: Verb, options: AfterStream) -> float:
    """How long a ``<Say>``, ``<Play>`` or ``<Pause>`` keeps the line busy (inf: forever)."""
    if verb.name == "Pause":
        return _number(verb.attributes.get("length"), PAUSE_S)
    if verb.name == "Say":
        once = say_seconds(verb.text, options.words_per_minute)
    elif verb.name == "Play" and verb.attributes.get("digits"):
        once = len(verb.attributes["digits"]) * DIGIT_S
    elif verb.name == "Play":
        once = options.play_s
    else:
        return 0.0
    count = loops(verb)
    return math.inf if count is None else once * count


def _number(value: str | None, default: float) -> float:
    try:
        return max(0.0, float(value)) if value is not None else default
    except ValueError:
        return default
