"""The network between Twilio and the server: one-way delay and jitter, in order.

A media stream is one WebSocket over TCP: messages can be late, and late by different amounts,
but never out of order. :class:`DelayLine` gives each message a delay of ``delay_ms`` plus a
random extra in ``[0, jitter_ms]`` (uniform), and releases it no earlier than the message before
it: a late message holds up the ones behind it, so jitter delays a burst and never reorders.

The default :class:`Network` is ideal (no delay): the stream then sends and handles messages
directly, exactly as without a delay line.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from twins.twilio.clock import AsyncClock

T = TypeVar("T")


@dataclass(frozen=True)
class Network:
    """One-way delay and jitter of each direction of the media stream, in milliseconds."""

    to_server_delay_ms: float = 0.0
    """Twilio -> server: the caller's audio, DTMF, mark echoes and ``stop``."""
    to_server_jitter_ms: float = 0.0
    from_server_delay_ms: float = 0.0
    """Server -> Twilio: the agent's audio, marks and ``clear``, and the close of the socket."""
    from_server_jitter_ms: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in (
            "to_server_delay_ms",
            "to_server_jitter_ms",
            "from_server_delay_ms",
            "from_server_jitter_ms",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"Network.{name} must not be negative")

    @property
    def to_server_ideal(self) -> bool:
        return self.to_server_delay_ms == 0 and self.to_server_jitter_ms == 0

    @property
    def from_server_ideal(self) -> bool:
        return self.from_server_delay_ms == 0 and self.from_server_jitter_ms == 0


class DelayLine(Generic[T]):
    """Items handed to ``deliver`` after their delay, in the order they were put.

    :meth:`run` delivers as items fall due (run it as a task); :meth:`flush` delivers what is
    left, each at its time, once that task is gone (the end of a stream: in-flight messages
    before ``stop``). ``deliver`` is awaited one item at a time.
    """

    def __init__(
        self,
        clock: AsyncClock,
        *,
        delay_ms: float,
        jitter_ms: float,
        seed: int,
        deliver: Callable[[T], Awaitable[None]],
    ) -> None:
        self._clock = clock
        self._delay_s = delay_ms / 1000
        self._jitter_s = jitter_ms / 1000
        self._rng = random.Random(seed)
        self._deliver = deliver
        self._queue: deque[tuple[float, T]] = deque()
        self._last_due = float("-inf")
        self._nonempty = asyncio.Event()

    def __len__(self) -> int:
        return len(self._queue)

    def put(self, item: T) -> float:
        """Queue ``item``; return when it will be delivered."""
        extra = self._rng.uniform(0.0, self._jitter_s) if self._jitter_s > 0 else 0.0
        due = max(self._last_due, self._clock.now() + self._delay_s + extra)
        self._last_due = due
        self._queue.append((due, item))
        self._nonempty.set()
        return due

    async def run(self) -> None:
        while True:
            if not self._queue:
                self._nonempty.clear()
                await self._nonempty.wait()
                continue
            await self._deliver_next()

    async def flush(self) -> None:
        while self._queue:
            await self._deliver_next()

    def drop(self) -> int:
        """Forget everything in flight; return how many items that was."""
        dropped = len(self._queue)
        self._queue.clear()
        return dropped

    async def _deliver_next(self) -> None:
        due, _ = self._queue[0]
        await self._clock.sleep_until(due)
        if not self._queue:  # dropped while asleep
            return
        _, item = self._queue.popleft()
        await self._deliver(item)
