"""Writes one call's transcript in the background, in spoken order, without stalling its audio.

The call hands over each finished turn the moment it finishes, and the turn is numbered then
(``seq`` 1, 2, ... in the order the turns were spoken): a turn written late, after an outage,
still takes its place. A single task per call writes the call's start, its turns and its end,
one short transaction each, in that order.

A slow or failing database delays the transcript, never the audio, and loses nothing it can
keep:

- A write that fails stays at the head of the queue and is tried again after an exponential
  back-off (``RETRY_FIRST_S``, doubling up to ``RETRY_MAX_S``), or at once when the database is
  seen to return (``Backlog.wake_all``). The first failure of an outage is logged once for the
  whole process (``Backlog.failed``).
- Meanwhile turns wait in memory, at most ``MAX_BUFFERED_TURNS`` per call. Beyond that a new turn
  is dropped: counted (``/metrics``), logged once per call, and its number stays unused, so the
  gap shows in the transcript.
- When the call ends with writes still owed, `TranscriptWriter.run` returns all the same (the
  call is over for everyone but the database) and the rest goes on in the store's backlog, for
  up to ``RETRY_AFTER_END_S``; then what is left is logged and counted as abandoned. The
  server's shutdown waits a short, bounded time for the backlog (``Backlog.drain``).

Every write may be repeated (see ``transcripts.store``), so a write that reached the database
although its commit was reported as failed is harmless to try again.

With an `EventSink` the same queue also publishes the call's live feed (``telephony.feed``):
each event right after the write it reports (the start, a turn, the end), so that a client
that sees a turn's event can read the turn; the agent's partial words and barge-ins in between.
The agent's partial words are gathered for ``PARTIAL_INTERVAL_S`` into one event (and merged
further while they wait behind a slow write), which bounds what a speaking call costs the
database; whatever is handed over next first releases the words gathered so far. Events are numbered
by the writer as they are handed over, so an event written again after an uncertain commit is
stored once.
"""

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from telephony.caller_turns import Utterance
from telephony.errors import StorageError
from telephony.playback import AgentTurnResult
from telephony.transcripts import CallInfo, EndReason, Speaker, TranscriptStore, TurnRecord
from telephony.transcripts.events import EventKind

logger = logging.getLogger(__name__)

RETRY_FIRST_S = 0.25
RETRY_MAX_S = 10.0
"""The back-off's ceiling: a writer retries at least this often during an outage (cheap: one
failed connection attempt, the only work that waits on it is this call's transcript)."""
RETRY_AFTER_END_S = 15 * 60.0
"""How long a call's writes are retried after the call ended, before they are abandoned."""
PARTIAL_INTERVAL_S = 0.25
"""How long the agent's partial words are gathered into one live event (at most four a second
per speaking call: a model streams its transcription in many small pieces)."""
MAX_BUFFERED_TURNS = 1000
"""Turns of one call kept in memory while the database is away: a long call's worth (about
1 MB at most), so that a call of any length survives an outage that lasts as long as it does."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard a writer tries: the back-off, the bound after the call, the buffer's size."""

    first_s: float = RETRY_FIRST_S
    max_s: float = RETRY_MAX_S
    after_end_s: float = RETRY_AFTER_END_S
    max_buffered_turns: int = MAX_BUFFERED_TURNS

    def delays(self) -> Iterator[float]:
        """The waits before each retry of one write: ``first_s``, doubling up to ``max_s``."""
        delay = self.first_s
        while True:
            yield delay
            delay = min(delay * 2, self.max_s)


class EventSink(Protocol):
    """Where a call's live events go (``telephony.feed.Feed``)."""

    async def publish(
        self, call_sid: str, kind: EventKind, data: dict[str, Any], *, seq: int | None = None
    ) -> None:
        """Store and announce the call's event number ``seq`` (stored once, however often it
        is published); raise `StorageError` if the database failed."""
        ...


@dataclass(frozen=True, slots=True)
class _Turn:
    seq: int
    record: TurnRecord


@dataclass(frozen=True, slots=True)
class _End:
    reason: EndReason
    at: datetime


@dataclass(frozen=True, slots=True)
class _Event:
    seq: int
    kind: EventKind
    data: dict[str, Any]


