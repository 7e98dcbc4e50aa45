"""What the server sends Twilio on a stream: checked, queued for playback, recorded.

Every frame goes through the strict protocol check; media and marks go into the playback buffer,
``clear`` empties it. Whatever the buffer reports (playback starting and stopping, marks due) is
put on the timeline; the marks due are handed back for the stream to echo.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from twins.twilio import protocol
from twins.twilio.clock import Clock
from twins.twilio.playout import (
    MarkDue,
    PlaybackStarted,
    PlaybackStopped,
    Playout,
    PlayoutEvent,
)
from twins.twilio.protocol import SAMPLE_RATE, Violation, ViolationKind
from twins.twilio.timeline import EventKind, Timeline

logger = logging.getLogger(__name__)


class Inbound:
    """The server-to-Twilio direction of one stream."""

    def __init__(
        self, *, stream_sid: str, call_sid: str, playout: Playout, timeline: Timeline, clock: Clock
    ) -> None:
        self.stream_sid = stream_sid
        self.call_sid = call_sid
        self.playout = playout
        self.violations: list[Violation] = []
        self._timeline = timeline
        self._clock = clock
        self._reported: set[ViolationKind] = set()

    def handle(self, frame: str | bytes) -> None:
        """Take one WebSocket frame from the server."""
        now = self._clock.now()
        message = protocol.parse_server_message(frame, self.stream_sid)
        if isinstance(message, Violation):
            self._violation(now, message)
        elif isinstance(message, protocol.OutboundMedia):
            self.playout.add_audio(message.payload)
            self._timeline.add(
                now,
                EventKind.MEDIA_RECEIVED,
                bytes=len(message.payload),
                ms=len(message.payload) * 1000 / SAMPLE_RATE,
            )
        elif isinstance(message, protocol.OutboundMark):
            self._timeline.add(now, EventKind.MARK_RECEIVED, name=message.name)
            self.playout.add_mark(message.name)
        else:
            cleared = self.playout.clear()
            self._timeline.add(
                now,
                EventKind.CLEAR_RECEIVED,
                discarded_ms=cleared.discarded_ms,
                marks=len(cleared.marks),
            )

    def record(self, events: Iterable[PlayoutEvent]) -> list[MarkDue]:
        """Put playback events on the timeline; return the marks to echo, in order."""
        due: list[MarkDue] = []
        for event in events:
            if isinstance(event, MarkDue):
                due.append(event)
            elif isinstance(event, PlaybackStarted):
                self._timeline.add(event.t, EventKind.PLAYBACK_STARTED)
            elif isinstance(event, PlaybackStopped):
                self._timeline.add(
                    event.t,
                    EventKind.PLAYBACK_STOPPED,
                    played_ms=event.played_samples * 1000 / SAMPLE_RATE,
                    cleared=event.cleared,
                    cut=event.cut,
                )
        return due

    def echoed(self, mark: MarkDue) -> None:
        """Record a mark sent back; its time is when it fell due, the delay is the sending."""
        delay_ms = max(0.0, (self._clock.now() - mark.t) * 1000)
        self._timeline.add(
            mark.t,
            EventKind.MARK_ECHOED,
            name=mark.name,
            cleared=mark.cleared,
            delay_ms=round(delay_ms, 3),
        )

    def _violation(self, now: float, violation: Violation) -> None:
        self.violations.append(violation)
        self._timeline.add(
            now, EventKind.VIOLATION, violation=str(violation.kind), detail=violation.detail
        )
        # Twilio reports a stream's protocol errors once; the simulator logs once per kind.
        log = logger.debug if violation.kind in self._reported else logger.warning
        self._reported.add(violation.kind)
        log("protocol violation on %s: %s", self.call_sid, violation.kind)
