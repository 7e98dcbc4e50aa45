"""The capacity rules of admission, fed numbers: live calls, answered calls, the loop's lag."""

from telephony.admission import Admission, Refusal
from twins.twilio import ManualClock


def admission(clock: ManualClock, lag_ms: float = 0.0, max_calls: int = 3) -> Admission:
    return Admission(
        max_calls=max_calls,
        max_loop_lag_ms=100.0,
        loop_lag_ms=lambda window_s: lag_ms,
        stream_wait_s=60.0,
        clock=clock.now,
    )


def test_live_and_answered_calls_together_fill_the_capacity() -> None:
    rules = admission(ManualClock())
    assert rules.take("CA1", live_calls=2) is None  # the third place, held
    assert rules.take("CA2", live_calls=2) is Refusal.AT_CAPACITY
    assert rules.take("CA1", live_calls=2) is None, "a retried webhook keeps its place"
    rules.release("CA1")  # its stream started: it is one of the live calls now
    assert rules.take("CA2", live_calls=2) is None
    assert rules.refused == {Refusal.DRAINING: 0, Refusal.AT_CAPACITY: 1, Refusal.LOOP_LAG: 0}


def test_an_answered_call_whose_stream_never_starts_gives_its_place_back() -> None:
    clock = ManualClock()
    rules = admission(clock, max_calls=1)
    assert rules.take("CA1", live_calls=0) is None
    assert rules.take("CA2", live_calls=0) is Refusal.AT_CAPACITY
    clock.advance(59.9)
    assert rules.pending == 1
    clock.advance(0.2)
    assert rules.pending == 0
    assert rules.take("CA2", live_calls=0) is None


def test_a_lagging_loop_refuses_and_draining_comes_first() -> None:
    clock = ManualClock()
    assert admission(clock, lag_ms=150.0).take("CA1", live_calls=0) is Refusal.LOOP_LAG
    assert admission(clock, lag_ms=100.0).take("CA1", live_calls=0) is None
    rules = admission(clock, lag_ms=150.0)
    rules.draining = True
    assert rules.take("CA1", live_calls=5) is Refusal.DRAINING
