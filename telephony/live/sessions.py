"""ADK sessions for phone calls: persist what outlives the call, keep the rest in memory, and
carry on in memory when the database fails.

In live mode ADK hands every finished event to the session service: per turn the usage numbers,
both finished transcriptions, ``turn_complete``, ``interrupted`` and each resumption handle. On
a database each of those is a transaction of several statements (about 4.6 ms of CPU on SQLite,
in a burst at every turn end, on the call path). A call's session lives in one process for the
length of the call (the session id is the CallSid) and its words are already in the transcript
store, so those events need no row. What does outlive the call is written as before: state
changes (what tools remember), content (the text cues, tool calls and tool results), transfers
and artifacts.

**A database outage does not stop calls.** The conversation lives in memory anyway (in the
model, and in ADK's session object for the call); the database only keeps it for later. So when
the database fails (SQLAlchemy's errors, or the driver's ``OSError``):

- `get_session` finds nothing, and `create_session` makes the session in memory: the call
  starts as usual. (What earlier calls stored in the user's state is not there this time.)
- `append_event` adds each event to the call's session in memory; the durable ones are kept,
  in order, to be written later.
- The first failure of an outage is logged once, with the CallSid (the session id); the first
  success afterwards, once.
- When the database answers again, a session kept in memory is written: created if need be,
  then its durable events in order, through ADK's own code, on a copy of the session that only
  this service uses (the call's own session object stays in memory to its end, so it never goes
  stale). That is tried on the call's next durable event (at most every ``PERSIST_RETRY_S``) and
  on every `flush` (the server calls it every few seconds and at shutdown): a call that ended
  during the outage is written too. A session kept in memory is forgotten
  ``DETACHED_IDLE_S`` after its last event, written or not (then with an error in the log).

Keeping an event in memory only goes past ADK's database service to its base class: where the
installed ADK does not allow that (``internals.verify``), every event is written, as ADK does,
and a database failure fails the call, as ADK does.
"""

import asyncio
import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from google.adk.events import Event
from google.adk.sessions import BaseSessionService, DatabaseSessionService, Session
from google.adk.sessions.base_session_service import GetSessionConfig
from sqlalchemy import DateTime, column, func, inspect, select, table, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from telephony.live import internals
from telephony.live.internals import Internals

logger = logging.getLogger(__name__)

DATABASE_ERRORS = (SQLAlchemyError, OSError)
"""What a failing database raises through SQLAlchemy (asyncpg lets socket errors through)."""
PERSIST_RETRY_S = 5.0
"""How often a call's own events retry writing its session kept in memory."""
DETACHED_IDLE_S = 4 * 3600.0
"""How long a session kept in memory is remembered after its last event."""


ADK_SESSIONS_TABLE = "sessions"
"""google-adk's table of sessions (``id``, ``app_name``, ``user_id``, ``update_time``): its
storage schema, read to find whose a session is (only ADK's ``delete_session`` removes one with
its events) and to count a caller's earlier sessions."""
_SESSIONS = table(
    ADK_SESSIONS_TABLE,
    column("app_name"),
    column("user_id"),
    column("update_time", DateTime()),
)


@dataclass(frozen=True, slots=True)
class EarlierSessions:
    """A user's sessions so far: how many, and when the last one was updated (UTC)."""

    count: int
    last_update: dt.datetime | None


@dataclass(slots=True)
class _Detached:
    """A call's session that lives in memory because the database failed."""

    session: Session
    """The call's own session object, the one ADK's runner holds."""
    in_database: bool
    """Whether the database has the session's row (it failed later, on an event)."""
    initial_state: dict[str, Any]
    last_used: float
    pending: list[Event] = field(default_factory=list)
    """Durable events not written yet, in order."""
    stored: Session | None = None
    """This service's own copy of the session as the database has it, once read or created."""
    retry_at: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


_Key = tuple[str, str, str]


