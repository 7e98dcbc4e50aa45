"""Each call's live feed, kept in the database: `EventLog` appends events and reads them back.

Events are numbered by one sequence for the whole deployment (``call_events.id``), in the order
they become visible: on PostgreSQL every append takes the same advisory transaction lock before
it draws its id, so a later id is never committed before an earlier one (SQLite has a single
writer anyway). A reader that has seen event N has therefore seen every event before N: a
client resuming after N (``Last-Event-ID``) misses nothing and gets nothing twice.

On PostgreSQL an append also notifies the channel ``CHANNEL`` (delivered when it commits) with
``"<id> <kind> <call_sid>"``, so that every process sharing the database learns of it
(``telephony.feed``).
"""

import functools
import json
import logging
from collections.abc import Collection
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import Connection, Integer, String, Text, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from telephony.errors import StorageError
from telephony.transcripts.engine import DATABASE_ERRORS
from telephony.transcripts.tables import CallEventRow, CallRow
from telephony.transcripts.writes import Writes, writes_for

logger = logging.getLogger(__name__)

CHANNEL = "call_events"
"""The PostgreSQL notification channel of new events."""

_APPEND_LOCK = 0x7E1E_E7E7
"""PostgreSQL advisory lock key held by each append until it commits (see the module doc)."""


class EventKind(StrEnum):
    """What happened. The first two also make up the feed of the call list."""

    CALL_STARTED = "call_started"
    CALL_ENDED = "call_ended"
    TURN = "turn"
    """A finished turn, as stored (``seq``, ``speaker``, ``text``, ``heard_text``...)."""
    AGENT_PARTIAL = "agent_partial"
    """More words of what the agent is generating (``text``, to append to what came before)."""
    BARGE_IN = "barge_in"
    """The caller talked over the agent and its audio was cleared."""
    TRANSFER = "transfer"
    """The call left the agent for a person or a queue."""


LIST_KINDS = frozenset({EventKind.CALL_STARTED, EventKind.CALL_ENDED})
"""The events of the call list's feed."""


class CallEvent(BaseModel):
    """One stored event."""

    model_config = ConfigDict(frozen=True)

    id: int
    call_sid: str
    kind: EventKind
    data: dict[str, Any] = Field(repr=False)
    created_at: AwareDatetime


class EventLog:
    """Appends to and reads from ``call_events``. Raises `StorageError` when the database fails."""

    def __init__(self, engine: AsyncEngine, writes: Writes | None = None) -> None:
        """Appends go through ``writes``, by default the engine's own (`writes_for`)."""
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._writes = writes or writes_for(engine)
        # Built once: SQLAlchemy then keys and compiles it once, not on every event.
        insert = postgresql.insert if self._postgres else sqlite.insert
        self._insert = (
            insert(CallEventRow)
            .from_select(
                ["call_id", "seq", "call_sid", "kind", "data"],
                select(
                    CallRow.id,
                    bindparam("seq", type_=Integer),
                    bindparam("sid", type_=String),
                    bindparam("kind", type_=String),
                    bindparam("data", type_=Text),
                ).where(CallRow.call_sid == bindparam("sid", type_=String)),
            )
            .on_conflict_do_nothing(index_elements=[CallEventRow.call_id, CallEventRow.seq])
            .returning(CallEventRow.id)
        )

    async def append(
        self, call_sid: str, kind: EventKind, data: dict[str, Any], *, seq: int | None = None
    ) -> int | None:
        """Store one event of a stored call and return its id.

        ``seq`` numbers the call's events (from 1, given by its one writer): an event already
        stored under its number is not stored again, and None is returned. Without it the
        event takes the number after the call's last one.
        """
        payload = json.dumps(data, separators=(",", ":"))
        try:
            return await self._writes.run(
                functools.partial(
                    self._append, call_sid=call_sid, kind=kind, payload=payload, seq=seq
                )
            )
        except DATABASE_ERRORS as exc:
            raise StorageError(f"could not add a {kind} event to call {call_sid}") from exc

    def _append(
        self,
        connection: Connection,
        *,
        call_sid: str,
        kind: EventKind,
        payload: str,
        seq: int | None,
    ) -> int | None:
        if self._postgres:
            connection.execute(select(func.pg_advisory_xact_lock(_APPEND_LOCK)))
        if seq is None:
            last = connection.scalar(
                select(func.max(CallEventRow.seq)).where(CallEventRow.call_sid == call_sid)
            )
            seq = (last or 0) + 1
        # One statement finds the call and inserts (this runs four times a second for every
        # call the agent is speaking on); no row back: not stored, find out why.
        event_id: int | None = connection.execute(
            self._insert, {"seq": seq, "sid": call_sid, "kind": kind.value, "data": payload}
        ).scalar_one_or_none()
        if event_id is None:
            if connection.scalar(select(CallRow.id).where(CallRow.call_sid == call_sid)) is None:
                raise StorageError(f"no call {call_sid} to add an event to")
            return None  # stored before: its commit was not known to have succeeded
        if self._postgres:
            notice = f"{event_id} {kind.value} {call_sid}"
            connection.execute(select(func.pg_notify(CHANNEL, notice)))
        return event_id

    async def read(
        self,
        *,
        after: int,
        call_sid: str | None = None,
        kinds: Collection[EventKind] | None = None,
        limit: int = 500,
    ) -> list[CallEvent]:
        """Events with an id above ``after``, oldest first: of one call, of some kinds, or all."""
        query = select(CallEventRow).where(CallEventRow.id > after)
        if call_sid is not None:
            query = query.where(CallEventRow.call_sid == call_sid)
        if kinds is not None:
            query = query.where(CallEventRow.kind.in_([kind.value for kind in kinds]))
        query = query.order_by(CallEventRow.id).limit(limit)
        try:
            async with self._engine.connect() as connection:
                rows = (await connection.execute(query)).all()
        except DATABASE_ERRORS as exc:
            raise StorageError("could not read call events") from exc
        return [
            CallEvent(
                id=row.id,
                call_sid=row.call_sid,
                kind=EventKind(row.kind),
                data=json.loads(row.data),
                created_at=row.created_at,
            )
            for row in rows
        ]

    async def last_id(self) -> int:
        """The newest event's id (0 if none): where a feed that wants no history starts."""
        try:
            async with self._engine.connect() as connection:
                newest = await connection.scalar(select(func.max(CallEventRow.id)))
        except DATABASE_ERRORS as exc:
            raise StorageError("could not read call events") from exc
        return int(newest or 0)

    async def call_known(self, call_sid: str) -> bool:
        """Whether the call is stored (its feed may still be empty)."""
        try:
            async with self._engine.connect() as connection:
                found = await connection.scalar(
                    select(CallRow.id).where(CallRow.call_sid == call_sid)
                )
        except DATABASE_ERRORS as exc:
            raise StorageError(f"could not look up call {call_sid}") from exc
        return found is not None
