"""The transcript store: every write is one short transaction, made when its event happens.

Status callbacks and the media stream may reach a call in any order, and concurrently: both
write with an upsert on ``call_sid``, so whichever comes first creates the row and neither
overwrites what only the other one knows.

The call path's writes can be repeated safely, so that a writer may retry one whose outcome it
could not learn (an outage, a connection lost at commit): a start is an upsert, a turn given
its number is stored once under it, and the first end counts.

Each store is one server instance (``instance_id``): the calls whose start it records are
marked as carried by it until they end, so that calls left open by a crash can be told from
calls another live instance is carrying (see ``instances``).
"""

import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from telephony.errors import StorageError
from telephony.transcripts import schema
from telephony.transcripts.backlog import Backlog
from telephony.transcripts.engine import DATABASE_ERRORS, create_engine
from telephony.transcripts.instances import new_instance_id
from telephony.transcripts.privacy import Privacy
from telephony.transcripts.sqlite_file import SqliteFile
from telephony.transcripts.tables import Base, CallCarrierRow, CallRow, TurnRow
from telephony.transcripts.values import (
    Call,
    CallDirection,
    CallInfo,
    CallStatus,
    EndReason,
    Transcript,
    Turn,
    TurnRecord,
)
from telephony.transcripts.writes import close_writes, writes_for

logger = logging.getLogger(__name__)

_SUPPORTED_DIALECTS = ("sqlite", "postgresql")

_STATUS_RANK = {
    CallStatus.QUEUED: 0,
    CallStatus.INITIATED: 1,
    CallStatus.RINGING: 2,
    CallStatus.IN_PROGRESS: 3,
} | {status: 4 for status in CallStatus if status.is_final}
"""How far along a call each status is; breaks ties between callbacks with the same timestamp."""