class CallSessionService(DatabaseSessionService):
    """ADK's database session service, writing only the events that outlive a live call, and
    keeping sessions in memory while the database is away."""

    def __init__(
        self,
        *,
        internals: Internals,
        clock: Callable[[], float] = time.monotonic,
        redact: Callable[[str], str] | None = None,
        **kwargs: Any,
    ) -> None:
        """``redact``, when given, rewrites the text of every transcription before the event
        is kept (the transcript store's redaction policy: the session is stored too)."""
        super().__init__(**kwargs)  # ADK's arguments: db_url or db_engine, ...
        self._redact = redact
        self._in_memory_events = internals.session_events
        self._clock = clock
        self._detached: dict[_Key, _Detached] = {}
        self._down = False

    @property
    def kept_in_memory(self) -> int:
        """Sessions with durable events the database has not taken yet."""
        return sum(1 for detached in self._detached.values() if detached.pending)

    async def create_session(
        self,
        *,
        app_name: str,
        user_id: str,
        state: dict[str, Any] | None = None,
        session_id: str | None = None,
    ) -> Session:
        try:
            session = await super().create_session(
                app_name=app_name, user_id=user_id, state=state, session_id=session_id
            )
        except DATABASE_ERRORS:
            if not self._in_memory_events:
                raise
            self._failed(session_id)
            session = Session(
                id=session_id or uuid.uuid4().hex,
                app_name=app_name,
                user_id=user_id,
                state=dict(state or {}),
                last_update_time=time.time(),
            )
            self._detach(session, in_database=False, initial_state=dict(state or {}))
            return session
        self._succeeded()
        return session

    async def earlier_sessions(self, *, app_name: str, user_id: str) -> EarlierSessions:
        """How many sessions ``user_id`` has with ``app_name``, and when the last was updated.

        One aggregate query over ADK's table of sessions. ADK's ``list_sessions`` would load
        every one of them with its state: a caller who calls every day, or everyone whose
        number is withheld, has thousands, and each new call would read them all (measured: RSS
        climbing 0.05 MiB a call and call setup growing with it, in a soak whose calls all come
        from one number)."""
        await self.prepare_tables()
        query = select(func.count(), func.max(_SESSIONS.c.update_time)).where(
            _SESSIONS.c.app_name == app_name, _SESSIONS.c.user_id == user_id
        )
        async with self.db_engine.connect() as connection:
            count, last = (await connection.execute(query)).one()
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=dt.UTC)  # ADK stores UTC without a zone
        return EarlierSessions(count, last)

    async def get_session(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        config: GetSessionConfig | None = None,
    ) -> Session | None:
        detached = self._detached.get((app_name, user_id, session_id))
        if detached is not None:
            return detached.session
        try:
            found = await super().get_session(
                app_name=app_name, user_id=user_id, session_id=session_id, config=config
            )
        except DATABASE_ERRORS:
            if not self._in_memory_events:
                raise
            self._failed(session_id)
            return None  # the caller creates it, in memory
        self._succeeded()
        return found

    async def append_event(self, session: Session, event: Event) -> Event:
        if event.partial:
            return event  # ADK stores no partial event, in memory or in the database
        if self._redact is not None:
            event = redacted(event, self._redact)
        if not self._in_memory_events:
            return await super().append_event(session, event)
        detached = self._detached.get(_key(session))
        if detached is None:
            if not is_durable(event):
                # The live session still sees the event: it joins the in-memory session.
                return await internals.append_in_memory(self, session, event)
            try:
                written = await super().append_event(session, event)
            except DATABASE_ERRORS:
                self._failed(session.id)
                detached = self._detach(session, in_database=True, initial_state={})
            else:
                self._succeeded()
                return written
        kept = await internals.append_in_memory(self, session, event)
        detached.last_used = self._clock()
        if is_durable(kept):
            detached.pending.append(kept)
            if detached.retry_at <= self._clock():
                await self._persist(detached)
        return kept

    async def flush(self) -> None:
        """Write the sessions kept in memory through an outage, if the database is back; forget
        those idle for ``DETACHED_IDLE_S``. Never raises for the database."""
        now = self._clock()
        for detached in list(self._detached.values()):
            if detached.pending and not await self._persist(detached):
                break  # the database is still away: no use trying the others now
        for key, detached in list(self._detached.items()):
            if now - detached.last_used < DETACHED_IDLE_S:
                continue
            del self._detached[key]
            if detached.pending:
                logger.error(
                    "call %s: %d session events were never written (the database stayed away)",
                    detached.session.id,
                    len(detached.pending),
                )

    def _detach(
        self, session: Session, *, in_database: bool, initial_state: dict[str, Any]
    ) -> _Detached:
        detached = _Detached(session, in_database, initial_state, last_used=self._clock())
        self._detached[_key(session)] = detached
        return detached

    async def _persist(self, detached: _Detached) -> bool:
        """Write a detached session's pending events; False if the database failed."""
        session = detached.session
        async with detached.lock:
            try:
                stored = detached.stored
                if stored is None:
                    stored = await super().get_session(
                        app_name=session.app_name, user_id=session.user_id, session_id=session.id
                    )
                    if stored is None:
                        stored = await super().create_session(
                            app_name=session.app_name,
                            user_id=session.user_id,
                            state=detached.initial_state,
                            session_id=session.id,
                        )
                    detached.stored = stored
                while detached.pending:
                    event = detached.pending[0]
                    if not any(known.id == event.id for known in stored.events):
                        await super().append_event(stored, event)
                    detached.pending.pop(0)
            except DATABASE_ERRORS:
                detached.retry_at = self._clock() + PERSIST_RETRY_S
                self._failed(session.id)
                return False
        self._succeeded()
        return True

    def _failed(self, session_id: str | None) -> None:
        if self._down:
            logger.debug("call %s: the session database failed again", session_id, exc_info=True)
            return
        self._down = True
        logger.error(
            "call %s: the session database failed; sessions are kept in memory and written when "
            "it returns",
            session_id,
            exc_info=True,
        )

    def _succeeded(self) -> None:
        if self._down:
            self._down = False
            logger.warning("the session database is available again")


