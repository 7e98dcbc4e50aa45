"""Time for the simulator, injectable so that playout and scripts can be tested without waiting.

Every timestamp in the simulator is a monotonic time in seconds taken from one clock.
"""

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    """A monotonic time source in seconds."""

    def now(self) -> float: ...


class AsyncClock(Clock, Protocol):
    """A clock that can also wait for a moment to arrive."""

    async def sleep_until(self, deadline: float) -> None: ...


class MonotonicClock:
    """Real time: ``time.monotonic`` and ``asyncio.sleep``."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep_until(self, deadline: float) -> None:
        await asyncio.sleep(max(0.0, deadline - time.monotonic()))


class ManualClock:
    """A clock that moves only when told to; ``sleep_until`` jumps straight to the deadline."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a monotonic clock cannot go back")
        self._now += seconds

    async def sleep_until(self, deadline: float) -> None:
        self._now = max(self._now, deadline)
        await asyncio.sleep(0)
