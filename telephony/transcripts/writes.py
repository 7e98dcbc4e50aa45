"""The call path's small write transactions, each in one trip off the event loop.

Through SQLAlchemy's asyncio layer on aiosqlite, each step of a transaction (taking a
connection, every statement, every fetch, the commit, giving the connection back) is a trip to
the driver's thread and back, with the event loop woken for each: a live event's one-statement
transaction costs about 0.9 ms of CPU that way, most of it the trips. Every turn and every live
event of every call is such a transaction (a call on which the agent speaks stores four events a
second), so on a SQLite file they run whole on one thread of their own, on a connection of its
own to the same file: one trip, about 0.3 ms (``bench/writes.py``).

On PostgreSQL, and on an in-memory SQLite database (which another connection would not see),
they run on the async engine as every other query does (``AsyncConnection.run_sync``).

A transaction is written once, as a plain function of a SQLAlchemy ``Connection``, and runs the
same either way; a failing database raises what it raises through the async engine.
"""

import asyncio
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from telephony.transcripts.engine import create_sync_engine, shares_a_file

T = TypeVar("T")
Work = Callable[[Connection], T]

_writes: "weakref.WeakKeyDictionary[Engine, Writes]" = weakref.WeakKeyDictionary()


class Writes:
    """Runs write transactions for one database (see the module docstring)."""

    def __init__(self, engine: AsyncEngine, *, own_thread: bool = True) -> None:
        """``own_thread=False`` runs every transaction on the engine (to compare the two)."""
        # Weakly: the engine's writer lives as long as the engine, and must not keep it alive.
        self._engine = weakref.ref(engine)
        self._thread: ThreadPoolExecutor | None = None
        self._sync: Engine | None = None
        if own_thread and shares_a_file(engine.url):
            self._sync = create_sync_engine(engine.url)
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writes")

    @property
    def on_own_thread(self) -> bool:
        """Whether transactions run on the writer's thread (a SQLite file), not the engine."""
        return self._thread is not None

    async def run(self, work: "Work[T]") -> T:
        """Run ``work`` in a transaction, committed when it returns, rolled back if it raises."""
        thread, sync = self._thread, self._sync
        if thread is None or sync is None:
            engine = self._engine()
            if engine is None:
                raise RuntimeError("the engine of these writes was disposed of and collected")
            async with engine.begin() as connection:
                return await connection.run_sync(work)
        return await asyncio.get_running_loop().run_in_executor(thread, _in_thread, sync, work)

    async def close(self) -> None:
        """Close the writer's connection (on its own thread, where SQLite wants it closed).
        Transactions that come later, during a shutdown, run on the engine."""
        thread, sync = self._thread, self._sync
        if thread is None or sync is None:
            return
        self._thread = self._sync = None
        await asyncio.get_running_loop().run_in_executor(thread, sync.dispose)
        thread.shutdown(wait=False)


def _in_thread(sync: Engine, work: "Work[T]") -> T:
    with sync.begin() as connection:
        return work(connection)


def writes_for(engine: AsyncEngine) -> Writes:
    """The one `Writes` of ``engine``, made on first use: everything writing through one
    engine shares its writer's thread and connection."""
    found = _writes.get(engine.sync_engine)
    if found is None:
        found = _writes[engine.sync_engine] = Writes(engine)
    return found


async def close_writes(engine: AsyncEngine) -> None:
    """Close ``engine``'s writer, if it has one (before the engine is disposed of)."""
    found = _writes.pop(engine.sync_engine, None)
    if found is not None:
        await found.close()