def _key(session: Session) -> _Key:
    return (session.app_name, session.user_id, session.id)


def is_durable(event: Event) -> bool:
    """Whether an event carries something a later reader of the session needs."""
    actions = event.actions
    if actions.state_delta or actions.artifact_delta or actions.requested_auth_configs:
        return True
    if actions.transfer_to_agent or actions.escalate:
        return True
    return bool(event.content and event.content.parts)


async def erase_sessions(service: BaseSessionService, engine: AsyncEngine, session_id: str) -> int:
    """Delete every ADK session with id ``session_id`` (a call's sessions are named by its
    CallSid), with its events; the number deleted."""
    async with engine.connect() as connection:
        if not await connection.run_sync(lambda sync: inspect(sync).has_table(ADK_SESSIONS_TABLE)):
            return 0
        owners = (
            await connection.execute(
                text(f"SELECT app_name, user_id FROM {ADK_SESSIONS_TABLE} WHERE id = :id"),
                {"id": session_id},
            )
        ).all()
    for app_name, user_id in owners:
        await service.delete_session(app_name=app_name, user_id=user_id, session_id=session_id)
    return len(owners)


def redacted(event: Event, redact: Callable[[str], str]) -> Event:
    """The event with the text it carries passed through ``redact``: its transcriptions (kept
    when ADK's in-memory path is unavailable) and the text parts of its content (the cues, among
    them the conversation a fresh session is seeded with). Tool calls' arguments and results
    are left as they are. A copy; the event itself is left to whoever else holds it."""
    changes: dict[str, Any] = {}
    for name in ("input_transcription", "output_transcription"):
        transcription = getattr(event, name)
        if transcription is not None and transcription.text:
            changes[name] = transcription.model_copy(update={"text": redact(transcription.text)})
    content = event.content
    if content is not None and content.parts and any(part.text for part in content.parts):
        parts = [
            part.model_copy(update={"text": redact(part.text)}) if part.text else part
            for part in content.parts
        ]
        changes["content"] = content.model_copy(update={"parts": parts})
    return event.model_copy(update=changes) if changes else event
