"""Twilio's playback buffer in the simulator: marks, clear and what the caller heard."""

import pytest

from twins.twilio.clock import ManualClock
from twins.twilio.playout import (
    MarkDue,
    PlaybackStarted,
    PlaybackStopped,
    Playout,
    PlayoutEvent,
)

RATE = 8000


def audio(ms: int, value: int = 0x10) -> bytes:
    return bytes([value]) * (RATE * ms // 1000)


def marks(events: list[PlayoutEvent]) -> list[tuple[str, bool]]:
    return [(e.name, e.cleared) for e in events if isinstance(e, MarkDue)]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(100.0)


@pytest.fixture
def playout(clock: ManualClock) -> Playout:
    return Playout(clock)


def test_mark_is_echoed_once_the_audio_before_it_has_played(
    clock: ManualClock, playout: Playout
) -> None:
    playout.add_audio(audio(100))
    playout.add_mark("a")
    assert marks(playout.advance()) == []
    assert playout.next_deadline() == pytest.approx(100.1, abs=1e-3)
    clock.advance(0.099)
    assert marks(playout.advance()) == []
    clock.advance(0.001)
    due = [e for e in playout.advance() if isinstance(e, MarkDue)]
    assert [(m.name, m.cleared) for m in due] == [("a", False)]
    assert due[0].t == pytest.approx(100.1)


def test_mark_is_echoed_at_once_when_nothing_is_buffered(
    clock: ManualClock, playout: Playout
) -> None:
    playout.add_mark("idle")
    assert marks(playout.advance()) == [("idle", False)]
    playout.add_audio(audio(20))
    clock.advance(0.5)
    playout.advance()
    playout.add_mark("after-drain")
    assert marks(playout.advance()) == [("after-drain", False)]


def test_marks_come_back_in_order_between_chunks(clock: ManualClock, playout: Playout) -> None:
    for name in ("one", "two", "three"):
        playout.add_audio(audio(40))
        playout.add_mark(name)
    clock.advance(0.05)
    assert marks(playout.advance()) == [("one", False)]
    clock.advance(0.1)
    assert marks(playout.advance()) == [("two", False), ("three", False)]


def test_clear_empties_the_buffer_and_returns_every_pending_mark(
    clock: ManualClock, playout: Playout
) -> None:
    playout.add_audio(audio(1000))
    playout.add_mark("m1")
    playout.add_audio(audio(500))
    playout.add_mark("m2")
    clock.advance(0.3)
    result = playout.clear()
    assert result.marks == ("m1", "m2")
    assert result.discarded_ms == pytest.approx(1200)
    events = playout.advance()
    assert marks(events) == [("m1", True), ("m2", True)]
    stopped = [e for e in events if isinstance(e, PlaybackStopped)]
    assert len(stopped) == 1
    assert stopped[0].cleared
    assert stopped[0].played_samples == 0.3 * RATE
    state = playout.state()
    assert not state.playing
    assert state.buffered_samples == 0
    assert playout.next_deadline() is None


def test_clear_with_an_empty_buffer_discards_nothing(playout: Playout) -> None:
    result = playout.clear()
    assert result.discarded_samples == 0
    assert result.marks == ()
    assert playout.advance() == []


def test_audio_after_a_clear_plays_normally(clock: ManualClock, playout: Playout) -> None:
    playout.add_audio(audio(200, 0x11))
    clock.advance(0.1)
    playout.clear()
    clock.advance(0.05)
    playout.add_audio(audio(100, 0x22))
    playout.add_mark("fresh")
    clock.advance(0.099)
    assert marks(playout.advance()) == []
    clock.advance(0.001)
    assert marks(playout.advance()) == [("fresh", False)]
    heard = playout.heard()
    assert heard == audio(100, 0x11) + audio(50, 0xFF) + audio(100, 0x22)


def test_heard_audio_has_silence_where_nothing_played(clock: ManualClock, playout: Playout) -> None:
    clock.advance(0.05)
    playout.add_audio(audio(20, 0x33))
    clock.advance(0.1)
    heard = playout.heard()
    assert len(heard) == 150 * RATE // 1000
    assert heard == audio(50, 0xFF) + audio(20, 0x33) + audio(80, 0xFF)
    assert playout.played_samples == 20 * RATE // 1000


def test_back_to_back_chunks_play_without_gaps(clock: ManualClock, playout: Playout) -> None:
    chunk = bytes(range(160))
    for _ in range(50):
        playout.add_audio(chunk)
    for _ in range(100):
        clock.advance(0.01)
        playout.advance()
    assert playout.heard() == chunk * 50
    events = playout.advance()
    assert events == []


def test_playback_runs_are_reported_with_their_played_audio(
    clock: ManualClock, playout: Playout
) -> None:
    playout.add_audio(audio(100))
    clock.advance(0.2)
    playout.add_audio(audio(60))
    clock.advance(0.2)
    events = playout.advance()
    kinds = [type(e) for e in events]
    assert kinds == [PlaybackStarted, PlaybackStopped, PlaybackStarted, PlaybackStopped]
    assert events[0].t == pytest.approx(100.0)
    assert events[1].t == pytest.approx(100.1)
    assert events[2].t == pytest.approx(100.2)
    stops = [e for e in events if isinstance(e, PlaybackStopped)]
    assert [s.played_samples for s in stops] == [800, 480]
    assert playout.played_samples == 1280


def test_state_reports_buffer_and_idle_time(clock: ManualClock, playout: Playout) -> None:
    assert playout.state().idle_since is None
    playout.add_audio(audio(100))
    clock.advance(0.04)
    state = playout.state()
    assert state.playing
    assert state.buffered_samples == 480
    clock.advance(0.1)
    state = playout.state()
    assert not state.playing
    assert state.idle_since == pytest.approx(100.1)


def test_finish_cuts_off_unplayed_audio_without_echoing_marks(
    clock: ManualClock, playout: Playout
) -> None:
    playout.add_audio(audio(500))
    playout.add_mark("never")
    clock.advance(0.2)
    events = playout.finish()
    assert marks(events) == []
    stopped = [e for e in events if isinstance(e, PlaybackStopped)]
    assert stopped[0].cut
    assert stopped[0].played_samples == 1600
    clock.advance(1)
    assert len(playout.heard()) == 0.2 * RATE
