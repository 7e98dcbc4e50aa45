"""Retention: calls older than ``RETENTION_DAYS`` are erased by the server itself.

Every ``RETENTION_EVERY_S`` each server process erases (through `Erasure`, so every registered
part goes too) the calls that happened, or ended, before the cutoff, in batches. Processes
sharing a database may overlap: erasing is idempotent, and a call some instance still carries
is never expired. A call that cannot be erased is logged and left for the next round, which
also retries a round that failed as a whole.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from telephony.background import alongside
from telephony.erasure import Erasure
from telephony.errors import StorageError
from telephony.transcripts import CallCatalog

logger = logging.getLogger(__name__)

RETENTION_EVERY_S = 600.0
"""How often expired calls are looked for."""
BATCH = 100
"""Calls erased per query; a round goes on until none is left."""


class Retention:
    """Erases the calls older than ``max_age``."""

    def __init__(
        self,
        catalog: CallCatalog,
        erasure: Erasure,
        max_age: timedelta,
        *,
        every_s: float = RETENTION_EVERY_S,
    ) -> None:
        self._catalog = catalog
        self._erasure = erasure
        self.max_age = max_age
        self._every_s = every_s

    async def erase_expired(self, now: datetime | None = None) -> int:
        """One round: erase every call older than ``max_age`` at ``now``; how many were."""
        cutoff = (now or datetime.now(UTC)) - self.max_age
        erased = 0
        while True:
            expired = await self._catalog.expired(cutoff, limit=BATCH)
            done = 0
            for call_sid in expired:
                try:
                    done += await self._erasure.erase(call_sid)
                except StorageError:  # this call stays; the others go on
                    logger.warning("retention: could not erase call %s", call_sid, exc_info=True)
            erased += done
            if len(expired) < BATCH or not done:
                break
        if erased:
            logger.info("retention: erased %d calls older than %s", erased, self.max_age)
        return erased

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run a round every ``every_s`` (the first right away) while the block runs."""
        async with alongside(self._keep(), name="retention"):
            yield

    async def _keep(self) -> None:
        while True:
            try:
                await self.erase_expired()
            except StorageError:
                logger.warning("retention: this round failed; the next one retries", exc_info=True)
            await asyncio.sleep(self._every_s)
