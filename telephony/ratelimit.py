"""Rate limits on what a stream may send, as token buckets: pure, no I/O.

Twilio sends 50 media messages a second, each 20 ms of audio, in real time, and a keypad digit
at human speed. A stream that sends far more is broken or hostile; the limits are set several
times above the real rates, so that network bursts (a delayed second arriving at once) pass.
"""

from dataclasses import dataclass, field

MEDIA_MESSAGES_PER_S = 100.0
"""Sustained media messages a second: twice Twilio's 50."""
MEDIA_BURST_MESSAGES = 250.0
"""Media messages allowed in a burst: 5 s of Twilio's frames arriving at once."""
AUDIO_AHEAD_MS = 5_000.0
"""Caller audio received beyond the stream's own duration (wall time since ``start``)."""
DTMF_PER_S = 10.0
DTMF_BURST = 20.0


@dataclass(slots=True)
class TokenBucket:
    """Allows ``rate`` events a second on average and ``burst`` at once."""

    rate: float
    burst: float
    _tokens: float = field(init=False)
    _at: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._tokens = self.burst

    def allow(self, now: float, cost: float = 1.0) -> bool:
        """Take ``cost`` tokens at ``now`` (seconds); False when there are not enough."""
        if self._at is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens < cost:
            return False
        self._tokens -= cost
        return True


@dataclass(slots=True)
class StreamLimits:
    """What one media stream may send (see the module docstring)."""

    started: float
    media: TokenBucket = field(
        default_factory=lambda: TokenBucket(MEDIA_MESSAGES_PER_S, MEDIA_BURST_MESSAGES)
    )
    dtmf: TokenBucket = field(default_factory=lambda: TokenBucket(DTMF_PER_S, DTMF_BURST))
    audio_ms: float = 0.0

    def media_allowed(self, now: float, duration_ms: float) -> str | None:
        """None when a media message of ``duration_ms`` is within limits, else why not."""
        if not self.media.allow(now):
            return "media messages faster than real time"
        self.audio_ms += duration_ms
        if self.audio_ms > (now - self.started) * 1000 + AUDIO_AHEAD_MS:
            return "more audio than the stream's duration"
        return None

    def dtmf_allowed(self, now: float) -> str | None:
        return None if self.dtmf.allow(now) else "keypad digits faster than a person types"
