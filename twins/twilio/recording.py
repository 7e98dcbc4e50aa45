"""Recording a live call (the Recordings subresource of a call), and its status callback.

Twilio facts mirrored (https://www.twilio.com/docs/voice/api/recording, "Create a Recording
resource", "Update a Recording resource", "RecordingStatusCallback"):

- A recording of an in-progress call starts at once (``source`` StartCallRecordingAPI,
  ``status`` in-progress, ``duration`` -1 until it ends), mono unless
  ``RecordingChannels=dual``, track ``both`` unless ``RecordingTrack`` says otherwise.
- ``Status=paused`` pauses it (``PauseBehavior``: ``silence``, the default, keeps the pause as
  silence in the recording; ``skip`` leaves it out), ``Status=in-progress`` resumes it,
  ``Status=stopped`` ends it; the end of the call ends it too. It is then ``completed``.
- ``RecordingStatusCallback`` gets the events in ``RecordingStatusCallbackEvent`` (in-progress,
  completed, absent; default completed) with ``AccountSid``, ``CallSid``, ``RecordingSid``,
  ``RecordingUrl``, ``RecordingStatus``, ``RecordingDuration`` (seconds), ``RecordingChannels``,
  ``RecordingStartTime``, ``RecordingSource``, ``RecordingTrack`` and ``ErrorCode`` (0).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime

from twins.twilio.callbacks import Courier
from twins.twilio.clock import Clock
from twins.twilio.config import API_VERSION

logger = logging.getLogger(__name__)

RECORDING_EVENTS = ("in-progress", "completed", "absent")
DEFAULT_RECORDING_EVENTS = ("completed",)
SOURCE = "StartCallRecordingAPI"
MEDIA_HOST = "https://api.twilio.com"


@dataclass
class Recording:
    sid: str
    account_sid: str
    call_sid: str
    clock: Clock
    channels: int = 1
    track: str = "both"
    callback_url: str | None = None
    callback_events: tuple[str, ...] = DEFAULT_RECORDING_EVENTS
    callback_method: str = "POST"
    status: str = "in-progress"
    pause_behavior: str = "silence"
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    pauses: int = 0
    _recorded_s: float = 0.0
    _since: float | None = None
    """When the current stretch being recorded began (None while paused or ended)."""

    def __post_init__(self) -> None:
        self._since = self.clock.now()

    @property
    def active(self) -> bool:
        return self.status in ("in-progress", "paused")

    @property
    def duration_s(self) -> float:
        running = self.clock.now() - self._since if self._since is not None else 0.0
        return self._recorded_s + running

    @property
    def url(self) -> str:
        return f"{MEDIA_HOST}/{API_VERSION}/Accounts/{self.account_sid}/Recordings/{self.sid}"

    def pause(self, behavior: str = "silence") -> None:
        if self.status != "in-progress":
            return
        self._close_stretch()
        self.status, self.pause_behavior = "paused", behavior
        self.pauses += 1
        if behavior == "silence":  # the pause stays in the recording, as silence
            self._since = self.clock.now()
        self._touch()

    def resume(self) -> None:
        if self.status != "paused":
            return
        self._close_stretch()
        self.status = "in-progress"
        self._since = self.clock.now()
        self._touch()

    def stop(self) -> None:
        if not self.active:
            return
        self._close_stretch()
        self.status = "completed"
        self._touch()

    def callback_params(self) -> dict[str, str]:
        return {
            "AccountSid": self.account_sid,
            "CallSid": self.call_sid,
            "RecordingSid": self.sid,
            "RecordingUrl": self.url,
            "RecordingStatus": self.status,
            "RecordingDuration": str(int(self.duration_s)) if not self.active else "-1",
            "RecordingChannels": str(self.channels),
            "RecordingStartTime": format_datetime(self.created_at),
            "RecordingSource": SOURCE,
            "RecordingTrack": self.track,
            "ErrorCode": "0",
        }

    async def report(self, courier: Courier | None, event: str) -> None:
        """Send ``event`` to the recording status callback, if subscribed."""
        if courier is None or not self.callback_url or event not in self.callback_events:
            return
        await courier.send(self.callback_url, self.callback_params(), method=self.callback_method)

    def _close_stretch(self) -> None:
        if self._since is not None:
            self._recorded_s += self.clock.now() - self._since
            self._since = None

    def _touch(self) -> None:
        self.updated_at = datetime.now(UTC)
        logger.debug("recording %s is %s", self.sid, self.status)
