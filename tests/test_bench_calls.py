"""The call benchmark's sums: matching what was sent with what arrived, on synthetic arrays; the
step's stopping rule; reading the emulator's logs and the server's transcript tags."""

import math
import pickle
from array import array
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from bench.callbench.conversation import caller_script
from bench.callbench.emulator_worker import snapshot
from bench.callbench.latency import (
    Percentiles,
    down_delays,
    reaction_delays,
    up_delays,
)
from bench.callbench.records import CallData
from bench.callbench.report import largest_within
from bench.callbench.server import read_tags
from bench.callbench.step import Schedule, StepResult
from bench.calls import stop_reason
from telephony.transcripts import CallInfo, EndReason, Speaker, TranscriptStore, TurnRecord
from twins.gemini_live import Record
from twins.twilio import Interrupt, Speak, WaitForGreeting, WaitForReply


def floats(*values: float) -> np.ndarray:
    return np.asarray(values, dtype=float)


def test_a_frame_arrives_with_the_audio_that_completes_it() -> None:
    frames = floats(0.000, 0.020, 0.040, 0.060)
    # The server batches two frames (40 ms) per message, 5 ms after the second frame left.
    arrivals = floats(0.025, 0.065)
    received_ms = floats(40.0, 80.0)

    delays = up_delays(frames, arrivals, received_ms)

    assert delays * 1000 == pytest.approx([25.0, 5.0, 25.0, 5.0])


def test_a_frame_whose_audio_never_arrived_has_no_delay() -> None:
    delays = up_delays(floats(0.0, 0.02, 0.04), floats(0.001, 0.021), floats(20.0, 40.0))

    assert delays[:2] * 1000 == pytest.approx([1.0, 1.0])
    assert math.isnan(delays[2])


def test_up_matching_tolerates_a_fraction_of_a_millisecond_missing() -> None:
    # 19.75 ms received after the first frame (a resampler holding back 0.25 ms).
    delays = up_delays(floats(0.0, 0.02), floats(0.002, 0.022), floats(19.75, 39.75))

    assert delays * 1000 == pytest.approx([2.0, 2.0])


def test_a_chunk_arrives_when_the_caller_has_received_its_audio() -> None:
    chunk_t = floats(1.000, 1.000, 1.040)
    chunk_ms = floats(40.0, 80.0, 120.0)
    # Each chunk becomes one media message, 0.42 ms short until the turn ends.
    received_t = floats(1.003, 1.006, 1.041)
    received_ms = floats(39.58, 79.58, 119.58)

    delays = down_delays(chunk_t, chunk_ms, floats(), received_t, received_ms)

    assert delays * 1000 == pytest.approx([3.0, 6.0, 1.0])


def test_down_tolerance_grows_with_each_interruption_before_the_chunk() -> None:
    chunk_t = floats(1.0, 2.0, 3.0)
    chunk_ms = floats(40.0, 80.0, 120.0)
    interrupted_t = floats(1.5, 2.5)
    # Each interruption drops 0.4 ms that the server's converter held back.
    received_t = floats(1.001, 2.001, 3.001)
    received_ms = floats(39.6, 79.2, 118.8)

    delays = down_delays(chunk_t, chunk_ms, interrupted_t, received_t, received_ms)
    strict = down_delays(
        chunk_t,
        chunk_ms,
        interrupted_t,
        received_t,
        received_ms,
        tolerance_ms=0.5,
        per_interruption_ms=0.0,
    )

    assert delays * 1000 == pytest.approx([1.0, 1.0, 1.0])
    # Without it, the second chunk would wait for the third's arrival, and the third for none.
    assert strict[:2] * 1000 == pytest.approx([1.0, 1001.0])
    assert math.isnan(strict[2])


def test_an_interruption_is_answered_by_the_next_clear_in_time() -> None:
    interrupted = floats(1.0, 5.0, 9.0)
    clears = floats(1.004, 8.0, 9.5)

    delays = reaction_delays(interrupted, clears, limit_s=2.0)

    assert delays[0] * 1000 == pytest.approx(4.0)
    assert math.isnan(delays[1])  # the next clear came 3 s later: another barge-in's
    assert delays[2] * 1000 == pytest.approx(500.0)
    assert np.isnan(reaction_delays(interrupted, floats())).all()


def test_percentiles_ignore_what_never_arrived() -> None:
    delays = np.append(np.linspace(0.001, 0.100, 100), np.nan)

    summary = Percentiles.of_seconds(delays)

    assert summary.samples == 100
    assert summary.p50 == pytest.approx(50.5)
    assert summary.p99 is not None and 99.0 < summary.p99 < 100.0
    assert Percentiles.of_seconds(floats(np.nan)) == Percentiles(0, None, None)


def row(calls: int, up: float | None, down: float | None, **fields: object) -> StepResult:
    result = StepResult(calls=calls, direct_clients=min(calls, 8), duration_s=10.0)
    result.calls_ok = calls
    result.added_up_p99, result.added_down_p99 = up, down
    for name, value in fields.items():
        setattr(result, name, value)
    return result


