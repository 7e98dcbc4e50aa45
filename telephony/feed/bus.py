"""`Feed`: publishes each call's live events and wakes whoever reads them, in any process.

Readers do not receive events from the bus: they are woken, and read what is new from the
database (``EventLog.read(after=...)``). So the database is the one order of events, a wake
that comes twice or late costs one query, and a reader never sees a gap or a duplicate.

Wakes reach a reader of this process directly when this process published the event; events
of other processes arrive, on PostgreSQL, as notifications on ``CHANNEL`` to one listening
connection per process (asyncpg's own, outside SQLAlchemy's pool). If that connection is lost,
it is opened again with a back-off and every reader is woken (they catch up by reading). On
SQLite there is one process, and the direct wake is all there is.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
from sqlalchemy.engine import URL

from telephony.background import alongside
from telephony.transcripts.events import CHANNEL, LIST_KINDS, EventKind, EventLog

logger = logging.getLogger(__name__)

LISTEN_RETRY_FIRST_S = 0.5
LISTEN_RETRY_MAX_S = 10.0
_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)
LISTEN_CHECK_S = 5.0
"""How often the listening connection is checked (a lost one is noticed within this)."""


class Feed:
    """Publishes events (`publish`) and hands out wake-ups to readers (`watch`)."""

    def __init__(self, log: EventLog, listen_url: URL | None = None) -> None:
        """``listen_url``: the PostgreSQL database to listen on; None on SQLite."""
        self.log = log
        self._listen_url = listen_url
        self._calls: dict[str, set[asyncio.Event]] = {}
        self._list: set[asyncio.Event] = set()
        self.published = 0

    async def publish(
        self, call_sid: str, kind: EventKind, data: dict[str, Any], *, seq: int | None = None
    ) -> None:
        """Store the event (once: see `EventLog.append`), then wake this process's readers of
        it (`StorageError` if it could not be stored)."""
        if await self.log.append(call_sid, kind, data, seq=seq) is not None:
            self.published += 1
        self._wake(call_sid, kind)

    @contextlib.contextmanager
    def watch(self, call_sid: str | None) -> Iterator[asyncio.Event]:
        """An event set whenever something new may have happened: to the call ``call_sid``, or
        to the call list (calls started or ended) when None. Register before the first read."""
        wake = asyncio.Event()
        watchers = self._list if call_sid is None else self._calls.setdefault(call_sid, set())
        watchers.add(wake)
        try:
            yield wake
        finally:
            watchers.discard(wake)
            if call_sid is not None and not watchers:
                self._calls.pop(call_sid, None)

    @property
    def readers(self) -> int:
        return len(self._list) + sum(len(watchers) for watchers in self._calls.values())

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Listen for the other processes' events while the block runs (PostgreSQL only)."""
        if self._listen_url is None:
            yield
            return
        async with alongside(self._listen(self._listen_url), name="call event listener"):
            yield

    def _wake(self, call_sid: str, kind: EventKind) -> None:
        for wake in self._calls.get(call_sid, ()):
            wake.set()
        if kind in LIST_KINDS:
            for wake in self._list:
                wake.set()

    def _wake_all(self) -> None:
        for wake in self._list:
            wake.set()
        for watchers in self._calls.values():
            for wake in watchers:
                wake.set()

    def _notified(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            _event_id, kind, call_sid = payload.split(" ", 2)
            self._wake(call_sid, EventKind(kind))
        except ValueError:
            logger.warning("ignored a malformed call event notification")

    async def _listen(self, url: URL) -> None:
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        delay = LISTEN_RETRY_FIRST_S
        failed = False
        while True:
            try:
                connection = await asyncpg.connect(dsn, timeout=10)
            except _ERRORS:
                if not failed:
                    logger.exception("cannot listen for call events; retrying")
                failed = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, LISTEN_RETRY_MAX_S)
                continue
            try:
                await connection.add_listener(CHANNEL, self._notified)
                if failed:
                    logger.warning("listening for call events again")
                failed = False
                delay = LISTEN_RETRY_FIRST_S
                self._wake_all()  # whatever happened while nobody listened
                while not connection.is_closed():
                    await asyncio.sleep(LISTEN_CHECK_S)
                    with contextlib.suppress(*_ERRORS):
                        await connection.execute("SELECT 1")
                logger.warning("lost the connection that listens for call events; reconnecting")
                failed = True
            except _ERRORS:
                logger.exception("listening for call events failed; reconnecting")
                failed = True
            finally:
                with contextlib.suppress(*_ERRORS):
                    await connection.close(timeout=2)
            await asyncio.sleep(delay)
