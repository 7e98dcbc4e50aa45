"""The pace outbound calls are placed at: calls per second, calls live at once, a queue.

Twilio accepts calls at the account's rate (CPS, 1 a second by default) and queues the rest
itself, at a cost in predictability; a contact centre also caps how many of its calls are live,
so that its agents (here: model sessions) are not swamped. A call holds a slot from the moment
it is placed until its final status arrives (completed, busy, no-answer, failed, canceled), or
until it could not be placed.
"""

import asyncio
import time
from collections.abc import Callable


class Pacer:
    """Hands out slots: at most ``max_live`` held at once, at most ``per_second`` a second."""

    def __init__(
        self,
        per_second: float,
        max_live: int,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interval = 1.0 / per_second
        self._max_live = max_live
        self._clock = clock
        self._next_at = 0.0
        self._live = 0
        self._changed = asyncio.Condition()
        self.peak = 0
        """The most slots ever held at once."""

    @property
    def live(self) -> int:
        return self._live

    async def acquire(self) -> None:
        """Wait for a free slot, then for the rate; hold the slot until ``release``."""
        async with self._changed:
            await self._changed.wait_for(lambda: self._live < self._max_live)
            self._live += 1
            self.peak = max(self.peak, self._live)
        wait = self._next_at - self._clock()
        self._next_at = max(self._next_at, self._clock()) + self._interval
        if wait > 0:
            await asyncio.sleep(wait)

    async def release(self) -> None:
        async with self._changed:
            self._live = max(0, self._live - 1)
            self._changed.notify_all()
