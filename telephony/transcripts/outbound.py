"""Outbound calls as stored: the ``outbound_calls`` table, written as each call moves on.

Every write is one upsert of the call's whole record, keyed by its request id: status
callbacks, the detection result and the call's end may come in any order and be repeated.
"""

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from telephony.errors import StorageError
from telephony.transcripts.engine import DATABASE_ERRORS
from telephony.transcripts.tables import OutboundCallRow

__all__ = ["OutboundRecord", "OutboundStore"]


class OutboundRecord(BaseModel):
    """An outbound call as listed with its transcript."""

    model_config = ConfigDict(frozen=True)

    outbound_id: str
    call_sid: str | None
    agent: str
    purpose: str
    variables: dict[str, str]
    status: str
    answered_by: str | None
    outcome: str | None
    error: str | None
    created_at: AwareDatetime
    updated_at: AwareDatetime


class OutboundStore:
    """Outbound calls in the shared database (created with the transcript tables)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def save(
        self,
        outbound_id: str,
        *,
        call_sid: str | None,
        agent: str,
        purpose: str,
        variables: dict[str, str],
        status: str,
        answered_by: str | None,
        outcome: str | None,
        error: str | None,
        created_at: datetime,
    ) -> None:
        """Create or replace the record; raises ``StorageError`` when the database fails."""
        values: dict[str, Any] = {
            "call_sid": call_sid,
            "agent": agent,
            "purpose": purpose,
            "variables": json.dumps(variables),
            "status": status,
            "answered_by": answered_by,
            "outcome": outcome,
            "error": error,
            "updated_at": datetime.now(UTC),
        }
        insert = (
            postgresql.insert(OutboundCallRow)
            if self._engine.dialect.name == "postgresql"
            else sqlite.insert(OutboundCallRow)
        )
        stmt = insert.values(
            outbound_id=outbound_id, created_at=created_at, **values
        ).on_conflict_do_update(index_elements=[OutboundCallRow.outbound_id], set_=values)
        try:
            async with self._engine.begin() as connection:
                await connection.execute(stmt)
        except DATABASE_ERRORS as exc:
            raise StorageError(f"could not store outbound call {outbound_id}") from exc

    async def of_call(self, call_sid: str) -> OutboundRecord | None:
        """The outbound call that became ``call_sid``, if it was one."""
        query = select(OutboundCallRow).where(OutboundCallRow.call_sid == call_sid)
        try:
            async with self._engine.connect() as connection:
                row = (await connection.execute(query)).mappings().first()
        except DATABASE_ERRORS as exc:
            raise StorageError(f"could not read the outbound call of {call_sid}") from exc
        if row is None:
            return None
        fields = dict(row)
        fields["variables"] = json.loads(fields["variables"])
        return OutboundRecord.model_validate(fields)
