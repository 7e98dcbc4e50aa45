"""Recordings listed on their calls: the ``call_recordings`` table.

A recording row is written when a recording starts and updated as it progresses (the server's
file when the call ends; Twilio's from its ``recordingStatusCallback``). Each write is one upsert
on (CallSid, kind), so callbacks may come in any order and be repeated.
"""

import logging
from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from telephony.errors import StorageError
from telephony.transcripts.engine import DATABASE_ERRORS
from telephony.transcripts.tables import CallRecordingRow

__all__ = ["HEARD", "TWILIO", "Recording", "RecordingStore"]

logger = logging.getLogger(__name__)

HEARD = "heard"
"""The server's stereo file of what the caller heard."""
TWILIO = "twilio"
"""Twilio's own recording of the call."""


class Recording(BaseModel):
    """A recording as listed on its call."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    call_sid: str
    kind: str
    status: str
    path: str | None
    recording_sid: str | None
    url: str | None
    duration_ms: int | None
    size_bytes: int | None
    updated_at: AwareDatetime


class RecordingStore:
    """Recordings in the shared database (the table is created with the transcript tables)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def save(self, call_sid: str, kind: str, *, status: str, **fields: Any) -> None:
        """Create or update the call's recording of ``kind``; fields not given stay as they are.
        Raises ``StorageError`` when the database fails."""
        values = {"status": status, "updated_at": datetime.now(UTC), **fields}
        insert = (
            postgresql.insert(CallRecordingRow)
            if self._engine.dialect.name == "postgresql"
            else sqlite.insert(CallRecordingRow)
        )
        stmt = insert.values(call_sid=call_sid, kind=kind, **values).on_conflict_do_update(
            index_elements=[CallRecordingRow.call_sid, CallRecordingRow.kind], set_=values
        )
        try:
            async with self._engine.begin() as connection:
                await connection.execute(stmt)
        except DATABASE_ERRORS as exc:
            raise StorageError(f"could not record the {kind} recording of call {call_sid}") from exc

    async def of_call(self, call_sid: str) -> list[Recording]:
        """The call's recordings, ``heard`` first."""
        query = (
            select(CallRecordingRow)
            .where(CallRecordingRow.call_sid == call_sid)
            .order_by(CallRecordingRow.kind)
        )
        try:
            async with self._engine.connect() as connection:
                rows = (await connection.execute(query)).all()
        except DATABASE_ERRORS as exc:
            raise StorageError(f"could not read the recordings of call {call_sid}") from exc
        return [Recording.model_validate(row) for row in rows]

    async def forget(self, call_sid: str) -> list[Recording]:
        """Delete the call's recordings from the table; returns what was there (to delete the
        files)."""
        found = await self.of_call(call_sid)
        try:
            async with self._engine.begin() as connection:
                await connection.execute(
                    delete(CallRecordingRow).where(CallRecordingRow.call_sid == call_sid)
                )
        except DATABASE_ERRORS as exc:
            raise StorageError(f"could not delete the recordings of call {call_sid}") from exc
        return found
