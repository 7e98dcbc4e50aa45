"""One call's recording of what the caller heard, written to its file as the call goes.

The call tells the recorder what it receives from the caller and what it sends and clears of
the agent's voice; every second of call time, the part of the timeline that has become final
(all of it up to ``HOLD_SAMPLES`` ago) is written to the file. At the end of the call the rest
is written up to the end and the file closed. Writes are small (32 kB a second) and go to the
OS's page cache; the recorder does them inline rather than through a thread per call.

A file that cannot be written (a full disk, a directory removed) stops the recording, logged
once with the call's SID; the call itself goes on.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from telephony.audio import TWILIO_RATE
from telephony.recording.timeline import HOLD_SAMPLES, StereoTimeline
from telephony.recording.wav import StereoWavWriter

logger = logging.getLogger(__name__)

BLOCK_SAMPLES = TWILIO_RATE
"""Write once a second of final audio has gathered."""
DIGITS_QUIET_MS = 3000
"""While digits are typed (card numbers) and for this long after the last one, the caller's
channel is recorded as silence; so is what was not yet written before the first digit (up to
``HOLD_SAMPLES``: the key's tone comes before Twilio's ``dtmf`` message)."""


@dataclass(frozen=True, slots=True)
class RecordingInfo:
    """A finished (or interrupted) recording, as listed on the call."""

    path: Path
    duration_ms: int
    size_bytes: int
    late_caller_ms: int
    """Caller audio that arrived too late to be placed, in ms (normally 0)."""
    complete: bool
    """False when writing failed part way: the file holds what came before."""


class HeardRecorder:
    """Both sides of one call, on the call's clock, written to ``path`` (a stereo WAV)."""

    def __init__(self, call_sid: str, path: Path, now_ms: Callable[[], float]) -> None:
        self.call_sid = call_sid
        self.path = path
        self._now_ms = now_ms
        self._timeline = StereoTimeline()
        self._complete = True
        self._writer: StereoWavWriter | None = None
        try:
            self._writer = StereoWavWriter(path)
        except OSError:
            logger.exception("call %s: not recorded: the file could not be created", call_sid)
            self._complete = False
        self._frames = 0
        self._muted_until = -1

    def _now(self) -> int:
        return int(self._now_ms() * TWILIO_RATE / 1000)

    def caller(self, ulaw: bytes, timestamp_ms: int) -> None:
        """A frame of the caller's audio has arrived; write what has become final."""
        now = self._now()
        self._timeline.caller(ulaw, timestamp_ms, now, muted=now < self._muted_until)
        if now - HOLD_SAMPLES - self._timeline.committed >= BLOCK_SAMPLES:
            self._write(now - HOLD_SAMPLES)

    def digit(self) -> None:
        """The caller typed a digit: keep the caller's channel silent around it."""
        now = self._now()
        if now >= self._muted_until:
            self._timeline.mute_caller_since(now - HOLD_SAMPLES)
        self._muted_until = now + DIGITS_QUIET_MS * TWILIO_RATE // 1000

    def agent(self, ulaw: bytes) -> None:
        """Agent audio was sent to Twilio."""
        self._timeline.agent(ulaw, self._now())

    def clear(self) -> None:
        """A ``clear`` was sent: queued agent audio will not be heard."""
        self._timeline.clear(self._now())

    def close(self) -> RecordingInfo:
        """The call ended: write everything up to now and close the file."""
        self._write(self._now())
        writer, self._writer = self._writer, None
        if writer is not None:
            try:
                writer.close()
            except OSError:
                logger.exception("call %s: the recording could not be closed", self.call_sid)
                self._complete = False
        duration_ms = self._frames * 1000 // TWILIO_RATE
        size = self.path.stat().st_size if self.path.exists() else 0
        late_ms = self._timeline.late_samples * 1000 // TWILIO_RATE
        return RecordingInfo(self.path, duration_ms, size, late_ms, self._complete)

    def _write(self, upto: int) -> None:
        block = self._timeline.commit(upto)
        if block is None or self._writer is None:
            return
        try:
            self._writer.write(block.pcm)
            self._frames = self._writer.frames
        except OSError:
            logger.exception("call %s: recording stopped: could not write", self.call_sid)
            self._complete = False
            writer, self._writer = self._writer, None
            try:
                writer.close()
            except OSError:
                logger.debug("call %s: closing the failed recording failed too", self.call_sid)
