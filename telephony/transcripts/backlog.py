"""What the database owes this process while it is unavailable: one `Backlog` per store.

Calls go on without the database; what they hand over waits in their writers (see
``telephony.transcript_writer``). The writers of every call share this object
(``TranscriptStore.backlog``) for what concerns them all:

- **The outage, logged once.** The first failed write of an outage is logged as an error, with
  its traceback; later failures only at DEBUG. The first write that succeeds afterwards ends the
  outage: it is logged with its length and wakes every writer waiting to retry, so that a
  returning database is caught up at once, not at each writer's next back-off step.
- **Writes that outlive their call.** A call that ends during an outage hands what it still owes
  to `adopt`, which keeps the task (nothing is fire-and-forget) until it is done, and `drain`
  lets the server's shutdown wait a bounded time for them, then cut them short.
- **What was lost, counted.** Turns dropped because a call's buffer was full and turns abandoned
  (retries ran out, or the server stopped) are counted here for ``GET /metrics``.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from telephony.background import finish

logger = logging.getLogger(__name__)


class Backlog:
    """The shared state of one process's writes to one database."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._down_since: float | None = None
        self._sleepers: set[asyncio.Event] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.turns_dropped = 0
        """Turns never written because their call's buffer was full."""
        self.turns_abandoned = 0
        """Turns never written because the retries ran out or the server stopped first."""

    @property
    def unavailable(self) -> bool:
        """Whether the last write failed (an outage is under way)."""
        return self._down_since is not None

    @property
    def calls_pending(self) -> int:
        """Calls that have ended with writes still owed."""
        return len(self._tasks)

    def failed(self, what: str) -> None:
        """``what`` (e.g. ``"call CA...: transcript write"``) failed; call it where the error was
        caught, so that the first failure of an outage is logged with its traceback."""
        if self._down_since is None:
            self._down_since = self._clock()
            logger.error(
                "%s failed: the database is unavailable; calls go on, and what they say is kept "
                "in memory and written when it returns",
                what,
                exc_info=True,
            )
        else:
            logger.debug("%s failed again", what, exc_info=True)

    def succeeded(self) -> None:
        """A write succeeded: if an outage was under way, it is over; wake every writer."""
        if self._down_since is None:
            return
        lasted = self._clock() - self._down_since
        self._down_since = None
        logger.warning("the database is available again after %.1f s; catching up", lasted)
        self.wake_all()

    def wake_all(self) -> None:
        """End every `pause` now: retry at once."""
        for wake in self._sleepers:
            wake.set()

    async def pause(self, delay_s: float, wake: asyncio.Event) -> None:
        """Wait ``delay_s`` before a retry, or less: until ``wake`` is set, by its owner or by
        `wake_all`. The caller clears ``wake`` when it needs to."""
        self._sleepers.add(wake)
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay_s):
                    await wake.wait()
        finally:
            self._sleepers.discard(wake)

    def dropped(self, turns: int = 1) -> None:
        self.turns_dropped += turns

    def abandoned(self, turns: int) -> None:
        self.turns_abandoned += turns

    def adopt(self, name: str, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` (what an ended call still owes) until it finishes or `drain` stops it.

        ``work`` handles the database's errors itself; anything else it raises is a bug, logged
        here with its traceback.
        """
        task = asyncio.create_task(_logged(name, work), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout_s: float) -> int:
        """Wake every writer, wait up to ``timeout_s`` for the adopted work, then cancel what is
        left (each says what it could not write). Returns how many calls were cut short."""
        tasks = set(self._tasks)
        if not tasks:
            return 0
        logger.info("waiting up to %.0f s for %d calls' transcripts", timeout_s, len(tasks))
        self.wake_all()
        left = await finish(tasks, timeout_s)
        if left:
            logger.error("stopped with %d calls' transcripts not written in full", left)
        return left


async def _logged(name: str, work: Coroutine[Any, Any, None]) -> None:
    try:
        await work
    except Exception:
        logger.exception("%s failed", name)
