"""Numbers that describe a simulated call, computed from its timeline.

- Reply latency, per caller turn: the caller's last speech frame was sent -> the first agent audio
  that starts playing afterwards (before the caller speaks again). That is the delay a caller
  hears, measured from the moment the server could know the caller stopped.
- Barge-in, each time the caller starts speaking while agent audio is playing: the first speech
  frame -> the next ``clear`` received (before the caller speaks again), and how much queued agent
  audio that ``clear`` threw away.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from twins.twilio.timeline import EventKind, Timeline, TimelineEvent

LATE_FRAME_MS = 10.0
"""A frame sent more than this after its slot on the 20 ms schedule counts as late."""


@dataclass(frozen=True)
class TurnLatency:
    """One caller turn and the agent's answer; times are ms from the call start."""

    speech_ended_ms: float
    reply_started_ms: float | None
    latency_ms: float | None


@dataclass(frozen=True)
class BargeIn:
    """The caller spoke over the agent; times are ms from the call start."""

    speech_started_ms: float
    clear_ms: float | None
    latency_ms: float | None
    discarded_ms: float | None


@dataclass(frozen=True)
class CallMetrics:
    frames_sent: int = 0
    speech_frames_sent: int = 0
    late_frames: int = 0
    max_frame_lateness_ms: float = 0.0
    dtmf_sent: int = 0
    media_received: int = 0
    audio_received_ms: float = 0.0
    audio_played_ms: float = 0.0
    audio_discarded_ms: float = 0.0
    marks_received: int = 0
    marks_echoed: int = 0
    marks_echoed_after_clear: int = 0
    clears_received: int = 0
    violations: int = 0
    violations_by_kind: dict[str, int] = field(default_factory=dict)
    first_audio_ms: float | None = None
    """Stream start -> the first agent audio played (the greeting, usually)."""
    turns: tuple[TurnLatency, ...] = ()
    barge_ins: tuple[BargeIn, ...] = ()

    @property
    def reply_latencies_ms(self) -> list[float]:
        return [turn.latency_ms for turn in self.turns if turn.latency_ms is not None]

    @property
    def clear_latencies_ms(self) -> list[float]:
        return [b.latency_ms for b in self.barge_ins if b.latency_ms is not None]


def compute_metrics(timeline: Timeline, *, late_frame_ms: float = LATE_FRAME_MS) -> CallMetrics:
    events = timeline.events(include_frames=False)
    frames = timeline.sent_frames()
    lateness = frames.late_ms
    violations = Counter(str(e.data.get("violation")) for e in _of(events, EventKind.VIOLATION))
    echoed = _of(events, EventKind.MARK_ECHOED)
    clears = _of(events, EventKind.CLEAR_RECEIVED)
    starts = _of(events, EventKind.START_SENT)
    playbacks = _of(events, EventKind.PLAYBACK_STARTED)
    first_audio = None
    if starts and playbacks:
        first_audio = (playbacks[0].t - starts[0].t) * 1000
    turns, barge_ins = _turns_and_barge_ins(timeline, events)
    return CallMetrics(
        frames_sent=len(frames),
        speech_frames_sent=sum(frames.speaking),
        late_frames=sum(1 for late in lateness if late > late_frame_ms),
        max_frame_lateness_ms=max(lateness, default=0.0),
        dtmf_sent=len(_of(events, EventKind.DTMF_SENT)),
        media_received=len(_of(events, EventKind.MEDIA_RECEIVED)),
        audio_received_ms=sum(_number(e, "ms") for e in _of(events, EventKind.MEDIA_RECEIVED)),
        audio_played_ms=sum(
            _number(e, "played_ms") for e in _of(events, EventKind.PLAYBACK_STOPPED)
        ),
        audio_discarded_ms=sum(_number(e, "discarded_ms") for e in clears),
        marks_received=len(_of(events, EventKind.MARK_RECEIVED)),
        marks_echoed=len(echoed),
        marks_echoed_after_clear=sum(1 for e in echoed if e.data.get("cleared") is True),
        clears_received=len(clears),
        violations=sum(violations.values()),
        violations_by_kind=dict(violations),
        first_audio_ms=first_audio,
        turns=turns,
        barge_ins=barge_ins,
    )


def _turns_and_barge_ins(
    timeline: Timeline, events: list[TimelineEvent]
) -> tuple[tuple[TurnLatency, ...], tuple[BargeIn, ...]]:
    turns: list[TurnLatency] = []
    barge_ins: list[BargeIn] = []
    playing = False
    speech_ended: float | None = None  # a turn waiting for its answer
    barge_start: float | None = None  # a barge-in waiting for its clear
    for event in events:
        t = timeline.ms(event)
        if event.kind is EventKind.PLAYBACK_STARTED:
            playing = True
            if speech_ended is not None:
                turns.append(TurnLatency(speech_ended, t, t - speech_ended))
                speech_ended = None
        elif event.kind is EventKind.PLAYBACK_STOPPED:
            playing = False
        elif event.kind is EventKind.SPEECH_STARTED:
            if speech_ended is not None:
                turns.append(TurnLatency(speech_ended, None, None))
                speech_ended = None
            if barge_start is not None:
                barge_ins.append(BargeIn(barge_start, None, None, None))
                barge_start = None
            if playing:
                barge_start = t
        elif event.kind is EventKind.SPEECH_ENDED:
            speech_ended = t
        elif event.kind is EventKind.CLEAR_RECEIVED and barge_start is not None:
            discarded = _number(event, "discarded_ms")
            barge_ins.append(BargeIn(barge_start, t, t - barge_start, discarded))
            barge_start = None
    if speech_ended is not None:
        turns.append(TurnLatency(speech_ended, None, None))
    if barge_start is not None:
        barge_ins.append(BargeIn(barge_start, None, None, None))
    return tuple(turns), tuple(barge_ins)


def _of(events: list[TimelineEvent], kind: EventKind) -> list[TimelineEvent]:
    return [event for event in events if event.kind is kind]


def _number(event: TimelineEvent, key: str) -> float:
    value = event.data.get(key)
    return float(value) if isinstance(value, int | float) else 0.0