def test_the_largest_n_within_20_ms_needs_both_ways_and_every_call() -> None:
    rows = [
        row(1, 1.0, 2.0),
        row(25, 5.0, 19.0),
        row(50, 25.0, 3.0),
        row(100, 3.0, 3.0, calls_ok=99),
    ]

    assert largest_within(rows) == 25
    assert largest_within([row(1, None, 1.0)]) is None


@pytest.mark.parametrize(
    ("result", "stops"),
    [
        (row(10, 5.0, 5.0), False),
        (row(10, 5.0, 5.0, calls_ok=9), True),
        (row(10, 5.0, 5.0, frames_dropped=3), True),
        (row(10, 101.0, 5.0), True),
        (row(10, 5.0, 150.0), True),
        (row(10, 5.0, 5.0, server_alive=False), True),
    ],
)
def test_the_ramp_stops_when_the_server_falls_behind(result: StepResult, stops: bool) -> None:
    assert (stop_reason(result) is not None) == stops


def test_the_window_opens_once_every_call_has_started_and_been_greeted() -> None:
    small, large = Schedule.plan(1, 15.0, now=100.0), Schedule.plan(400, 30.0, now=100.0)

    assert small.start_t == 100.5
    assert small.window_start > small.start_t + small.spread_s
    assert small.window_s == pytest.approx(15.0)
    assert small.end_t > small.window_end
    assert large.spread_s > small.spread_s


def test_callers_keep_talking_and_barge_in_each_cycle() -> None:
    script = caller_script(0, duration_s=30.0)
    rotated = caller_script(1, duration_s=30.0)

    assert isinstance(script[0], WaitForGreeting)
    assert sum(isinstance(step, Interrupt) for step in script) >= 3
    assert isinstance(script[1], Speak) and isinstance(script[2], WaitForReply)
    assert isinstance(rotated[2], Interrupt)  # the other half starts with the barge-in
    first, other = (next(s for s in caller_script(n, 30.0) if isinstance(s, Speak)) for n in (0, 2))
    assert first.seed != other.seed  # callers have different voices


def test_the_emulator_snapshot_holds_the_logs_from_a_moment_on() -> None:
    record = Record()
    old = record.open_connection("/ws", api_key_present=True, timings=True)
    old.closed_at = 5.0
    live = record.open_connection("/ws", api_key_present=True, timings=True)
    record.open_connection("/ws", api_key_present=True)  # no timings kept
    assert live.timings is not None
    live.timings.audio_in_t.extend([9.0, 10.0, 11.0])
    live.timings.audio_in_ms.extend([20.0, 40.0, 60.0])
    live.timings.chunk_t.extend([10.5])
    live.timings.chunk_ms.extend([40.0])
    live.timings.interrupted_t.extend([9.5])

    [link] = snapshot(record, since=10.0)

    assert link.index == 1
    assert list(link.audio_in_t) == [10.0, 11.0]
    assert list(link.audio_in_ms) == [40.0, 60.0]
    assert list(link.chunk_ms) == [40.0]
    assert list(link.interrupted_t) == []
    assert link.audio_in_t.typecode == "d"


async def test_calls_are_matched_to_connections_by_their_tagged_turns(tmp_path: Path) -> None:
    db = tmp_path / "bench.db"
    store = TranscriptStore.from_url(f"sqlite+aiosqlite:///{db}")
    await store.create_schema()
    now = datetime.now(UTC)
    turns = {
        "CA1": [(Speaker.AGENT, "[c3] Thank you for calling."), (Speaker.CALLER, "Hi.")],
        "CA2": [(Speaker.CALLER, "Hello?"), (Speaker.AGENT, "[c7] Of course.")],
        "CA3": [(Speaker.AGENT, "No tag here.")],
    }
    for sid, said in turns.items():
        await store.start_call(CallInfo(call_sid=sid, started_at=now))
        for speaker, text in said:
            await store.add_turn(sid, TurnRecord(speaker=speaker, text=text, start_ms=0, end_ms=1))
    await store.end_call("CA1", EndReason.CALLER_HUNG_UP, now)
    await store.end_call("CA2", EndReason.CALLER_HUNG_UP, now)
    await store.close()

    ended, found = read_tags(db, {"CA1", "CA2", "CA3", "CA4"})

    assert ended == {"CA1", "CA2"}
    assert found == {"CA1": 3, "CA2": 7}


def test_records_cross_the_pipe_as_arrays() -> None:
    data = CallData(call_sid="CA1", end_reason="timeout", first_audio_ms=300.0)
    data.frame_t.extend([1.0, 1.02])
    copy = pickle.loads(pickle.dumps(data))

    assert copy == data
    assert isinstance(copy.frame_t, array)
    assert copy.ok
