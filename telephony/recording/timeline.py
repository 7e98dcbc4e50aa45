"""Both sides of a call on one clock: left, the caller as received; right, the agent as played.

Positions are 8 kHz samples from the start of the call, on the server's clock.

The right channel follows Twilio's playback buffer the way the server sees it: a chunk of agent
audio starts playing when it is sent, or when what is queued before it has played; a ``clear``
drops everything queued after that instant. With a constant network delay this is Twilio's own
playback shifted by that delay, cut at exactly the sample Twilio cut it (the ``clear`` travels
the same path as the audio), so the right channel is what the caller heard, sample for sample.
Audio still queued is not final (a ``clear`` may drop it): only what lies before "now" is.

The left channel places each media frame by Twilio's timestamp, anchored to the server's clock
at the first frame; a frame that arrives after its place was written (more than
``HOLD_SAMPLES`` late) is dropped from the recording and counted.

Pure and synchronous; the caller of each method says what time it is.
"""

from dataclasses import dataclass

import numpy as np

from telephony.audio import TWILIO_RATE, ULAW_SILENCE, ulaw_to_pcm16

HOLD_SAMPLES = TWILIO_RATE // 5
"""How far behind "now" the timeline is written (200 ms): room for caller frames that arrive
late, and the most a crash loses besides the block not yet written."""

_SILENCE = bytes([ULAW_SILENCE])


@dataclass(frozen=True, slots=True)
class StereoBlock:
    """Committed audio: ``frames`` stereo frames of 16-bit PCM, left/right interleaved."""

    start: int
    frames: int
    pcm: bytes


class StereoTimeline:
    """One call's two channels, committed in order as their content becomes final."""

    def __init__(self) -> None:
        self._base = 0
        """Sample position of index 0 of both buffers (everything before is committed)."""
        self._left = bytearray()
        self._right = bytearray()
        self._right_end = 0
        """Where the agent audio queued so far ends (absolute samples)."""
        self._left_anchor: int | None = None
        """Server position minus Twilio's timestamp, fixed at the first caller frame."""
        self.late_samples = 0
        """Caller samples dropped because they arrived after their place was written."""

    @property
    def committed(self) -> int:
        return self._base

    def caller(self, ulaw: bytes, timestamp_ms: int, now: int, *, muted: bool = False) -> None:
        """A frame of the caller's audio stamped ``timestamp_ms`` by Twilio, received at ``now``
        (``muted``: kept as silence)."""
        stamped = timestamp_ms * TWILIO_RATE // 1000
        if self._left_anchor is None:
            self._left_anchor = now - stamped
        if muted:
            ulaw = _SILENCE * len(ulaw)
        _place(self._left, stamped + self._left_anchor - self._base, ulaw, self)

    def mute_caller_since(self, position: int) -> None:
        """Silence the caller's audio not yet committed from ``position`` on."""
        start = max(0, position - self._base)
        self._left[start:] = _SILENCE * max(0, len(self._left) - start)

    def agent(self, ulaw: bytes, now: int) -> None:
        """Agent audio sent to Twilio at ``now``: it plays after what is queued, or at once."""
        start = max(now, self._right_end)
        _place(self._right, start - self._base, ulaw, self)
        self._right_end = start + len(ulaw)

    def clear(self, now: int) -> int:
        """A ``clear`` went out at ``now``: the agent audio queued after it is never heard.
        Returns how many samples were dropped."""
        if self._right_end <= now:
            return 0
        dropped = self._right_end - max(now, self._base)
        del self._right[max(0, now - self._base) :]
        self._right_end = max(now, self._base)
        return dropped

    def commit(self, upto: int) -> StereoBlock | None:
        """Everything up to sample ``upto``, now final, as one stereo block (None if empty).
        Agent audio queued beyond ``upto`` stays; caller audio after it too."""
        frames = upto - self._base
        if frames <= 0:
            return None
        left = _take(self._left, frames)
        right = _take(self._right, frames)
        stereo = np.empty((frames, 2), dtype="<i2")
        stereo[:, 0] = np.frombuffer(ulaw_to_pcm16(left), dtype="<i2")
        stereo[:, 1] = np.frombuffer(ulaw_to_pcm16(right), dtype="<i2")
        block = StereoBlock(self._base, frames, stereo.tobytes())
        self._base = upto
        self._right_end = max(self._right_end, upto)
        return block


def _place(buffer: bytearray, offset: int, ulaw: bytes, timeline: StereoTimeline) -> None:
    """Write ``ulaw`` into ``buffer`` at ``offset``; silence fills any gap before it; what would
    fall before the buffer (already committed) is dropped and counted."""
    if offset < 0:
        timeline.late_samples += min(-offset, len(ulaw))
        ulaw = ulaw[-offset:]
        offset = 0
    if not ulaw:
        return
    if len(buffer) < offset:
        buffer.extend(_SILENCE * (offset - len(buffer)))
    buffer[offset : offset + len(ulaw)] = ulaw


def _take(buffer: bytearray, frames: int) -> bytes:
    """The first ``frames`` bytes of ``buffer`` (silence past its end), removed from it."""
    taken = bytes(buffer[:frames])
    del buffer[:frames]
    return taken + _SILENCE * (frames - len(taken))
