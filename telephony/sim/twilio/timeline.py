"""Everything that happened on a simulated call, with monotonic timestamps.

Events are recorded as they are observed, but some carry a computed time (a mark is echoed when
its audio finished playing, which the simulator notices a moment later); :meth:`Timeline.events`
returns them sorted by time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum

JsonScalar = str | int | float | bool | None


class EventKind(StrEnum):
    WEBHOOK_SENT = "webhook_sent"
    WEBHOOK_ANSWERED = "webhook_answered"
    STREAM_CONNECTED = "stream_connected"
    STREAM_REJECTED = "stream_rejected"
    START_SENT = "start_sent"
    FRAME_SENT = "frame_sent"
    SPEECH_STARTED = "speech_started"
    SPEECH_ENDED = "speech_ended"
    DTMF_SENT = "dtmf_sent"
    MEDIA_RECEIVED = "media_received"
    PLAYBACK_STARTED = "playback_started"
    PLAYBACK_STOPPED = "playback_stopped"
    MARK_RECEIVED = "mark_received"
    MARK_ECHOED = "mark_echoed"
    CLEAR_RECEIVED = "clear_received"
    VIOLATION = "violation"
    STEP_STARTED = "step_started"
    STEP_FINISHED = "step_finished"
    END_REQUESTED = "end_requested"
    STOP_SENT = "stop_sent"
    SOCKET_CLOSED = "socket_closed"


@dataclass(frozen=True)
class TimelineEvent:
    t: float
    """Monotonic time in seconds."""
    kind: EventKind
    data: dict[str, JsonScalar] = field(default_factory=dict)


class Timeline:
    """An append-only log of events; ``origin`` is the moment the call started."""

    def __init__(self, origin: float) -> None:
        self.origin = origin
        self._events: list[TimelineEvent] = []

    def add(self, t: float, kind: EventKind, **data: JsonScalar) -> TimelineEvent:
        event = TimelineEvent(t, kind, data)
        self._events.append(event)
        return event

    def events(self) -> list[TimelineEvent]:
        """All events in time order (stable for equal times)."""
        return sorted(self._events, key=lambda event: event.t)

    def of(self, *kinds: EventKind) -> list[TimelineEvent]:
        return [event for event in self.events() if event.kind in kinds]

    def count(self, kind: EventKind) -> int:
        return sum(1 for event in self._events if event.kind is kind)

    def __len__(self) -> int:
        return len(self._events)

    def ms(self, event: TimelineEvent) -> float:
        """Milliseconds from the start of the call to ``event``."""
        return (event.t - self.origin) * 1000

    def to_jsonl(self, *, include_frames: bool = False) -> str:
        """One JSON object per line: ``t_ms`` from the call start, ``kind`` and the event's data.

        Sent frames (50 a second) are left out unless ``include_frames``.
        """
        lines = [
            json.dumps({"t_ms": round(self.ms(event), 3), "kind": str(event.kind), **event.data})
            for event in self.events()
            if include_frames or event.kind is not EventKind.FRAME_SENT
        ]
        return "".join(line + "\n" for line in lines)
