"""Each worker's metrics when the server runs ``serve --workers N``, from their shared files.

With workers, ``GET /metrics`` is answered by whichever worker accepts the connection, and
tells nothing of the others (nor which one answered). But ``serve`` puts the workers in
``prometheus_client``'s multiprocess mode: each writes its metrics to files of its own
(``<kind>_<pid>.db``) in ``PROMETHEUS_MULTIPROC_DIR``, which the bench chooses. Reading one
worker's files with the library's own merge gives that worker's figures:

- calls in progress (the ``livesum`` gauge) and the counters each call adds when it ends
  (frames in, frames dropped): exact, and they add up over the workers;
- event-loop lag and barge-in reaction: histograms, so a percentile is only known to lie in a
  bucket. The figures are the bucket's upper bound (``le``), the worst worker's for the lag (each
  worker has its own loop), all workers' reactions pooled for the barge-in.
"""

import glob
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client.multiprocess import MultiProcessCollector

CALLS_ACTIVE = "telephony_calls_active"
FRAMES_IN = "telephony_frames_in_total"
FRAMES_DROPPED = "telephony_frames_dropped_total"
LOOP_LAG = "telephony_event_loop_lag_seconds"
BARGE_IN = "telephony_barge_in_reaction_seconds"


@dataclass(frozen=True)
class Histogram:
    """Observations per bucket, by the bucket's upper bound in seconds (not cumulative)."""

    counts: Mapping[float, float] = field(default_factory=dict)

    @property
    def samples(self) -> int:
        return round(sum(self.counts.values()))

    def since(self, earlier: "Histogram") -> "Histogram":
        """The observations made after ``earlier`` was read."""
        return Histogram(
            {bound: n - earlier.counts.get(bound, 0.0) for bound, n in self.counts.items()}
        )

    def __add__(self, other: "Histogram") -> "Histogram":
        bounds = set(self.counts) | set(other.counts)
        return Histogram(
            {b: self.counts.get(b, 0.0) + other.counts.get(b, 0.0) for b in sorted(bounds)}
        )

    def bound_ms(self, q: float) -> float | None:
        """The upper bound of the bucket holding the ``q`` quantile, in ms (``inf`` beyond the
        last finite bucket; None without observations)."""
        total = sum(self.counts.values())
        if total <= 0:
            return None
        rank = min(total, max(1.0, math.ceil(q * total)))
        seen = 0.0
        for bound in sorted(self.counts):
            seen += self.counts[bound]
            if seen >= rank:
                return bound * 1000
        return math.inf

    def summary_ms(self) -> dict[str, float]:
        """``/metrics``'s shape (samples, p50, p99, max), as bucket bounds."""
        if not self.samples:
            return {"samples": 0}
        figures = {"p50": self.bound_ms(0.50), "p99": self.bound_ms(0.99), "max": self.bound_ms(1)}
        return {"samples": self.samples} | {k: v for k, v in figures.items() if v is not None}


@dataclass(frozen=True)
class WorkerMetrics:
    """One worker's metrics, as its files held them when read."""

    pid: int
    calls_active: float = 0.0
    frames_in: float = 0.0
    frames_dropped: float = 0.0
    loop_lag: Histogram = field(default_factory=Histogram)
    barge_in: Histogram = field(default_factory=Histogram)


def read_worker(directory: Path, pid: int) -> WorkerMetrics:
    """The worker's figures now (all zero before it has written any)."""
    files = glob.glob(os.path.join(directory, f"*_{pid}.db"))
    values: dict[str, float] = {}
    buckets: dict[str, dict[float, float]] = {LOOP_LAG: {}, BARGE_IN: {}}
    for metric in MultiProcessCollector.merge(files, accumulate=False):  # type: ignore[no-untyped-call]
        for name, labels, value, *_ in metric.samples:
            if name.endswith("_bucket") and metric.name in buckets:
                buckets[metric.name][float(labels["le"])] = value
            else:
                values[name] = value
    return WorkerMetrics(
        pid=pid,
        calls_active=values.get(CALLS_ACTIVE, 0.0),
        frames_in=values.get(FRAMES_IN, 0.0),
        frames_dropped=values.get(FRAMES_DROPPED, 0.0),
        loop_lag=Histogram(buckets[LOOP_LAG]),
        barge_in=Histogram(buckets[BARGE_IN]),
    )


def read_workers(directory: Path, pids: Iterable[int]) -> dict[int, WorkerMetrics]:
    return {pid: read_worker(directory, pid) for pid in pids}


def totals(workers: Mapping[int, WorkerMetrics]) -> dict[str, float]:
    """Calls in progress and the calls' counters, added up over the workers."""
    return {
        "calls_active": sum(w.calls_active for w in workers.values()),
        "frames_in": sum(w.frames_in for w in workers.values()),
        "frames_dropped": sum(w.frames_dropped for w in workers.values()),
    }


def window(
    start: Mapping[int, WorkerMetrics], end: Mapping[int, WorkerMetrics]
) -> dict[str, dict[str, float]]:
    """Lag (the worst worker's) and barge-in reaction (pooled) between two readings, in
    ``/metrics``'s shape, as bucket bounds."""
    lags = [end[pid].loop_lag.since(start[pid].loop_lag) for pid in end if pid in start]
    reactions = sum(
        (end[pid].barge_in.since(start[pid].barge_in) for pid in end if pid in start),
        Histogram(),
    )
    worst = max(
        (lag.summary_ms() for lag in lags),
        key=lambda summary: (summary.get("p99", -1.0), summary.get("samples", 0)),
        default={"samples": 0},
    )
    return {
        "loop_lag_ms": worst | {"workers": float(len(lags))},
        "barge_in_reaction_ms": reactions.summary_ms(),
    }
