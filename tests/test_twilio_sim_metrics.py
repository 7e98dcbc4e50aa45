"""Latencies and counts computed from a call's timeline."""

import pytest

from twins.twilio.metrics import compute_metrics
from twins.twilio.timeline import EventKind, Timeline


def test_reply_latency_barge_in_and_counts() -> None:
    tl = Timeline(origin=100.0)
    tl.add(100.0, EventKind.START_SENT)
    tl.add(100.5, EventKind.PLAYBACK_STARTED)  # greeting
    tl.add(101.5, EventKind.PLAYBACK_STOPPED, played_ms=1000.0)
    tl.add(102.0, EventKind.SPEECH_STARTED)
    tl.add(103.0, EventKind.SPEECH_ENDED)
    tl.add(103.7, EventKind.PLAYBACK_STARTED)  # the reply: 700 ms after the caller stopped
    tl.add(104.0, EventKind.SPEECH_STARTED)  # barge-in over the reply
    tl.add(104.25, EventKind.CLEAR_RECEIVED, discarded_ms=1800.0, marks=2)
    tl.add(104.25, EventKind.PLAYBACK_STOPPED, played_ms=550.0, cleared=True)
    tl.add(104.25, EventKind.MARK_ECHOED, name="a", cleared=True)
    tl.add(104.25, EventKind.MARK_ECHOED, name="b", cleared=True)
    tl.add(105.0, EventKind.SPEECH_ENDED)
    tl.add(106.0, EventKind.SPEECH_STARTED)  # a turn with no answer before the caller speaks
    tl.add(106.5, EventKind.SPEECH_ENDED)
    for late in (0.5, 12.0, 3.0):
        tl.add(100.0, EventKind.FRAME_SENT, speaking=False, late_ms=late)
    tl.add(100.0, EventKind.VIOLATION, violation="extra_field")
    tl.add(100.0, EventKind.VIOLATION, violation="extra_field")
    tl.add(100.0, EventKind.VIOLATION, violation="binary_frame")

    m = compute_metrics(tl)

    assert m.first_audio_ms == pytest.approx(500)
    assert [round(t.latency_ms or -1) for t in m.turns] == [700, -1, -1]
    assert m.reply_latencies_ms == [pytest.approx(700)]
    assert len(m.barge_ins) == 1
    barge = m.barge_ins[0]
    assert barge.latency_ms == pytest.approx(250)
    assert barge.discarded_ms == pytest.approx(1800)
    assert m.audio_played_ms == pytest.approx(1550)
    assert m.audio_discarded_ms == pytest.approx(1800)
    assert m.marks_echoed == m.marks_echoed_after_clear == 2
    assert m.clears_received == 1
    assert m.frames_sent == 3
    assert m.late_frames == 1
    assert m.max_frame_lateness_ms == 12.0
    assert m.violations == 3
    assert m.violations_by_kind == {"extra_field": 2, "binary_frame": 1}


def test_speaking_while_nothing_plays_is_not_a_barge_in() -> None:
    tl = Timeline(origin=0.0)
    tl.add(0.0, EventKind.PLAYBACK_STARTED)
    tl.add(1.0, EventKind.PLAYBACK_STOPPED, played_ms=1000.0)
    tl.add(1.5, EventKind.SPEECH_STARTED)
    tl.add(2.0, EventKind.CLEAR_RECEIVED, discarded_ms=0.0)
    assert compute_metrics(tl).barge_ins == ()


def test_a_barge_in_the_server_ignores_has_no_latency() -> None:
    tl = Timeline(origin=0.0)
    tl.add(0.0, EventKind.PLAYBACK_STARTED)
    tl.add(0.5, EventKind.SPEECH_STARTED)
    tl.add(1.0, EventKind.SPEECH_ENDED)
    tl.add(3.0, EventKind.PLAYBACK_STOPPED, played_ms=3000.0)
    barge_ins = compute_metrics(tl).barge_ins
    assert len(barge_ins) == 1
    assert barge_ins[0].latency_ms is None
    assert barge_ins[0].clear_ms is None


def test_timeline_exports_jsonl_without_frames() -> None:
    tl = Timeline(origin=10.0)
    tl.add(10.02, EventKind.FRAME_SENT, late_ms=0.0)
    tl.add(10.5, EventKind.MARK_ECHOED, name="x")
    lines = tl.to_jsonl().splitlines()
    assert lines == ['{"t_ms": 500.0, "kind": "mark_echoed", "name": "x"}']
    assert len(tl.to_jsonl(include_frames=True).splitlines()) == 2


def _two_timelines() -> tuple[Timeline, Timeline]:
    """The same call recorded twice: frames as events, and frames kept compactly."""
    as_events, compact = Timeline(origin=10.0), Timeline(origin=10.0)
    for tl in (as_events, compact):
        tl.add(10.0, EventKind.START_SENT)
    for slot, (t, speaking, late) in enumerate(
        [(10.02, False, 0.1), (10.04, True, 11.0), (10.04, True, 0.0), (10.08, False, 2.5)]
    ):
        data = {"chunk": slot + 1, "sequence": slot + 2, "speaking": speaking, "late_ms": late}
        as_events.add(t, EventKind.FRAME_SENT, **data)
        compact.add_frame(t, chunk=slot + 1, sequence=slot + 2, speaking=speaking, late_ms=late)
        if slot == 1:
            for tl in (as_events, compact):
                tl.add(t, EventKind.SPEECH_STARTED, chunk=slot + 1)
    for tl in (as_events, compact):
        tl.add(10.03, EventKind.MEDIA_RECEIVED, bytes=160, ms=20.0)
    return as_events, compact


def test_frames_kept_compactly_read_back_as_events() -> None:
    as_events, compact = _two_timelines()

    assert compact.events() == as_events.events()
    assert compact.of(EventKind.FRAME_SENT) == as_events.of(EventKind.FRAME_SENT)
    assert compact.count(EventKind.FRAME_SENT) == as_events.count(EventKind.FRAME_SENT) == 4
    assert len(compact) == len(as_events) == 7
    assert compact.to_jsonl(include_frames=True) == as_events.to_jsonl(include_frames=True)
    assert compact.to_jsonl() == as_events.to_jsonl()
    assert compute_metrics(compact) == compute_metrics(as_events)
    assert compute_metrics(compact).late_frames == 1


def test_sent_frames_come_in_the_order_sent_either_way() -> None:
    for tl in _two_timelines():
        frames = tl.sent_frames()

        assert list(frames.chunk) == [1, 2, 3, 4]
        assert list(frames.t) == [10.02, 10.04, 10.04, 10.08]
        assert list(frames.speaking) == [0, 1, 1, 0]
        assert list(frames.late_ms) == [0.1, 11.0, 0.0, 2.5]
