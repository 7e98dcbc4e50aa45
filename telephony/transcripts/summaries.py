"""Post-call summaries in the database (``call_summaries``): one per call, with its delivery.

A summary is stored once it is made, before delivery is tried, so that the call shows it even
when the webhook never takes it; each delivery attempt then updates the row (how many, the
last error, when it was delivered).
"""

import json
import logging
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from telephony.errors import StorageError
from telephony.transcripts.engine import DATABASE_ERRORS
from telephony.transcripts.tables import CallRow, CallSummaryRow

logger = logging.getLogger(__name__)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    """Delivery is being tried (or will be, after a restart: see the report)."""
    DELIVERED = "delivered"
    FAILED = "failed"
    """Every attempt failed; ``delivery_error`` says how the last one did."""
    NOT_CONFIGURED = "not_configured"
    """No webhook is configured: the summary is kept only here."""
    NO_SUMMARY = "no_summary"
    """The model could not summarise the call; ``delivery_error`` says why."""


class StoredSummary(BaseModel):
    """A call's summary as stored, and where its delivery stands."""

    model_config = ConfigDict(frozen=True)

    call_sid: str
    model: str
    summary: str = Field(repr=False)
    outcome: str
    follow_ups: list[str] = Field(repr=False)
    fields: dict[str, Any] = Field(repr=False)
    created_at: AwareDatetime
    delivery_id: str
    delivery_status: DeliveryStatus
    delivery_attempts: int
    delivered_at: AwareDatetime | None
    delivery_error: str | None


class SummaryStore:
    """Reads and writes ``call_summaries``; raises `StorageError` when the database fails."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def save(self, summary: StoredSummary) -> None:
        """Store a new summary (a call has one: saving it again changes nothing)."""
        values = summary.model_dump(exclude={"follow_ups", "fields"})
        values["follow_ups"] = json.dumps(summary.follow_ups)
        values["fields"] = json.dumps(summary.fields)
        try:
            async with self._engine.begin() as connection:
                call_id = await connection.scalar(
                    select(CallRow.id).where(CallRow.call_sid == summary.call_sid)
                )
                if call_id is None:
                    raise StorageError(f"no call {summary.call_sid} to summarise")
                exists = await connection.scalar(
                    select(CallSummaryRow.id).where(CallSummaryRow.call_id == call_id)
                )
                if exists is None:
                    await connection.execute(
                        insert(CallSummaryRow).values(call_id=call_id, **values)
                    )
        except DATABASE_ERRORS as exc:
            raise StorageError(f"could not store the summary of call {summary.call_sid}") from exc

    async def delivery(
        self,
        call_sid: str,
        status: DeliveryStatus,
        *,
        attempts: int,
        error: str | None = None,
        delivered_at: datetime | None = None,
    ) -> None:
        """Record where the delivery of a call's summary stands."""
        try:
            async with self._engine.begin() as connection:
                await connection.execute(
                    update(CallSummaryRow)
                    .where(CallSummaryRow.call_sid == call_sid)
                    .values(
                        delivery_status=status.value,
                        delivery_attempts=attempts,
                        delivery_error=error,
                        delivered_at=delivered_at,
                    )
                )
        except DATABASE_ERRORS as exc:
            raise StorageError(f"could not record the delivery of call {call_sid}") from exc

    async def get(self, call_sid: str) -> StoredSummary | None:
        """The call's summary, or None if it has none (yet)."""
        try:
            async with self._engine.connect() as connection:
                row = (
                    await connection.execute(
                        select(CallSummaryRow).where(CallSummaryRow.call_sid == call_sid)
                    )
                ).one_or_none()
        except DATABASE_ERRORS as exc:
            raise StorageError(f"could not read the summary of call {call_sid}") from exc
        if row is None:
            return None
        return StoredSummary(
            call_sid=row.call_sid,
            model=row.model,
            summary=row.summary,
            outcome=row.outcome,
            follow_ups=json.loads(row.follow_ups),
            fields=json.loads(row.fields),
            created_at=row.created_at,
            delivery_id=row.delivery_id,
            delivery_status=DeliveryStatus(row.delivery_status),
            delivery_attempts=row.delivery_attempts,
            delivered_at=row.delivered_at,
            delivery_error=row.delivery_error,
        )
