"""The call benchmark against ``serve --workers N``: every worker's metrics read from the files
the real exposition writes, process groups found in ``/proc``, the table's bucket bounds, the
comparison of worker counts and the ``--pin`` rule."""

import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.callbench.compare import compare
from bench.callbench.procstat import children, command_line, sample
from bench.callbench.report import render
from bench.callbench.shared_metrics import Histogram, WorkerMetrics, read_workers, totals, window
from bench.callbench.step import StepResult
from bench.calls import parse_args
from tests.test_processes import clean_env

WRITER = """
import os, sys
from telephony.call_stats import CallStats
from telephony.exposition import Exposition

started, frames_in, lags = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
exposition = Exposition()
for _ in range(started):
    exposition.call_started()
exposition.call_ended("caller_hung_up", CallStats(frames_in=frames_in, frames_dropped=1))
for lag in lags.split(","):
    exposition.loop_lag.observe(float(lag))
exposition.barge_in.observe(0.0007)
print(os.getpid())
"""


def worker_writes(directory: Path, started: int, frames_in: int, lags: str) -> int:
    """A process that writes metrics as a server worker does; its pid."""
    done = subprocess.run(
        [sys.executable, "-c", WRITER, str(started), str(frames_in), lags],
        env=clean_env(PROMETHEUS_MULTIPROC_DIR=str(directory)),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return int(done.stdout)


def test_each_workers_metrics_come_from_its_own_files(tmp_path: Path) -> None:
    busy = worker_writes(tmp_path, started=3, frames_in=500, lags="0.0005,0.0005,0.0005,0.03")
    calm = worker_writes(tmp_path, started=1, frames_in=300, lags="0.002")
    before = {pid: WorkerMetrics(pid) for pid in (busy, calm)}

    now = read_workers(tmp_path, [busy, calm])

    assert now[busy].calls_active == 2
    assert now[calm].calls_active == 0
    assert totals(now) == {"calls_active": 2, "frames_in": 800, "frames_dropped": 2}
    summary = window(before, now)
    lag = summary["loop_lag_ms"]
    # The worst worker's lag: its p99 lies in the (20, 50] ms bucket.
    assert lag["samples"] == 4 and lag["workers"] == 2
    assert lag["p50"] == pytest.approx(1.0)
    assert lag["p99"] == pytest.approx(50.0)
    # Barge-ins pooled over the workers: both in the (0.5, 1] ms bucket.
    assert summary["barge_in_reaction_ms"]["samples"] == 2
    assert summary["barge_in_reaction_ms"]["p99"] == pytest.approx(1.0)
    # A window that starts after everything was observed saw nothing.
    assert window(now, now)["loop_lag_ms"]["samples"] == 0
    # A worker that has written nothing yet reads as zeros.
    assert totals(read_workers(tmp_path, [busy + calm + 1_000_000]))["frames_in"] == 0


def test_a_quantile_is_known_to_its_bucket_bound() -> None:
    lag = Histogram({0.001: 98.0, 0.005: 1.0, 0.01: 1.0, math.inf: 0.0})

    assert lag.bound_ms(0.5) == pytest.approx(1.0)
    assert lag.bound_ms(0.99) == pytest.approx(5.0)
    assert lag.bound_ms(1.0) == pytest.approx(10.0)
    assert Histogram({0.001: 1.0, math.inf: 1.0}).bound_ms(0.99) == math.inf
    assert Histogram().bound_ms(0.5) is None
    assert (lag + lag).samples == 200
    assert (lag + lag).since(lag).counts == lag.counts


def test_a_server_and_its_workers_are_found_and_measured_together() -> None:
    code = "import time; time.sleep(60)"
    child = subprocess.Popen([sys.executable, "-c", code])
    try:
        assert child.pid in children(os.getpid())
        # Just after exec the command line can read empty for a moment.
        deadline = time.monotonic() + 30.0
        while not command_line(child.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert code in command_line(child.pid)
        both = sample(0.0, {"group": (os.getpid(), child.pid), "alone": (os.getpid(),)})
        assert both.seconds["group"] >= both.seconds["alone"]
    finally:
        child.kill()
        child.wait()
    assert command_line(child.pid) == ""


def step(calls: int, workers: int, cpu: float, up: float, **fields: object) -> StepResult:
    result = StepResult(calls=calls, direct_clients=8, duration_s=10.0, server_workers=workers)
    result.calls_ok = calls
    result.added_up_p99, result.added_down_p99 = up, 2.0
    result.server_cpu_s_per_call_min = cpu
    for name, value in fields.items():
        setattr(result, name, value)
    return result


def test_worker_counts_are_compared_by_capacity_and_cost() -> None:
    one = [step(25, 1, 1.0, 3.0), step(50, 1, 1.1, 30.0)]
    two = [step(25, 2, 1.2, 2.0), step(50, 2, 1.1, 4.0)]

    text, figures = compare([(1, one), (2, two)], cpus=2)

    [against] = figures["against"]
    assert against["largest_n"] == [25, 50]
    assert against["largest_n_ratio"] == pytest.approx(2.0)
    assert against["largest_n_is_largest_step"]  # 50 was the last step: a lower bound
    assert "a lower bound" in text
    assert [s["cpu_s_per_call_min_ratio"] for s in against["steps"]] == pytest.approx([1.2, 1.0])
    none_within = [step(25, 1, 1.0, 30.0)]
    text, figures = compare([(1, none_within), (2, two)], cpus=2)
    assert "none -> 50" in text and figures["against"][0]["largest_n_ratio"] is None


def test_the_table_shows_workers_figures_as_bucket_bounds() -> None:
    workers = step(10, 2, 1.0, 3.0, loop_lag_ms={"p99": 5.0}, server_barge_in_ms={"p50": 0.5})
    alone = step(10, 1, 1.0, 3.0, loop_lag_ms={"p99": 4.2})

    assert "<=5 " in render([workers], None) and "<=0.5/-" in render([workers], None)
    assert "<=" not in render([alone], None) and "4.2" in render([alone], None)


def test_pinning_needs_a_cpu_for_each_server_process_and_one_for_the_peers() -> None:
    with pytest.raises(SystemExit):
        parse_args(["--pin", "--workers", "1000"])
    with pytest.raises(SystemExit):
        parse_args(["--pin", "--compare-workers", "1,1000"])
    with pytest.raises(SystemExit):
        parse_args(["--workers", "0"])
    assert parse_args(["--compare-workers", "1,2"]).worker_counts == (1, 2)
    assert parse_args([]).worker_counts == (1,)
