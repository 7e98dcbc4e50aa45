"""Which new calls this process takes, decided at the voice webhook.

A call is refused before it starts, never degraded once it runs: beyond capacity, with the event
loop already late, or while the process drains for a shutdown, the webhook answers with the
overflow TwiML (a message, another number, a queue) and no stream. Capacity counts the calls
whose stream runs and the calls answered with a stream that has not started yet (Twilio opens
it a moment after the webhook): a burst of webhooks cannot overshoot the limit.

This is the capacity half of admission; the other half, one stream per call in the whole
deployment, is the stream ledger's (``transcripts/streams.py``) and is checked when the stream
starts. Pure bookkeeping: no I/O, the clock and the lag are given.
"""

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, field

LAG_WINDOW_S = 2.0
"""The event loop's lag is judged over this many seconds of samples (40 of them)."""


class Refusal(enum.StrEnum):
    """Why a call gets the overflow instead of a stream."""

    DRAINING = "draining"
    """The process is shutting down: live calls finish, new ones go elsewhere."""
    AT_CAPACITY = "at_capacity"
    """``MAX_CALLS`` calls are live or about to start."""
    LOOP_LAG = "loop_lag"
    """The event loop is late: the process is out of CPU."""


@dataclass(slots=True)
class Admission:
    """One process's capacity for calls: ``refusal`` says whether a new call may start."""

    max_calls: int
    max_loop_lag_ms: float
    loop_lag_ms: Callable[[float], float]
    """The loop's median lag over a window of seconds (``Metrics.median_lag_ms``)."""
    stream_wait_s: float
    """How long an answered call may take to start its stream (the stream token's lifetime):
    after that its place is given back."""
    clock: Callable[[], float] = time.monotonic
    draining: bool = False
    refused: dict[Refusal, int] = field(default_factory=lambda: dict.fromkeys(Refusal, 0))
    """Calls refused since the start, by reason."""
    _pending: dict[str, float] = field(default_factory=dict)
    """Calls answered with a stream that has not started, with when their place is given back."""

    def take(self, call_sid: str, live_calls: int) -> Refusal | None:
        """Hold a place for ``call_sid`` until its stream starts, or say why it must go to the
        overflow (a refusal is counted). Decided and held in one step, with no ``await`` in
        between: concurrent webhooks cannot all see the same free place. A call that already
        holds one (a retried webhook) keeps it."""
        if call_sid in self._pending:
            return None
        reason = self._why_not(live_calls)
        if reason is not None:
            self.refused[reason] += 1
            return reason
        self._pending[call_sid] = self.clock() + self.stream_wait_s
        return None

    def _why_not(self, live_calls: int) -> Refusal | None:
        if self.draining:
            return Refusal.DRAINING
        if live_calls + self.pending >= self.max_calls:
            return Refusal.AT_CAPACITY
        if self.loop_lag_ms(LAG_WINDOW_S) > self.max_loop_lag_ms:
            return Refusal.LOOP_LAG
        return None

    def release(self, call_sid: str) -> None:
        """``call_sid`` no longer needs its held place: its stream started (it counts as live
        from now on), was refused, or will never be opened."""
        self._pending.pop(call_sid, None)

    @property
    def pending(self) -> int:
        """Calls answered whose stream has not started and may still start."""
        now = self.clock()
        expired = [sid for sid, until in self._pending.items() if until <= now]
        for sid in expired:
            del self._pending[sid]
        return len(self._pending)