@dataclass(slots=True)
class _Partial:
    """The agent's words not yet published (fragments merged while they wait)."""

    seq: int
    text: str


_Item = CallInfo | _Turn | _End | _Event | _Partial


class TranscriptWriter:
    """The ordered write queue of one call's transcript."""

    def __init__(
        self,
        store: TranscriptStore,
        call_sid: str,
        *,
        policy: RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        events: EventSink | None = None,
        first_seq: int = 1,
    ) -> None:
        """``first_seq``: the number of the first turn (above 1 when the call comes back to
        the agent after a transfer, with turns stored already)."""
        self._store = store
        self._events = events
        self._backlog = store.backlog
        self._call_sid = call_sid
        self._policy = policy or RetryPolicy()
        self._clock = clock
        self._items: deque[_Item] = deque()
        self._turns_waiting = 0
        self._seq = first_seq - 1
        self._event_seq = 0
        self._held = ""
        """The agent's partial words gathered for the next event."""
        self._release: asyncio.TimerHandle | None = None
        self._dropped = 0
        self._ended = False
        self._arrived = asyncio.Event()
        """Set when there is something new to write, or the call ended."""
        self._nudge = asyncio.Event()
        """Cuts a back-off short: set when the call ends, or when the database returns."""

    def start(self, info: CallInfo) -> None:
        self._put(info)
        self._event(
            EventKind.CALL_STARTED,
            {
                "agent": info.agent,
                "direction": info.direction,
                "started_at": info.started_at.isoformat(),
            },
        )

    def turn(self, record: TurnRecord) -> int:
        """Hand over a finished turn; returns the number it was given (its place in the call)."""
        self._seq += 1
        if self._turns_waiting >= self._policy.max_buffered_turns:
            self._drop()
        else:
            self._turns_waiting += 1
            self._put(_Turn(self._seq, record))
            shown = self._store.privacy.turn(record)  # as stored: redacted when set so
            self._event(EventKind.TURN, {"seq": self._seq, **shown.model_dump(mode="json")})
        return self._seq

    def caller_turn(self, said: Utterance) -> None:
        """What the caller said, as the model transcribed it."""
        self.turn(
            TurnRecord(
                speaker=Speaker.CALLER, text=said.text, start_ms=said.start_ms, end_ms=said.end_ms
            )
        )

    def agent_turn(self, result: AgentTurnResult) -> None:
        """What the agent said, and what of it the caller heard."""
        self.turn(
            TurnRecord(
                speaker=Speaker.AGENT,
                text=result.text,
                heard_text=result.heard_text,
                interrupted=result.interrupted,
                start_ms=result.start_ms,
                end_ms=max(result.end_ms, result.start_ms),
            )
        )

    def agent_partial(self, fragment: str) -> None:
        """More of what the agent is generating, for the live feed only (not stored as a turn).

        Not with redaction on: a card number read out spans fragments, and no piece of it alone
        looks like one; the turn's event, redacted whole, follows when the turn ends.
        """
        if self._events is None or self._ended or not fragment:
            return
        if self._store.privacy.redact_text is not None:
            return
        self._held += fragment
        if self._release is None:
            loop = asyncio.get_running_loop()
            self._release = loop.call_later(PARTIAL_INTERVAL_S, self._release_partial)

    def _release_partial(self) -> None:
        """Queue the partial words gathered so far (merged into a partial still waiting at
        the tail of the queue, unless that one may be in flight)."""
        if self._release is not None:
            self._release.cancel()
            self._release = None
        if not self._held or self._ended:
            return
        text, self._held = self._held, ""
        last = self._items[-1] if len(self._items) > 1 else None  # the head may be in flight
        if isinstance(last, _Partial):
            last.text += text
            return
        self._event_seq += 1
        self._items.append(_Partial(self._event_seq, text))
        self._arrived.set()

    def barge_in(self) -> None:
        """The caller talked over the agent and its audio was cleared (live feed only)."""
        self._event(EventKind.BARGE_IN, {})

    def end(self, reason: EndReason) -> None:
        """Record the end of the call; what is handed over after it is not written."""
        if self._ended:
            return
        at = datetime.now(UTC)
        if reason is EndReason.TRANSFERRED:
            self._event(EventKind.TRANSFER, {})
        self._put(_End(reason, at))
        self._event(EventKind.CALL_ENDED, {"end_reason": reason, "ended_at": at.isoformat()})
        self._ended = True
        self._nudge.set()

    @property
    def pending(self) -> int:
        """Writes not done yet (the call's start and end count one each)."""
        return len(self._items)

    async def run(self) -> None:
        """Write until the call has ended and, if the database allows, everything is written.

        Returns once the call has ended even when writes are still owed: those go on in the
        store's backlog (see the module docstring), so that the call's task group is not held
        up by an outage.
        """
        delays = self._policy.delays()
        while True:
            if not self._items:
                if self._ended:
                    return
                self._arrived.clear()
                await self._arrived.wait()
            elif await self._write_first():
                delays = self._policy.delays()
            elif self._ended:
                break
            else:
                await self._backlog.pause(next(delays), self._nudge)
                self._nudge.clear()
        logger.warning(
            "call %s: ended with %d transcript writes owed to the database; retrying them for "
            "up to %.0f s",
            self._call_sid,
            self.pending,
            self._policy.after_end_s,
        )
        deadline = self._clock() + self._policy.after_end_s
        self._backlog.adopt(
            f"transcript of call {self._call_sid}", self._catch_up(delays, deadline)
        )

    async def _catch_up(self, delays: Iterator[float], deadline: float) -> None:
        """Retry what the ended call still owes until it is written or ``deadline`` passes."""
        try:
            while self._items:
                if await self._write_first():
                    delays = self._policy.delays()
                    continue
                remaining = deadline - self._clock()
                if remaining <= 0:
                    self._abandon(f"retried for {self._policy.after_end_s:.0f} s")
                    return
                await self._backlog.pause(min(next(delays), remaining), self._nudge)
                self._nudge.clear()
        except asyncio.CancelledError:
            self._abandon("the server stopped")
            raise
        logger.info("call %s: transcript written in full after the outage", self._call_sid)

    async def _write_first(self) -> bool:
        """Write the oldest item; False, with the item kept, if the database failed."""
        item = self._items[0]
        try:
            if isinstance(item, CallInfo):
                await self._store.start_call(item)
            elif isinstance(item, _Turn):
                await self._store.add_turn(self._call_sid, item.record, seq=item.seq)
            elif isinstance(item, _End):
                await self._store.end_call(self._call_sid, item.reason, item.at)
            elif isinstance(item, _Event):
                await self._publish(item.seq, item.kind, item.data)
            else:
                await self._publish(item.seq, EventKind.AGENT_PARTIAL, {"text": item.text})
        except StorageError:
            self._backlog.failed(f"call {self._call_sid}: transcript write")
            return False
        self._items.popleft()
        if isinstance(item, _Turn):
            self._turns_waiting -= 1
        self._backlog.succeeded()
        return True

    async def _publish(self, seq: int, kind: EventKind, data: dict[str, Any]) -> None:
        assert self._events is not None
        await self._events.publish(self._call_sid, kind, data, seq=seq)

    def _event(self, kind: EventKind, data: dict[str, Any]) -> None:
        if self._events is not None and not self._ended:
            self._event_seq += 1
            self._put(_Event(self._event_seq, kind, data))

    def _put(self, item: _Item) -> None:
        if self._ended:
            logger.warning("call %s: transcript handed over after the call ended", self._call_sid)
            return
        self._release_partial()  # the words the agent said before this come first
        self._items.append(item)
        self._arrived.set()

    def _drop(self) -> None:
        self._dropped += 1
        self._backlog.dropped()
        if self._dropped == 1:
            logger.error(
                "call %s: %d turns wait for the database, the most a call keeps; turn %d and "
                "the next ones are dropped (and counted) while that lasts",
                self._call_sid,
                self._turns_waiting,
                self._seq,
            )

    def _abandon(self, why: str) -> None:
        start = any(isinstance(item, CallInfo) for item in self._items)
        end = any(isinstance(item, _End) for item in self._items)
        self._backlog.abandoned(self._turns_waiting)
        logger.error(
            "call %s: transcript left incomplete (%s): %d turns%s%s not written",
            self._call_sid,
            why,
            self._turns_waiting,
            ", the call's start" if start else "",
            ", the call's end" if end else "",
        )
        self._items.clear()
        self._turns_waiting = 0
