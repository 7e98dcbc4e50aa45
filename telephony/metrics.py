"""Process metrics: event-loop lag, barge-in reaction, the calls' counters, and what the
transcript store still owes (writes waiting out a database outage, turns lost).

Cheap enough to stay on: the lag monitor wakes 20 times a second; a barge-in costs two clock
reads; calls add their counters once, when they end. Nothing here runs per audio frame.
"""

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from telephony.background import alongside
from telephony.call_stats import CallStats
from telephony.exposition import Exposition
from telephony.memory import Release
from telephony.transcripts.backlog import Backlog

LAG_INTERVAL_S = 0.05
WINDOW_SAMPLES = 20 * 60 * 15
"""Samples kept: 15 minutes of lag at 20 a second."""
RETENTION_S = WINDOW_SAMPLES * LAG_INTERVAL_S
"""How far back the lag samples reach: the longest window a snapshot can summarise."""


@dataclass(slots=True)
class Metrics:
    """What ``GET /metrics`` reports for this process."""

    clock: Callable[[], float] = time.monotonic
    calls_ended: int = 0
    totals: CallStats = field(default_factory=CallStats)
    """The counters of every call that ended in this process, summed."""
    backlog: Backlog | None = None
    """The transcript store's backlog (``TranscriptStore.backlog``), when there is a store."""
    exposition: Exposition = field(default_factory=Exposition)
    """The same events in Prometheus's terms (``GET /metrics/prometheus``)."""
    _lag: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=WINDOW_SAMPLES))
    _barge_in: deque[tuple[float, float]] = field(
        default_factory=lambda: deque(maxlen=WINDOW_SAMPLES)
    )

    def barge_in(self, reaction_ms: float) -> None:
        """``interrupted`` was in hand -> ``clear`` was handed to the socket, in ms."""
        self._barge_in.append((self.clock(), reaction_ms))
        self.exposition.barge_in.observe(reaction_ms / 1000)

    def reply(self, latency_s: float) -> None:
        """The caller stopped speaking -> the agent's first audio went out, in seconds."""
        self.exposition.reply.observe(latency_s)

    def refused(self, reason: str) -> None:
        """A call was answered with the overflow."""
        self.exposition.refused.labels(reason=reason).inc()

    def webhook_delivery(self, outcome: str) -> None:
        """A summary webhook attempt: ``delivered``, ``retried`` or ``failed``."""
        self.exposition.webhook_deliveries.labels(outcome=outcome).inc()

    def transfer(self, kind: str, outcome: str) -> None:
        """A transfer (``cold`` or ``warm``) reached ``outcome`` (see ``Exposition.transfers``)."""
        self.exposition.transfers.labels(kind=kind, outcome=outcome).inc()

    def memory_released(self, release: Release) -> None:
        """Free memory was given back to the system (``telephony.memory``)."""
        self.exposition.memory_released.inc(release.released_bytes)
        self.exposition.memory_release.observe(release.seconds)

    def call_started(self) -> None:
        self.exposition.call_started()

    def call_ended(self, stats: CallStats, reason: str = "unknown") -> None:
        self.calls_ended += 1
        self.totals.add(stats)
        self.exposition.call_ended(reason, stats)

    @contextlib.asynccontextmanager
    async def monitoring(self) -> AsyncIterator[None]:
        """Measure the event loop's lag while the block runs."""
        async with alongside(self._watch_lag(), name="event-loop lag monitor"):
            yield

    async def _watch_lag(self) -> None:
        clock = self.clock
        histogram = self.exposition.loop_lag
        while True:
            expected = clock() + LAG_INTERVAL_S
            await asyncio.sleep(LAG_INTERVAL_S)
            now = clock()
            lag_s = max(0.0, now - expected)
            self._lag.append((now, lag_s * 1000))
            histogram.observe(lag_s)

    def median_lag_ms(self, window_s: float) -> float:
        """The event loop's median lag over the last ``window_s`` seconds, in ms (0 with no
        sample yet). A median: one garbage collection is not an overload; a loop late on most
        of its wake-ups is."""
        since = self.clock() - window_s
        recent = sorted(v for t, v in reversed(self._lag) if t >= since)
        return recent[len(recent) // 2] if recent else 0.0

    def snapshot(self, window_s: float, active_calls: int) -> dict[str, Any]:
        since = self.clock() - window_s
        return {
            "calls_active": active_calls,
            "totals": {"calls": self.calls_ended} | self.totals.as_dict(),
            "window_s": window_s,
            "loop_lag_ms": _summary(v for t, v in self._lag if t >= since),
            "barge_in_reaction_ms": _summary(v for t, v in self._barge_in if t >= since),
        } | self._transcripts()

    def _transcripts(self) -> dict[str, Any]:
        backlog = self.backlog
        if backlog is None:
            return {}
        return {
            "transcripts": {
                "database_unavailable": backlog.unavailable,
                "calls_pending": backlog.calls_pending,
                "turns_dropped": backlog.turns_dropped,
                "turns_abandoned": backlog.turns_abandoned,
            }
        }


def _summary(values: Iterable[float]) -> dict[str, float | int]:
    ordered = sorted(values)
    if not ordered:
        return {"samples": 0}

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

    return {
        "samples": len(ordered),
        "p50": pick(0.50),
        "p99": pick(0.99),
        "max": round(ordered[-1], 3),
    }
