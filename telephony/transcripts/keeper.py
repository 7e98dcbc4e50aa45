"""The server's standing duties towards the database it shares: `StorageKeeper`.

Every ``KEEP_EVERY_S``, one round (`StorageKeeper.tend`):

- renew this instance's lease, then close the calls of instances whose lease ran out
  (``instances``);
- report how that went to the store's backlog: a renewal that succeeds during an outage ends
  it and wakes every writer waiting to retry, so the database is caught up as soon as it is
  back, even by writers deep in their back-off;
- check that the SQLite file is still in place (``sqlite_file``; logs once when it goes);
- run ``after_each``: the app passes the ADK session service's ``flush``, which writes the
  sessions kept in memory through an outage.

At start-up (`StorageKeeper.start`) the lease is taken and the calls a crash left open are
closed, before the first call is taken. At shutdown (the exit of `StorageKeeper.running`) the
backlog gets ``SHUTDOWN_WAIT_S`` to finish, ``after_each`` runs once more, and the lease is
dropped.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

from telephony.background import alongside
from telephony.errors import StorageError
from telephony.transcripts.instances import LEASE_S, InstanceLease
from telephony.transcripts.store import TranscriptStore

logger = logging.getLogger(__name__)

KEEP_EVERY_S = 10.0
"""How often the lease is renewed (6 times per lease) and the rest checked."""
SHUTDOWN_WAIT_S = 5.0
"""How long the server's shutdown waits for writes still owed to the database."""


class StorageKeeper:
    """Keeps one store's instance alive in the database, and the database's state known."""

    def __init__(
        self,
        store: TranscriptStore,
        *,
        after_each: Callable[[], Awaitable[None]] | None = None,
        every_s: float = KEEP_EVERY_S,
        lease_s: float = LEASE_S,
        shutdown_wait_s: float = SHUTDOWN_WAIT_S,
    ) -> None:
        self._store = store
        self._lease = InstanceLease(store.engine, store.instance_id, lease_s=lease_s)
        self._after_each = after_each
        self._every_s = every_s
        self._shutdown_wait_s = shutdown_wait_s

    async def start(self) -> None:
        """Take the lease and close the calls of dead instances; `StorageError` if the database
        fails (a server does not start without it)."""
        now = datetime.now(UTC)
        await self._lease.renew(now)
        await self._lease.close_lost_calls(now)

    async def tend(self) -> None:
        """One round of duties (see the module docstring). Never raises for the database."""
        now = datetime.now(UTC)
        try:
            await self._lease.renew(now)
        except StorageError:
            self._store.backlog.failed("renewing this server's lease")
        else:
            self._store.backlog.succeeded()
            try:
                await self._lease.close_lost_calls(now)
            except StorageError:
                logger.warning("could not close the calls of lost instances", exc_info=True)
        self._store.problem()
        if self._after_each is not None:
            await self._after_each()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Tend every ``every_s`` while the block runs; then let the backlog finish (bounded)
        and drop the lease."""
        try:
            async with alongside(self._keep(), name="storage keeper"):
                yield
        finally:
            await self._store.backlog.drain(self._shutdown_wait_s)
            if self._after_each is not None:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._shutdown_wait_s):
                        await self._after_each()
            try:
                await self._lease.retire()
            except StorageError:
                logger.warning("could not drop this server's lease; it runs out by itself")

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self._every_s)
            try:
                await self.tend()
            except Exception:  # a bug: log it and carry on, these duties matter
                logger.exception("the storage keeper's round failed")
