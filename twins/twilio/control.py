"""What can cut short the TwiML Twilio is running on a call: a hang-up, or new TwiML.

While Twilio says, plays, dials or queues, three things can interrupt it: the caller hangs up,
a REST update hangs up (``Status=completed``), or a REST update replaces the call's TwiML
(``Twiml=`` / ``Url=``: the verb running stops at once and the new document runs). Every wait
of the TwiML runner goes through :meth:`LineControl.wait`, which returns early when that happens.

A hang-up is final; new TwiML is taken once (:meth:`LineControl.take`) by whoever runs it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import Enum

from twins.twilio.journey import HangupBy
from twins.twilio.twiml import Twiml


@dataclass(frozen=True)
class HangUpRequest:
    by: HangupBy


@dataclass(frozen=True)
class NewTwiml:
    twiml: Twiml
    url: str | None = None
    """Where it came from (``Url=``), for relative URLs in it; None for ``Twiml=``."""


Interruption = HangUpRequest | NewTwiml


class Wake(Enum):
    """Why :meth:`LineControl.wait` returned."""

    TIMEOUT = "timeout"
    EVENT = "event"
    INTERRUPTED = "interrupted"


class LineControl:
    """Interruptions of one call's TwiML, in the order that matters: a hang-up wins."""

    def __init__(self) -> None:
        self._interrupted = asyncio.Event()
        self._pending: Interruption | None = None

    @property
    def interrupted(self) -> bool:
        return self._interrupted.is_set()

    @property
    def hung_up(self) -> HangUpRequest | None:
        return self._pending if isinstance(self._pending, HangUpRequest) else None

    def hang_up(self, by: HangupBy) -> None:
        """End the call (the first hang-up counts)."""
        if self.hung_up is None:
            self._pending = HangUpRequest(by)
        self._interrupted.set()

    def replace(self, twiml: Twiml, url: str | None = None) -> None:
        """Run ``twiml`` instead of whatever runs now (ignored once the call is hung up)."""
        if self.hung_up is None:
            self._pending = NewTwiml(twiml, url)
            self._interrupted.set()

    def take(self) -> Interruption | None:
        """The pending interruption; new TwiML is handed out once, a hang-up stays."""
        pending = self._pending
        if isinstance(pending, NewTwiml):
            self._pending = None
            self._interrupted.clear()
        return pending

    async def wait(self, seconds: float | None, *events: asyncio.Event) -> Wake:
        """Wait ``seconds`` (None: without limit) or until one of ``events`` is set.

        An interruption wins over an event, an event over the time running out.
        """
        if self.interrupted:
            return Wake.INTERRUPTED
        if any(event.is_set() for event in events):
            return Wake.EVENT
        if seconds is not None and seconds <= 0:
            return Wake.TIMEOUT
        waiters = [asyncio.ensure_future(e.wait()) for e in (self._interrupted, *events)]
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        if self._interrupted.is_set():
            return Wake.INTERRUPTED
        if any(event.is_set() for event in events):
            return Wake.EVENT
        return Wake.TIMEOUT