class TranscriptStore:
    """Calls and their turns, on SQLite or PostgreSQL.

    Every method raises `StorageError` when the database fails (the library error is its
    ``__cause__``) or when it names a call the store does not have.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        owns_engine: bool = False,
        instance_id: str | None = None,
        privacy: Privacy | None = None,
    ) -> None:
        """Use ``engine`` (see `create_engine`); `close` disposes of it only if ``owns_engine``.
        The store is the server instance ``instance_id``, a fresh one if not given. What it
        writes of personal data follows ``privacy`` (by default: everything as given)."""
        self.privacy = privacy or Privacy()
        if engine.dialect.name not in _SUPPORTED_DIALECTS:
            raise ValueError(f"unsupported database {engine.dialect.name!r}")
        self._engine = engine
        self._owns_engine = owns_engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.instance_id = instance_id or new_instance_id()
        self.backlog = Backlog()
        """What this process's writers still owe the database (see ``backlog``)."""
        self._file = SqliteFile.of(engine.url)
        self._writes = writes_for(engine)
        # The turn's statements, built once (SQLAlchemy keys and compiles them once).
        self._count_turn = (
            update(CallRow)
            .where(CallRow.call_sid == bindparam("sid"))
            .values(turn_count=CallRow.turn_count + 1)
            .returning(CallRow.id, CallRow.turn_count)
        )
        to_seq = bindparam("seq", type_=Integer)
        self._count_to = (
            update(CallRow)
            .where(CallRow.call_sid == bindparam("sid"))
            .values(
                turn_count=case((CallRow.turn_count < to_seq, to_seq), else_=CallRow.turn_count)
            )
            .returning(CallRow.id)
        )
        self._insert_turn = insert(TurnRow)
        self._insert_numbered_turn = self._dialect_insert(TurnRow).on_conflict_do_nothing(
            index_elements=[TurnRow.call_id, TurnRow.seq]
        )

    @classmethod
    def from_url(
        cls, url: str | URL, *, instance_id: str | None = None, **engine_options: Any
    ) -> Self:
        """A store with an engine of its own, disposed of by `close`."""
        return cls(create_engine(url, **engine_options), owns_engine=True, instance_id=instance_id)

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    async def create_schema(self) -> None:
        """Create the tables that do not exist yet; existing tables are left as they are. A new
        database is marked as at the newest schema revision (``schema.create_missing``)."""
        await schema.create_missing(self._engine)
        self.schema_ready()
        logger.debug("transcript tables ready")

    def schema_ready(self) -> None:
        """Note that the tables are in place (the SQLite file in use is the one to watch)."""
        if self._file is not None:
            self._file.remember()

    def problem(self) -> str | None:
        """Why what is written cannot be kept (the SQLite file was deleted or replaced), for an
        operator: no path, no personal data. None when nothing is known to be wrong. A database
        that is only unreachable is no problem here: writes wait for it (``backlog``)."""
        return self._file.check() if self._file is not None else None

    async def start_call(self, info: CallInfo) -> None:
        """Record that the media stream of a call started; calling it again changes nothing.

        A row made earlier by a status callback keeps its status; the stream's values win over
        the callback's for the other fields, except that the first ``started_at`` stays.
        """
        from_number, to_number = self.privacy.numbers_of(
            info.direction, info.from_number, info.to_number
        )
        values = info.model_dump() | {"from_number": from_number, "to_number": to_number}
        stmt = self._insert().values(**values)
        new = stmt.excluded
        stmt = stmt.on_conflict_do_update(
            index_elements=[CallRow.call_sid],
            set_={
                CallRow.stream_sid: func.coalesce(new.stream_sid, CallRow.stream_sid),
                CallRow.account_sid: func.coalesce(new.account_sid, CallRow.account_sid),
                CallRow.from_number: func.coalesce(new.from_number, CallRow.from_number),
                CallRow.to_number: func.coalesce(new.to_number, CallRow.to_number),
                CallRow.agent: func.coalesce(new.agent, CallRow.agent),
                CallRow.route: func.coalesce(new.route, CallRow.route),
                CallRow.direction: func.coalesce(new.direction, CallRow.direction),
                CallRow.started_at: func.coalesce(CallRow.started_at, new.started_at),
            },
        )
        carrier = self._dialect_insert(CallCarrierRow).values(
            call_sid=info.call_sid, instance_id=self.instance_id
        )
        carrier = carrier.on_conflict_do_update(
            index_elements=[CallCarrierRow.call_sid],
            set_={CallCarrierRow.instance_id: carrier.excluded.instance_id},
        )
        async with self._transaction(f"start call {info.call_sid}") as session:
            await session.execute(stmt)
            await session.execute(carrier)
        logger.debug("call %s: stream started", info.call_sid)

    async def record_status(
        self,
        call_sid: str,
        status: CallStatus,
        at: datetime,
        *,
        account_sid: str | None = None,
        from_number: str | None = None,
        to_number: str | None = None,
        direction: CallDirection | None = None,
    ) -> None:
        """Record a Twilio status callback, creating the call if it is new.

        Callbacks can arrive late or out of order: a status older than the stored one (by ``at``,
        then by how far along the call it is) is ignored. The other fields only fill gaps; what
        the stream recorded stays.
        """
        _require_aware(at)
        from_number, to_number = self.privacy.numbers_of(direction, from_number, to_number)
        stmt = self._insert().values(
            call_sid=call_sid,
            status=status,
            status_at=at,
            account_sid=account_sid,
            from_number=from_number,
            to_number=to_number,
            direction=direction,
        )
        new = stmt.excluded
        stored_rank = case(_STATUS_RANK, value=CallRow.status, else_=-1)
        newer: ColumnElement[bool] = or_(
            CallRow.status_at.is_(None),
            new.status_at > CallRow.status_at,
            and_(new.status_at == CallRow.status_at, stored_rank <= _STATUS_RANK[status]),
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[CallRow.call_sid],
            set_={
                CallRow.status: case((newer, new.status), else_=CallRow.status),
                CallRow.status_at: case((newer, new.status_at), else_=CallRow.status_at),
                CallRow.account_sid: func.coalesce(CallRow.account_sid, new.account_sid),
                CallRow.from_number: func.coalesce(CallRow.from_number, new.from_number),
                CallRow.to_number: func.coalesce(CallRow.to_number, new.to_number),
                CallRow.direction: func.coalesce(CallRow.direction, new.direction),
            },
        )
        async with self._transaction(f"record status of call {call_sid}") as session:
            await session.execute(stmt)
        logger.debug("call %s: status %s", call_sid, status)

    async def add_turn(self, call_sid: str, turn: TurnRecord, *, seq: int | None = None) -> int:
        """Store a finished turn and return its ``seq``: 1 for the first turn of the call, then 2...

        The call path numbers its turns as they are spoken and passes ``seq``: the turn is stored
        under that number, whenever it is written; a turn already stored under it is left as it
        was (a repeated write). Without ``seq`` the turn gets the next number after every one
        used so far. Numbers come from a counter on the call row, bumped in the same
        transaction, so writers of one call queue on that row and never get the same number.
        Written with two Core statements rather than the ORM's unit of work: this runs for every
        turn of every call.
        """
        turn = self.privacy.turn(turn)
        if seq is not None and seq < 1:
            raise ValueError(f"turn numbers start at 1, not {seq}")
        values = turn.model_dump()
        try:
            seq = await self._writes.run(
                functools.partial(self._add_turn, call_sid=call_sid, values=values, seq=seq)
            )
        except DATABASE_ERRORS as exc:
            numbered = "a turn" if seq is None else f"turn {seq}"
            raise StorageError(f"could not add {numbered} to call {call_sid}") from exc
        logger.debug("call %s: turn %d stored (%s)", call_sid, seq, turn.speaker)
        return seq

    def _add_turn(
        self, connection: Connection, *, call_sid: str, values: dict[str, Any], seq: int | None
    ) -> int:
        """One turn's transaction: bump the call's counter (to ``seq``, or by one), then insert
        the turn under its number (once: a repeated write of a numbered turn changes nothing)."""
        if seq is None:
            counted = connection.execute(self._count_turn, {"sid": call_sid}).one_or_none()
            call_id, number = counted if counted is not None else (None, 0)
            insert_turn = self._insert_turn
        else:
            call_id = connection.execute(self._count_to, {"sid": call_sid, "seq": seq}).scalar()
            number, insert_turn = seq, self._insert_numbered_turn
        if call_id is None:
            raise StorageError(f"no call {call_sid} to add a turn to")
        connection.execute(insert_turn, {"call_id": call_id, "seq": number, **values})
        return number

    async def end_call(self, call_sid: str, reason: EndReason, ended_at: datetime) -> bool:
        """Record how a call ended. The first end counts: returns False if the call had ended.

        Except over a server-lost end, which was only presumed by another instance
        (``instances``): the carrier's own end replaces it. The call's carrier is forgotten.
        """
        _require_aware(ended_at)
        open_or_presumed: ColumnElement[bool] = CallRow.ended_at.is_(None)
        if reason is not EndReason.SERVER_LOST:
            open_or_presumed = or_(open_or_presumed, CallRow.end_reason == EndReason.SERVER_LOST)
        async with self._transaction(f"end call {call_sid}") as session:
            await session.execute(delete(CallCarrierRow).where(CallCarrierRow.call_sid == call_sid))
            ended = await session.execute(
                update(CallRow)
                .where(CallRow.call_sid == call_sid, open_or_presumed)
                .values(ended_at=ended_at, end_reason=reason)
                .returning(CallRow.id)
                .execution_options(synchronize_session=False)
            )
            if ended.first() is not None:
                logger.debug("call %s: ended (%s)", call_sid, reason)
                return True
            known = await session.scalar(select(CallRow.id).where(CallRow.call_sid == call_sid))
        if known is None:
            raise StorageError(f"no call {call_sid} to end")
        logger.debug("call %s: had already ended, %s not recorded", call_sid, reason)
        return False

    async def reopen_call(self, call_sid: str) -> bool:
        """A call that ended as transferred goes on (the transfer was not answered and the
        caller is back with the agent): its end is cleared. False if it had not ended so."""
        async with self._transaction(f"reopen call {call_sid}") as session:
            reopened = await session.execute(
                update(CallRow)
                .where(CallRow.call_sid == call_sid, CallRow.end_reason == EndReason.TRANSFERRED)
                .values(ended_at=None, end_reason=None)
                .returning(CallRow.id)
                .execution_options(synchronize_session=False)
            )
            return reopened.first() is not None

    async def transcript(self, call_sid: str) -> Transcript | None:
        """The call and its turns in ``seq`` order, or None if the store has no such call."""
        query = (
            select(CallRow).where(CallRow.call_sid == call_sid).options(selectinload(CallRow.turns))
        )
        async with self._transaction(f"read the transcript of call {call_sid}") as session:
            row = await session.scalar(query)
            if row is None:
                return None
            return Transcript(
                call=Call.model_validate(row),
                turns=tuple(Turn.model_validate(turn) for turn in row.turns),
            )

    async def close(self) -> None:
        """Dispose of the engine if this store created it (and of its writer's connection)."""
        if self._owns_engine:
            await close_writes(self._engine)
            await self._engine.dispose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def _dialect_insert(self, table: type[Base]) -> sqlite.Insert | postgresql.Insert:
        if self._engine.dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    def _insert(self) -> sqlite.Insert | postgresql.Insert:
        if self._engine.dialect.name == "postgresql":
            return postgresql.insert(CallRow)
        return sqlite.insert(CallRow)

    @asynccontextmanager
    async def _transaction(self, action: str) -> AsyncIterator[AsyncSession]:
        try:
            async with self._sessions.begin() as session:
                yield session
        except DATABASE_ERRORS as exc:
            raise StorageError(f"could not {action}") from exc


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("timestamps must be timezone-aware")
