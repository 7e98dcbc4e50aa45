"""The deployment's live calls: which instance carries which call, read from the database.

Every instance sharing the database records the calls it carries as they start and forgets
them as they end (``call_carriers``, written by ``TranscriptStore``), and holds a lease while it
runs (``instances``). A call is live when it has not ended and its carrier's lease holds: so any
instance can tell an operator, or a load balancer's dashboard, every call in progress anywhere,
and a crashed instance's calls drop out of the list when its lease runs out, before anyone
closes them.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from telephony.errors import StorageError
from telephony.transcripts.engine import DATABASE_ERRORS
from telephony.transcripts.tables import CallCarrierRow, CallRow, InstanceRow


@dataclass(frozen=True, slots=True)
class LiveCall:
    """A call in progress somewhere in the deployment (no personal data)."""

    call_sid: str
    instance_id: str
    agent: str | None
    started_at: datetime | None


async def live_calls(engine: AsyncEngine, now: datetime) -> list[LiveCall]:
    """Every call in progress at ``now``, on any live instance, oldest first. Raises
    ``StorageError`` when the database fails."""
    query = (
        select(CallRow.call_sid, CallCarrierRow.instance_id, CallRow.agent, CallRow.started_at)
        .select_from(CallCarrierRow)
        .join(CallRow, CallRow.call_sid == CallCarrierRow.call_sid)
        .join(InstanceRow, InstanceRow.instance_id == CallCarrierRow.instance_id)
        .where(CallRow.ended_at.is_(None), InstanceRow.lease_until >= now)
        .order_by(CallRow.started_at, CallRow.call_sid)
    )
    try:
        async with engine.connect() as connection:
            rows = (await connection.execute(query)).all()
    except DATABASE_ERRORS as exc:
        raise StorageError("could not read the live calls") from exc
    return [LiveCall(*row) for row in rows]
