"""Finding stored calls: `CallCatalog` lists them (filters, text search, cursor pages), finds
the ones past retention, and erases one with everything the tables hold about it.

Pages are newest first by the call's row id, which grows as calls are created: a cursor says
"the calls created before this one", so calls created while a client pages through are never
shown twice nor make it skip any (they appear on a fresh first page).
"""

import base64
import binascii
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, exists, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from telephony.errors import StorageError
from telephony.transcripts.engine import DATABASE_ERRORS
from telephony.transcripts.tables import CallCarrierRow, CallRow, CallStreamRow, TurnRow
from telephony.transcripts.values import Call, CallDirection, CallSummary, EndReason

logger = logging.getLogger(__name__)

DEFAULT_PAGE = 50
MAX_PAGE = 200
_CURSOR_PREFIX = "c1:"


class BadCursorError(ValueError):
    """A cursor this catalog did not hand out."""


@dataclass(frozen=True, slots=True)
class CallFilter:
    """Which calls to list; every criterion given must hold. ``text`` is searched, without
    regard to case, in what was said and what was heard in the call's turns."""

    since: datetime | None = None
    until: datetime | None = None
    agent: str | None = None
    route: str | None = None
    direction: CallDirection | None = None
    end_reason: EndReason | None = None
    interrupted: bool | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True)
class CallPage:
    calls: tuple[CallSummary, ...]
    next_cursor: str | None
    """Where the next page starts; None on the last page."""


def encode_cursor(row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{row_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The row id a cursor stands for; `BadCursorError` for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadCursorError("malformed cursor") from exc
    if not raw.startswith(_CURSOR_PREFIX) or not raw[len(_CURSOR_PREFIX) :].isdigit():
        raise BadCursorError("malformed cursor")
    return int(raw[len(_CURSOR_PREFIX) :])


def call_time() -> ColumnElement[datetime | None]:
    """When a call happened: its stream's start, else its newest status (a call only status
    callbacks saw)."""
    return func.coalesce(CallRow.started_at, CallRow.status_at)


class CallCatalog:
    """Read and erase stored calls. Database failures raise `StorageError`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def page(
        self, where: CallFilter, *, limit: int = DEFAULT_PAGE, cursor: str | None = None
    ) -> CallPage:
        """One page of calls, newest first; `BadCursorError` for a cursor not from here."""
        limit = max(1, min(limit, MAX_PAGE))
        query = _summaries().where(*_criteria(where)).order_by(CallRow.id.desc()).limit(limit + 1)
        if cursor is not None:
            query = query.where(CallRow.id < decode_cursor(cursor))
        try:
            async with self._engine.connect() as connection:
                rows = (await connection.execute(query)).all()
        except DATABASE_ERRORS as exc:
            raise StorageError("could not list calls") from exc
        shown = rows[:limit]
        calls = tuple(CallSummary.model_validate(row._mapping) for row in shown)
        more = len(rows) > limit
        return CallPage(calls, encode_cursor(shown[-1].id) if more else None)

    async def summary(self, call_sid: str) -> CallSummary | None:
        """One call's summary row, or None."""
        try:
            async with self._engine.connect() as connection:
                row = (
                    await connection.execute(_summaries().where(CallRow.call_sid == call_sid))
                ).first()
        except DATABASE_ERRORS as exc:
            raise StorageError(f"could not read call {call_sid}") from exc
        return CallSummary.model_validate(row._mapping) if row is not None else None

    async def call(self, call_sid: str) -> Call | None:
        """The stored call, or None."""
        try:
            async with self._sessions() as session:
                row = await session.scalar(select(CallRow).where(CallRow.call_sid == call_sid))
                return Call.model_validate(row) if row is not None else None
        except DATABASE_ERRORS as exc:
            raise StorageError(f"could not read call {call_sid}") from exc

    async def expired(self, before: datetime, *, limit: int = 100) -> list[str]:
        """Calls that happened (or ended) before ``before``, oldest first; never a call some
        instance still carries."""
        happened = func.coalesce(CallRow.ended_at, CallRow.status_at, CallRow.started_at)
        carried = exists().where(CallCarrierRow.call_sid == CallRow.call_sid)
        query = (
            select(CallRow.call_sid)
            .where(happened < before, ~carried)
            .order_by(CallRow.id)
            .limit(limit)
        )
        try:
            async with self._engine.connect() as connection:
                return list((await connection.scalars(query)).all())
        except DATABASE_ERRORS as exc:
            raise StorageError("could not find expired calls") from exc

    async def erase(self, call_sid: str) -> bool:
        """Delete the call, its turns, its stream grant and carrier; False if there was none."""
        try:
            async with self._engine.begin() as connection:
                found = await connection.scalar(
                    select(CallRow.id).where(CallRow.call_sid == call_sid)
                )
                if found is not None:
                    await connection.execute(delete(TurnRow).where(TurnRow.call_id == found))
                    await connection.execute(delete(CallRow).where(CallRow.id == found))
                await connection.execute(
                    delete(CallStreamRow).where(CallStreamRow.call_sid == call_sid)
                )
                await connection.execute(
                    delete(CallCarrierRow).where(CallCarrierRow.call_sid == call_sid)
                )
        except DATABASE_ERRORS as exc:
            raise StorageError(f"could not erase call {call_sid}") from exc
        logger.debug("call %s: erased from the transcript tables", call_sid)
        return found is not None


def _summaries() -> Select[*tuple[Any, ...]]:
    turns = select(func.count(TurnRow.id)).where(TurnRow.call_id == CallRow.id).scalar_subquery()
    # A correlated lookup per row shown, not EXISTS: PostgreSQL would hash every interrupted
    # turn of the store to answer it for one page.
    any_interrupted = (
        select(true())
        .where(TurnRow.call_id == CallRow.id, TurnRow.interrupted.is_(True))
        .limit(1)
        .scalar_subquery()
    )
    interrupted = func.coalesce(any_interrupted, false())
    return select(
        CallRow.id,
        CallRow.call_sid,
        CallRow.agent,
        CallRow.route,
        CallRow.direction,
        CallRow.from_number,
        CallRow.to_number,
        CallRow.started_at,
        CallRow.ended_at,
        CallRow.end_reason,
        CallRow.status,
        interrupted.label("interrupted"),
        turns.label("turn_count"),
    )


def _criteria(where: CallFilter) -> list[ColumnElement[bool]]:
    criteria: list[ColumnElement[bool]] = []
    if where.since is not None:
        criteria.append(call_time() >= where.since)
    if where.until is not None:
        criteria.append(call_time() < where.until)
    if where.agent is not None:
        criteria.append(CallRow.agent == where.agent)
    if where.route is not None:
        criteria.append(CallRow.route == where.route)
    if where.direction is not None:
        criteria.append(CallRow.direction == where.direction)
    if where.end_reason is not None:
        criteria.append(CallRow.end_reason == where.end_reason)
    if where.interrupted is not None:
        interrupted = exists().where(TurnRow.call_id == CallRow.id, TurnRow.interrupted.is_(True))
        criteria.append(interrupted if where.interrupted else ~interrupted)
    if where.text:
        pattern = "%" + _escape_like(where.text) + "%"
        said = or_(
            TurnRow.text.ilike(pattern, escape="\\"),
            TurnRow.heard_text.ilike(pattern, escape="\\"),
        )
        criteria.append(exists().where(TurnRow.call_id == CallRow.id, said))
    return criteria


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
