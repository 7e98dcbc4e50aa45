"""The account's shared live state: conference rooms and queues, and the people in them.

Calls meet here: a caller sent into conference "X" by TwiML and a person the REST API dials into
"X" are in the same :class:`~twins.twilio.conference.Conference`. A :class:`TwilioRestSim` owns
one switchboard and gives it to the calls attached to it; a call on its own makes its own.

People who are not simulated calls (a :class:`~twins.twilio.callees.Joiner`, a participant the
REST API dials) are background tasks here, driven by the callee scripts: they ring, join, talk
and leave. :meth:`Switchboard.aclose` ends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from twins.twilio.callees import Callees, ConferencePlan, Joiner, Party
from twins.twilio.conference import Conference, Participant
from twins.twilio.ids import new_call_sid, new_conference_sid, new_queue_sid

logger = logging.getLogger(__name__)

PARTICIPANT_TIMEOUT_S = 60
"""How long a participant the REST API dials may ring (``Timeout``, default 60 s)."""


async def wait_event(event: asyncio.Event, seconds: float | None) -> bool:
    """Wait for ``event`` up to ``seconds``; whether it was set."""
    # Not ``asyncio.wait_for``: on Python 3.11 it can swallow a cancellation.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
    return event.is_set()


@dataclass
class QueueState:
    """A call queue (``<Enqueue>``): who waits in it, in order."""

    sid: str
    name: str
    members: list[str] = field(default_factory=list)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    waits_s: list[float] = field(default_factory=list)
    """How long each caller who left the queue had waited."""

    @property
    def average_wait_s(self) -> float:
        return sum(self.waits_s) / len(self.waits_s) if self.waits_s else 0.0


@dataclass(frozen=True)
class DialIn:
    """A person the REST API dials into a conference (``participants.create``)."""

    to: str
    from_: str
    label: str | None = None
    start_conference_on_enter: bool = True
    end_conference_on_exit: bool = False
    muted: bool = False
    timeout_s: float = PARTICIPANT_TIMEOUT_S


class Switchboard:
    """Conferences and queues of one account."""

    def __init__(self, *, callees: Callees | None = None) -> None:
        self.callees = callees or Callees()
        """Who answers when the REST API dials someone into a conference."""
        self.conferences: dict[str, Conference] = {}
        self.queues: dict[str, QueueState] = {}
        self.dial_ins: dict[str, DialIn] = {}
        """Participants the REST API dialled, by their CallSid."""
        self._tasks: set[asyncio.Task[None]] = set()
        self._opened = asyncio.Event()
        self._entered: dict[str, asyncio.Event] = {}

    def conference(self, key: str) -> Conference | None:
        """A conference by SID, or the one of that friendly name not yet ended."""
        found = self.conferences.get(key)
        if found is not None:
            return found
        live = [c for c in self.conferences.values() if c.friendly_name == key]
        return next((c for c in live if c.status != "completed"), live[-1] if live else None)

    def open_conference(self, name: str, account_sid: str) -> tuple[Conference, bool]:
        """The conference called ``name`` that has not ended, created if there is none."""
        found = self.conference(name)
        if found is not None and found.status != "completed" and found.friendly_name == name:
            return found, False
        room = Conference(new_conference_sid(), account_sid, name)
        self.conferences[room.sid] = room
        self._opened.set()
        logger.info("conference %s created", room.sid)
        return room, True

    async def wait_conference(self, name: str) -> Conference:
        """The conference called ``name`` that has not ended, once there is one."""
        while True:
            found = self.conference(name)
            if found is not None and found.status != "completed":
                return found
            self._opened.clear()
            await self._opened.wait()

    def entered(self, call_sid: str) -> None:
        """A simulated call entered a conference room (``<Dial><Conference>``)."""
        self._entered.setdefault(call_sid, asyncio.Event()).set()

    async def wait_entered(self, call_sid: str) -> None:
        """Until the simulated call ``call_sid`` has entered a conference room."""
        await self._entered.setdefault(call_sid, asyncio.Event()).wait()

    def queue(self, name: str) -> QueueState:
        if name not in self.queues:
            self.queues[name] = QueueState(new_queue_sid(), name)
        return self.queues[name]

    def start_joiners(self, room: Conference, plan: ConferencePlan) -> None:
        for joiner in plan.joiners:
            self._spawn(self._joiner(room, joiner))

    def dial_in(self, room: Conference, request: DialIn) -> Participant:
        """Dial ``request.to`` into ``room``: a participant that is ``queued`` now, rings, and
        joins if the callee script answers in time."""
        participant = Participant(
            new_call_sid(),
            label=request.label,
            start_conference_on_enter=request.start_conference_on_enter,
            end_conference_on_exit=request.end_conference_on_exit,
            muted=request.muted,
            status="queued",
        )
        room.add(participant)
        self.dial_ins[participant.call_sid] = request
        self._spawn(self._dialled(room, participant, self.callees.party(request.to), request))
        return participant

    async def aclose(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _joiner(self, room: Conference, joiner: Joiner) -> None:
        if await wait_event(room.ended, joiner.after_s):
            return
        participant = Participant(
            new_call_sid(),
            label=joiner.label,
            start_conference_on_enter=joiner.start_conference_on_enter,
            end_conference_on_exit=joiner.end_conference_on_exit,
        )
        room.join(participant)
        await self._stay(room, participant, joiner.stays_s)

    async def _dialled(
        self, room: Conference, participant: Participant, party: Party, request: DialIn
    ) -> None:
        participant.status = "ringing"
        answers = party.outcome == "answer" and party.after_s <= request.timeout_s
        ring_s = party.after_s if party.outcome != "no-answer" else request.timeout_s
        if await wait_event(participant.left, min(ring_s, request.timeout_s)):
            return  # removed, or the conference ended, while it rang
        if not answers or room.status == "completed":
            room.leave(participant.call_sid, "no-answer")
            return
        room.join(participant)
        await self._stay(room, participant, party.talk_s)

    @staticmethod
    async def _stay(room: Conference, participant: Participant, seconds: float) -> None:
        if not await wait_event(participant.left, seconds):
            room.leave(participant.call_sid, "hung-up")
