"""Session resumption: handles that restore a session on a new connection, and their updates.

A handle stays valid after use, as Gemini's do, until it expires: ``Resumption.handle_validity_s``
after it was issued or after its connection closed, whichever is later (real: 2 hours "after the
last session termination", ai.google.dev Live API session management). An expired or unknown
handle is refused at setup with 1007 (``closes.BAD_HANDLE``).
"""

import asyncio
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from twins.gemini_live import messages
from twins.gemini_live.brain import Memory
from twins.gemini_live.options import HANDLE_VALIDITY_S
from twins.gemini_live.steps import AfterFirstHandle, BeforeFirstHandle

if TYPE_CHECKING:
    from twins.gemini_live.session import Session

MAX_HANDLES = 10_000


@dataclass
class _Issued:
    memory: Memory
    valid_from: float


class HandleStore:
    """Handles issued by one emulator (the oldest are forgotten beyond ``limit``)."""

    def __init__(
        self,
        validity_s: float = HANDLE_VALIDITY_S,
        *,
        limit: int = MAX_HANDLES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._validity_s = validity_s
        self._limit = limit
        self._clock = clock
        self._states: dict[str, _Issued] = {}

    def issue(self, memory: Memory) -> str:
        """Remember a snapshot of ``memory`` under a new handle."""
        handle = secrets.token_urlsafe(32)
        self._states[handle] = _Issued(memory.snapshot(), self._clock())
        while len(self._states) > self._limit:
            del self._states[next(iter(self._states))]
        return handle

    def resume(self, handle: str) -> Memory | None:
        """The memory ``handle`` stands for (a fresh copy); None if unknown or expired."""
        issued = self._states.get(handle)
        if issued is None:
            return None
        if self._clock() - issued.valid_from > self._validity_s:
            del self._states[handle]
            return None
        return issued.memory.snapshot()

    def released(self, handles: Iterable[str]) -> None:
        """The connection that issued ``handles`` closed: their validity counts from now."""
        now = self._clock()
        for handle in handles:
            issued = self._states.get(handle)
            if issued is not None:
                issued.valid_from = now


class ResumptionUpdates:
    """Sends one session's ``sessionResumptionUpdate``s (only if its setup asked for them)."""

    def __init__(self, session: "Session") -> None:
        self._session = session
        self._unresumable_sent = False

    @property
    def _requested(self) -> bool:
        setup = self._session.setup
        return setup is not None and setup.resumption_requested

    async def busy(self) -> None:
        """The model started to generate or call tools: say it cannot be resumed now."""
        options = self._session.shared.config.resumption
        if self._requested and options.not_resumable_while_busy and not self._unresumable_sent:
            await self._send_unresumable()

    async def issue(self) -> bool:
        """Send a new handle (the script may act around the first); True when closing."""
        session = self._session
        if not self._requested:
            return False
        conn = session.conn
        script = session.shared.script
        first = not conn.handles_issued
        if first and await session.perform(script.take(BeforeFirstHandle(), session.index)):
            return True
        handle = session.shared.handles.issue(session.memory)
        conn.handles_issued.append(handle)
        self._unresumable_sent = False
        await session.send(messages.session_resumption_update(handle))
        session.shared.record.changed()
        return first and await session.perform(script.take(AfterFirstHandle(), session.index))

    async def periodically(self) -> None:
        """Every ``Resumption.update_interval_s``: a handle when idle, else word that there is
        none (when ``not_resumable_while_busy``)."""
        options = self._session.shared.config.resumption
        if not self._requested or options.update_interval_s is None:
            return
        while not self._session.closing:
            await asyncio.sleep(options.update_interval_s)
            if not self._session.turns.busy:
                if await self.issue():
                    return
            elif options.not_resumable_while_busy:
                await self._send_unresumable()

    async def _send_unresumable(self) -> None:
        session = self._session
        self._unresumable_sent = True
        session.conn.unresumable_updates += 1
        await session.send(messages.session_resumption_update(None))
        session.shared.record.changed()
