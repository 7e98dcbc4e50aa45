"""What the bench's worker processes hand back: compact per-call and per-connection arrays.

Everything here crosses a process boundary (pickled through a pipe), so it is arrays of floats
and a few scalars, never timelines or audio. Times are ``time.monotonic()`` seconds, which are
comparable between processes on Linux.
"""

import re
from array import array
from dataclasses import dataclass, field

from twins.gemini_live.config import TRANSCRIPT_TAG

_TAG = re.compile(re.escape(TRANSCRIPT_TAG).replace(re.escape("{index}"), r"(\d+)"))


def tagged_connection(text: str) -> int | None:
    """The emulator connection a transcript tag at the start of ``text`` names, if any."""
    match = _TAG.match(text)
    return int(match.group(1)) if match else None


def floats() -> "array[float]":
    return array("d")


@dataclass
class CallData:
    """One simulated call through the server, as the Twilio simulator saw it."""

    call_sid: str
    end_reason: str
    error: str | None = None
    started_t: float | None = None
    """When ``start`` was sent (the stream began)."""
    first_audio_ms: float | None = None
    frames_sent: int = 0
    late_frames: int = 0
    violations: int = 0
    timed_out_steps: int = 0
    frame_t: "array[float]" = field(default_factory=floats)
    """Send time of frame ``k`` at index ``k`` (every frame from the first)."""
    late_t: "array[float]" = field(default_factory=floats)
    """Send times of the late frames."""
    media_t: "array[float]" = field(default_factory=floats)
    media_ms: "array[float]" = field(default_factory=floats)
    """Agent audio received so far after each ``media`` message, ms."""
    clear_t: "array[float]" = field(default_factory=floats)
    barge_in_t: "array[float]" = field(default_factory=floats)
    """When the caller started speaking over agent audio."""
    barge_in_ms: "array[float]" = field(default_factory=floats)
    """That speech -> the ``clear`` received (NaN: none came)."""
    reply_ms: "array[float]" = field(default_factory=floats)
    """Caller stops speaking -> agent audio plays, per answered turn."""
    webhook_ms: float | None = None
    """The voice webhook sent -> its TwiML received."""

    @property
    def refused(self) -> bool:
        """Answered with TwiML that opens no stream: the server's overflow."""
        return self.end_reason == "no_stream"

    @property
    def ok(self) -> bool:
        """Ran to its planned end, heard the greeting, no protocol violation, no stuck step."""
        return (
            self.end_reason == "timeout"
            and self.first_audio_ms is not None
            and self.violations == 0
            and self.timed_out_steps == 0
        )


@dataclass
class DirectData:
    """One Live API client talking straight to the emulator (the baseline, no server)."""

    connection: int | None
    """The emulator's index of the connection (from the transcript tag), None if unknown."""
    error: str | None = None
    frame_t: "array[float]" = field(default_factory=floats)
    media_t: "array[float]" = field(default_factory=floats)
    media_ms: "array[float]" = field(default_factory=floats)


@dataclass
class LinkData:
    """One connection to the emulator, as the emulator saw it (see ``ConnectionTimings``)."""

    index: int
    audio_in_t: "array[float]"
    audio_in_ms: "array[float]"
    chunk_t: "array[float]"
    chunk_ms: "array[float]"
    interrupted_t: "array[float]"


@dataclass(frozen=True)
class StepPlan:
    """One step of the ramp, for the caller worker: who calls, when, for how long."""

    calls: int
    direct: int
    start_t: float
    """When the first call starts; the others follow evenly over ``spread_s``."""
    spread_s: float
    end_t: float
    """When every call and client hangs up."""
    server_url: str
    auth_token: str
    account_sid: str
    live_url: str
    """The emulator's Live endpoint (``wss://.../BidiGenerateContent``)."""
    live_ca_path: str
    live_api_key: str
    seed: int = 0


@dataclass
class StepOutput:
    """What the caller worker measured in one step."""

    calls: list[CallData]
    direct: list[DirectData]
