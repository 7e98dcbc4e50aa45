"""Shutting a process down without cutting a call.

Twilio keeps a call on one WebSocket for its whole life, so a call cannot move to another
instance: a deploy must let the calls an instance carries finish there. When the drain begins
(``serve`` begins it on the first SIGTERM):

1. the process stops being ready (``GET /readyz`` answers 503, so a load balancer or Kubernetes
   sends it nothing new) and every new voice webhook is answered with the overflow;
2. live calls go on, and so do calls answered just before, whose stream has yet to start, for
   up to ``DRAIN_BUDGET_S``;
3. at the end of the budget each remaining call is wound up: the agent says a short line and
   the caller goes to the fallback after ``</Connect>`` instead of hearing the line go dead;
4. the drain is finished when no call is left (or the wind-up's grace has passed): the server
   may exit.

The drain watches the process's calls four times a second rather than being told of each end:
one loop, no hook in the call path, and an exit a quarter of a second after the last call.
"""

import asyncio
import logging
import time
from collections.abc import Callable, Mapping

from telephony.admission import Admission
from telephony.call import Call

logger = logging.getLogger(__name__)

POLL_S = 0.25
REPORT_INTERVAL_S = 60.0
"""While draining, how many calls are left is logged this often."""
WIND_UP_GRACE_S = 10.0
"""Seconds the agent's closing line has to be generated and played at the end of the budget."""
WIND_UP_MARGIN_S = 5.0
"""Seconds past the grace a wound-up call may take to close before the drain gives up on it."""


class Drain:
    """One process's drain: ``begin`` it once; ``run`` carries it out; ``finished`` waits."""

    def __init__(
        self,
        admission: Admission,
        calls: Mapping[str, Call],
        budget_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._admission = admission
        self._calls = calls
        self.budget_s = budget_s
        self._clock = clock
        self._begun = asyncio.Event()
        self._finished = asyncio.Event()

    @property
    def begun(self) -> bool:
        return self._begun.is_set()

    @property
    def is_finished(self) -> bool:
        return self._finished.is_set()

    def begin(self) -> None:
        """Stop taking calls and let the live ones finish (idempotent)."""
        if self.begun:
            return
        self._admission.draining = True
        self._begun.set()
        logger.warning(
            "draining: not ready, new calls get the overflow; %d live call(s) have %.0f s",
            len(self._calls),
            self.budget_s,
        )

    async def finished(self) -> None:
        """Return once the drain has begun and no call is left."""
        await self._finished.wait()

    async def run(self) -> None:
        """Wait for the drain to begin, then carry it out (runs for the app's whole life)."""
        await self._begun.wait()
        await self._until_idle(self._clock() + self.budget_s)
        if self._calls:
            calls = list(self._calls.values())
            logger.warning("drain budget spent: winding up %d call(s)", len(calls))
            async with asyncio.TaskGroup() as group:
                for call in calls:
                    group.create_task(call.wind_up(WIND_UP_GRACE_S))
            # Each was told to end: its stream closes and it leaves the calls.
            await self._until_idle(self._clock() + WIND_UP_MARGIN_S)
            if self._calls:
                logger.error("drain: %d call(s) still open after the wind-up", len(self._calls))
        logger.info("drain finished")
        self._finished.set()

    async def _until_idle(self, deadline: float) -> None:
        """Return once no call is live or about to start, or at ``deadline``; meanwhile, say
        now and then how many are left."""
        reported = self._clock()
        while self._busy() and self._clock() < deadline:
            if self._clock() - reported >= REPORT_INTERVAL_S:
                reported = self._clock()
                logger.info(
                    "draining: %d live call(s), %d about to start, %.0f s left",
                    len(self._calls),
                    self._admission.pending,
                    deadline - reported,
                )
            await asyncio.sleep(POLL_S)

    def _busy(self) -> bool:
        return bool(self._calls) or self._admission.pending > 0
