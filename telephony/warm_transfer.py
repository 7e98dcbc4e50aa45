"""Warm transfers: dial the person, brief them, join or return; one outcome per deployment.

The call's control (``call_control.py``) has already moved the caller into a conference room
with hold music (``twilio/warm_twiml.py``); the media stream has ended, the call and its ADK
session live on. From then on a ``WarmTransfer`` runs here, beside the call:

1. **The briefing** is written from the stored transcript (``briefing.py``: a text model,
   bounded in time, else a template).
2. **The person is dialled** with ``calls.create`` (https://www.twilio.com/docs/voice/api/
   call-resource#create-a-call-resource): the Participants API (.../conference-participant-
   resource) would put them straight into the room, with no way to speak to them first; a call
   of their own runs ``<Say>briefing</Say><Redirect>join</Redirect>``, and its status callback
   tells how it ended (busy, no-answer, failed, canceled, completed).
3. **One outcome**, whichever of Twilio's requests comes first, on whichever instance
   (``settle`` is the only place it is decided, and it decides once):

   - the person's ``<Redirect>`` after the briefing: **joined** (they enter the room, the
     conference starts, the caller hears them);
   - the person's call ended first (busy: a decline reads as busy, no-answer, failed, or
     completed: they hung up during the briefing): the caller is taken out of the room by a
     REST update to ``/twilio/warm/{sid}/back``, which returns them to the agent in the same
     ADK session (``routes/returning.py``);
   - the caller left the room (``participant-leave``) first: the person's call is cancelled
     and the call ends as the caller's hang-up (not ``transferred``);
   - nothing within ``ring timeout + BRIEFING_MAX_S``: treated as no-answer.

Each outcome is a system turn in the transcript and a ``telephony_transfers_total`` count.

**Across instances.** Behind a load balancer, Twilio's requests about a transfer reach any
instance, so no stickiness is needed: the transfer's facts (caller, target, origin, the
person's call, the outcome) are in the shared database (``transcripts/warm.py``), and the
outcome is decided there by one conditional update. Whichever instance's request wins does the
follow-up (the turn, the count, ending the person's call, returning the caller over REST: all
stateless given the row); the others do nothing. The instance that started the transfer keeps
its ``WarmTransfer`` only to dial and to wait: it learns an outcome decided elsewhere by reading
the row every ``WATCH_S`` and stops, and its timeout goes through the same decision.

**When the database fails** while deciding, the instance that holds the transfer decides in its
own memory (logged once per outage) and does the follow-up; an instance that does not hold it
only logs. A 5xx would not help: as we read Twilio's connection overrides, a status callback
is retried by default only when the connection failed, not on a 5xx (not verified against the
service), and a 5xx to the person's ``join`` is an application error on their line. So the
fallback is the behaviour of one process, and the starting instance's timeout still returns the
caller. Its limit: while
the database is away, the starting instance cannot learn what another one saw (a person who
joined there is taken out with the caller at the timeout).
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from telephony.briefing import BriefingWriter, facts_from
from telephony.errors import StorageError
from telephony.transcripts import EndReason, Speaker, Transcript, TranscriptStore, TurnRecord
from telephony.transcripts.warm import SharedTransfer, WarmLedger
from telephony.twilio.rest import CallAlreadyEnded, RestClient, RestError
from telephony.twilio.warm_twiml import person_briefed
from telephony.warm_state import (
    PERSON_ENDED,
    Known,
    Outcome,
    WarmTransfer,
    warm_url,
)

__all__ = ["WarmTransfers", "note_turn"]

logger = logging.getLogger(__name__)

BRIEFING_MAX_S = 90.0
"""How long after the ring timeout the person may take to hear the briefing and join."""
TRANSCRIPT_WAIT_S = 3.0
"""How long the briefing waits for the end of the caller's stream to be stored (its turns are
complete then)."""
POLL_S = 0.05
WATCH_S = 0.5
"""How often the instance that started a transfer reads whether another one decided it."""
FORGET_AFTER_S = 3600.0
"""A settled transfer is kept this long for Twilio's late requests (the person's last status
callback, the caller leaving the room at the end of the conversation)."""


class WarmTransfers:
    """Warm transfers: those this process started, and the shared ledger of all of them (see
    the module docstring)."""

    def __init__(
        self,
        rest: RestClient | None,
        store: TranscriptStore,
        briefings: BriefingWriter,
        *,
        on_outcome: Callable[[str, str], None] = lambda _kind, _outcome: None,
        ledger: WarmLedger | None = None,
    ) -> None:
        self._rest = rest
        self._store = store
        self._briefings = briefings
        self._on_outcome = on_outcome
        self._ledger = ledger or WarmLedger(store.engine)
        self._live: dict[str, WarmTransfer] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def lookup(self, call_sid: str, target: str, transfer_id: str | None) -> Known | None:
        """The transfer a request of Twilio's is about: this process's own, else the shared
        facts (None if unknown, or about another call or target)."""
        local = self._live.get(call_sid)
        if (
            local is not None
            and local.target == target
            and transfer_id in (None, local.transfer_id)
        ):
            return local
        if transfer_id is None:
            return None
        try:
            found = await self._ledger.find(transfer_id)
        except StorageError:
            logger.exception("call %s: could not read a warm transfer", call_sid)
            return None
        if found is None or (found.call_sid, found.target) != (call_sid, target):
            return None
        return found

    def begin(self, transfer: WarmTransfer, to_the_room: Callable[[], Awaitable[bool]]) -> None:
        """Move the caller into the room (``to_the_room``: False if that did not happen), then
        brief and dial the person, beside the call."""
        self._forget_old()
        self._live[transfer.call_sid] = transfer
        task = asyncio.get_running_loop().create_task(self._run(transfer, to_the_room))
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    async def aclose(self) -> None:
        """The server stops: transfers still ringing are left to Twilio's own timeouts."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- what Twilio's requests report (routes/warm.py) ----------------------------------------

    async def person_joined(self, transfer: Known) -> bool:
        """The person heard the briefing and asks to join; False if the outcome was another."""
        return await self.settle(transfer, Outcome.JOINED)

    async def person_ended(self, transfer: Known, status: str) -> None:
        """The person's call ended with ``status`` (its final ``CallStatus``)."""
        outcome = PERSON_ENDED.get(status)
        if outcome is not None:
            await self.settle(transfer, outcome, person_gone=True)

    async def caller_left(self, transfer: Known) -> None:
        """The caller left the room: hung up while waiting (or, once joined, at the end)."""
        if await self.settle(transfer, Outcome.CALLER_LEFT):
            return
        current = await self._current(transfer)
        if current.outcome == Outcome.JOINED:
            await self._end_person(current)

    async def settle(self, transfer: Known, outcome: Outcome, *, person_gone: bool = False) -> bool:
        """Decide the transfer's outcome, once across the deployment: True for the request
        that decided it, which then does what the outcome asks. ``person_gone``: the person's
        call has ended (no need to end it)."""
        local = transfer if isinstance(transfer, WarmTransfer) else self._local(transfer)
        if local is not None:
            if local.outcome is not None:
                return False
            local.outcome = outcome  # no await before this line: one request here goes on
        shared = transfer.shared if isinstance(transfer, WarmTransfer) else transfer
        decided = await self._decide(shared, outcome, held=local is not None)
        if decided is None:  # another instance's request decided first
            if local is not None:
                self._decided_elsewhere(local, (await self._current(local)).outcome)
            return False
        if local is not None:
            local.settled.set()
            if decided.person_sid is None and local.person_sid is not None:
                decided = local.shared
        logger.info(
            "call %s: warm transfer to target %s: %s", decided.call_sid, decided.target, outcome
        )
        self._on_outcome("warm", str(outcome))
        await note_turn(
            self._store, decided.call_sid, f"Warm transfer to {decided.target}: {outcome}."
        )
        if outcome is Outcome.CALLER_LEFT:
            await self._caller_hung_up(decided.call_sid)
            await self._end_person(decided)
        if outcome.returns_caller:
            if not person_gone:
                await self._end_person(decided)
            await self.return_caller(decided.call_sid, decided.origin, decided.target, outcome)
        return True

    async def return_caller(self, call_sid: str, origin: str, target: str, outcome: str) -> None:
        """Take the caller out of the room, back to the agent (``/back`` answers the stream)."""
        if self._rest is None:
            return
        url = warm_url(origin, call_sid, "back", target=target, outcome=outcome)
        try:
            await self._rest.update_call(call_sid, url=url)
        except CallAlreadyEnded:
            logger.info("call %s: gone before it could return to the agent", call_sid)
        except RestError as exc:
            logger.error(
                "call %s: could not return the caller to the agent (%s)", call_sid, exc.code
            )

    # -- the shared decision --------------------------------------------------------------------

    async def _decide(
        self, transfer: SharedTransfer, outcome: Outcome, *, held: bool
    ) -> SharedTransfer | None:
        """The shared transfer if this request decided ``outcome``, else None. Without the
        database, the decision of this process if it ``held`` the transfer (and claimed it:
        see ``settle`` and the module docstring), else none."""
        try:
            decided = await self._ledger.decide(transfer, str(outcome), datetime.now(UTC))
        except StorageError:
            self._database_failed(transfer.call_sid)
            return transfer if held else None
        self._store.backlog.succeeded()
        return decided

    async def _current(self, transfer: Known) -> SharedTransfer:
        """The transfer as stored (as known here if the database does not answer)."""
        known = transfer.shared if isinstance(transfer, WarmTransfer) else transfer
        try:
            found = await self._ledger.find(known.transfer_id)
        except StorageError:
            self._database_failed(known.call_sid)
            return known
        return found or known

    async def _learn(self, transfer: WarmTransfer) -> bool:
        """Whether the transfer was decided (here, or by another instance: then noted here)."""
        if transfer.settled.is_set():
            return True
        try:
            decided = await self._ledger.outcome(transfer.transfer_id)
        except StorageError:
            self._database_failed(transfer.call_sid)
            return False
        if decided is None or transfer.settled.is_set():
            return transfer.settled.is_set()
        self._decided_elsewhere(transfer, decided)
        return True

    def _decided_elsewhere(self, transfer: WarmTransfer, outcome: str | None) -> None:
        if outcome in set(Outcome):
            transfer.outcome = Outcome(outcome)
        transfer.settled.set()
        logger.info("call %s: warm transfer decided by another instance", transfer.call_sid)

    def _local(self, transfer: SharedTransfer) -> WarmTransfer | None:
        held = self._live.get(transfer.call_sid)
        return held if held is not None and held.transfer_id == transfer.transfer_id else None

    def _database_failed(self, call_sid: str) -> None:
        """Logged once per outage for the whole process, with the transcripts' (one database)."""
        self._store.backlog.failed(f"call {call_sid}: a warm transfer's shared record")

    # -- the work -------------------------------------------------------------------------------

    async def _run(
        self, transfer: WarmTransfer, to_the_room: Callable[[], Awaitable[bool]]
    ) -> None:
        assert self._rest is not None
        try:
            await self._ledger.open(transfer.shared, transfer.started_at)
        except StorageError:
            self._database_failed(transfer.call_sid)
        if not await to_the_room():
            if self._live.get(transfer.call_sid) is transfer:
                del self._live[transfer.call_sid]
            return
        try:
            await self._brief_and_dial(transfer)
        except Exception:
            # The caller is on hold music: whatever failed, they go back to the agent.
            logger.exception("call %s: the warm transfer failed; returning", transfer.call_sid)
            await self.settle(transfer, Outcome.FAILED)

    async def _brief_and_dial(self, transfer: WarmTransfer) -> None:
        assert self._rest is not None
        transcript = await self._transcript(transfer.call_sid)
        facts = facts_from(
            transcript,
            target=transfer.target,
            reason=transfer.reason,
            business=transfer.route.business_name,
            caller_number=transfer.caller_number,
        )
        briefing = await self._briefings.write(facts, call_sid=transfer.call_sid)
        transfer.briefing = briefing.text
        logger.info("call %s: warm transfer briefing by the %s", transfer.call_sid, briefing.source)
        if await self._learn(transfer):  # the caller left while the briefing was written
            return
        destination = transfer.destination
        try:
            transfer.person_sid = await self._rest.create_call(
                to=destination.address,
                from_=transfer.caller_id,
                twiml=person_briefed(briefing.text, join_url=transfer.url("join")),
                timeout=destination.timeout_s,
                status_callback=transfer.url("person"),
                status_callback_event=["completed"],
                status_callback_method="POST",
            )
        except RestError as exc:
            logger.warning(
                "call %s: Twilio refused to dial the warm transfer (%s)",
                transfer.call_sid,
                exc.code,
            )
            await self.settle(transfer, Outcome.FAILED)
            return
        await self._dialled(transfer, transfer.person_sid)
        if transfer.caller_gone:  # left while the call was being created
            await self._end_person(transfer.shared)
            return
        if not await self._wait(transfer, destination.timeout_s + BRIEFING_MAX_S):
            logger.warning(
                "call %s: no word of the warm transfer's person; returning", transfer.call_sid
            )
            await self.settle(transfer, Outcome.NO_ANSWER)

    async def _dialled(self, transfer: WarmTransfer, person_sid: str) -> None:
        """Share the person's call; learn an outcome decided meanwhile (the caller left)."""
        try:
            decided = await self._ledger.dialled(transfer.transfer_id, person_sid)
        except StorageError:
            self._database_failed(transfer.call_sid)
            return
        if decided is not None and not transfer.settled.is_set():
            self._decided_elsewhere(transfer, decided)

    async def _wait(self, transfer: WarmTransfer, timeout_s: float) -> bool:
        """Wait for the outcome, decided by this process or another; False at the timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while (left := deadline - loop.time()) > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(WATCH_S, left)):
                    await transfer.settled.wait()
            if await self._learn(transfer):
                return True
        return transfer.settled.is_set()

    async def _end_person(self, transfer: SharedTransfer) -> None:
        """Hang up the person's call, ringing (``canceled``) or answered (``completed``; Twilio
        cancels only calls that ring, and leaves the others as they are)."""
        if self._rest is None or transfer.person_sid is None:
            return
        for status in ("canceled", "completed"):
            try:
                await self._rest.update_call(transfer.person_sid, status=status)
            except CallAlreadyEnded:
                return
            except RestError as exc:
                logger.warning(
                    "call %s: could not end the person's call (%s)", transfer.call_sid, exc.code
                )

    async def _caller_hung_up(self, call_sid: str) -> None:
        """The call ended as the caller's hang-up, not as a transfer: nobody took it."""
        try:
            if await self._store.reopen_call(call_sid):
                await self._store.end_call(call_sid, EndReason.CALLER_HUNG_UP, datetime.now(UTC))
        except StorageError:
            logger.exception("call %s: could not record the caller's hang-up", call_sid)

    async def _transcript(self, call_sid: str) -> Transcript | None:
        """The caller's transcript once the end of their stream is stored (all turns in)."""
        stored: Transcript | None = None
        try:
            async with asyncio.timeout(TRANSCRIPT_WAIT_S):
                while True:
                    stored = await self._store.transcript(call_sid)
                    if stored is not None and stored.call.ended_at is not None:
                        return stored
                    await asyncio.sleep(POLL_S)
        except TimeoutError:
            return stored
        except StorageError:
            logger.exception("call %s: no transcript for the briefing", call_sid)
            return None

    def _forget_old(self) -> None:
        """Transfers settled long ago: late requests about them no longer matter."""
        now = datetime.now(UTC)
        for call_sid, old in list(self._live.items()):
            if old.settled.is_set() and (now - old.started_at).total_seconds() > FORGET_AFTER_S:
                del self._live[call_sid]

    def _finished(self, task: "asyncio.Task[None]") -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            logger.error("a warm transfer failed", exc_info=error)


async def note_turn(store: TranscriptStore, call_sid: str, text: str) -> None:
    """A system turn after the call's stream ended, timed from the call's start like the others."""
    try:
        stored = await store.transcript(call_sid)
        started = stored.call.started_at if stored is not None else None
        at_ms = int((datetime.now(UTC) - started).total_seconds() * 1000) if started else 0
        await store.add_turn(
            call_sid,
            TurnRecord(
                speaker=Speaker.SYSTEM, text=text, start_ms=max(0, at_ms), end_ms=max(0, at_ms)
            ),
        )
    except StorageError:
        logger.exception("call %s: could not store a transfer's outcome", call_sid)
