"""Everything that happened on a simulated call, with monotonic timestamps.

Events are recorded as they are observed, but some carry a computed time (a mark is echoed when
its audio finished playing, which the simulator notices a moment later); :meth:`Timeline.events`
returns them sorted by time.

Sent media frames, 50 a second, are kept compactly in a :class:`FrameLog` (arrays, no object
per frame) and become ``FRAME_SENT`` events only when events are asked for.
"""

from __future__ import annotations

import json
from array import array
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


class FrameLog:
    """Sent media frames as parallel arrays, one entry per frame, in the order sent."""

    def __init__(self) -> None:
        self.t: array[float] = array("d")
        """Monotonic time the frame was sent."""
        self.chunk: array[int] = array("q")
        self.sequence: array[int] = array("q")
        self.speaking: array[int] = array("b")
        self.late_ms: array[float] = array("d")
        self.position: array[int] = array("q")
        """How many other events the timeline held when the frame was sent (for ordering)."""

    def __len__(self) -> int:
        return len(self.t)

    def append(
        self, t: float, chunk: int, sequence: int, speaking: bool, late_ms: float, position: int
    ) -> None:
        self.t.append(t)
        self.chunk.append(chunk)
        self.sequence.append(sequence)
        self.speaking.append(speaking)
        self.late_ms.append(late_ms)
        self.position.append(position)

    def event(self, index: int) -> TimelineEvent:
        return TimelineEvent(
            self.t[index],
            EventKind.FRAME_SENT,
            {
                "chunk": self.chunk[index],
                "sequence": self.sequence[index],
                "speaking": bool(self.speaking[index]),
                "late_ms": self.late_ms[index],
            },
        )


class Timeline:
    """An append-only log of events; ``origin`` is the moment the call started."""

    def __init__(self, origin: float) -> None:
        self.origin = origin
        self._events: list[TimelineEvent] = []
        self._frames = FrameLog()

    def add(self, t: float, kind: EventKind, **data: JsonScalar) -> TimelineEvent:
        event = TimelineEvent(t, kind, data)
        self._events.append(event)
        return event

    def add_frame(
        self, t: float, *, chunk: int, sequence: int, speaking: bool, late_ms: float
    ) -> None:
        """Record a sent media frame: the same as ``add(t, FRAME_SENT, ...)``, kept compactly."""
        self._frames.append(t, chunk, sequence, speaking, late_ms, len(self._events))

    def events(self, *, include_frames: bool = True) -> list[TimelineEvent]:
        """All events in time order (stable for equal times), sent frames unless told not to."""
        if not include_frames:
            found = [e for e in self._events if e.kind is not EventKind.FRAME_SENT]
            return sorted(found, key=lambda event: event.t)
        return sorted(self._in_order(), key=lambda event: event.t)

    def sent_frames(self) -> FrameLog:
        """Every sent frame, in the order recorded (``FRAME_SENT`` events included)."""
        added = [e for e in self._events if e.kind is EventKind.FRAME_SENT]
        if not added:
            return self._frames
        frames = FrameLog()
        for event in self._in_order():
            if event.kind is EventKind.FRAME_SENT:
                data = event.data
                frames.append(
                    event.t,
                    _int(data.get("chunk")),
                    _int(data.get("sequence")),
                    data.get("speaking") is True,
                    _float(data.get("late_ms")),
                    0,
                )
        return frames

    def of(self, *kinds: EventKind) -> list[TimelineEvent]:
        return [event for event in self.events() if event.kind in kinds]

    def count(self, kind: EventKind) -> int:
        found = sum(1 for event in self._events if event.kind is kind)
        return found + len(self._frames) if kind is EventKind.FRAME_SENT else found

    def __len__(self) -> int:
        return len(self._events) + len(self._frames)

    def _in_order(self) -> list[TimelineEvent]:
        """Every event in the order recorded."""
        frames, events = self._frames, self._events
        if not len(frames):
            return list(events)
        merged: list[TimelineEvent] = []
        done = 0
        for index, position in enumerate(frames.position):
            merged.extend(events[done:position])
            done = max(done, position)
            merged.append(frames.event(index))
        merged.extend(events[done:])
        return merged

    def ms(self, event: TimelineEvent) -> float:
        """Milliseconds from the start of the call to ``event``."""
        return (event.t - self.origin) * 1000

    def to_jsonl(self, *, include_frames: bool = False) -> str:
        """One JSON object per line: ``t_ms`` from the call start, ``kind`` and the event's data.

        Sent frames (50 a second) are left out unless ``include_frames``.
        """
        lines = [
            json.dumps({"t_ms": round(self.ms(event), 3), "kind": str(event.kind), **event.data})
            for event in self.events(include_frames=include_frames)
        ]
        return "".join(line + "\n" for line in lines)


def _int(value: JsonScalar) -> int:
    return int(value) if isinstance(value, int | float) else 0


def _float(value: JsonScalar) -> float:
    return float(value) if isinstance(value, int | float) else 0.0
