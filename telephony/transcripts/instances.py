"""Calls left open by a crash, closed by whoever is alive: one lease per server instance.

Several server processes, on one machine or many, may share one database; each is an
*instance*, with an id of its own for as long as it runs (`new_instance_id`). The design:

- **Each open call names its carrier.** ``TranscriptStore.start_call`` records, in the same
  transaction, which instance carries the call (``call_carriers``); ``end_call`` removes it. The
  table holds open calls only.
- **Each instance holds a lease and renews it while alive.** `InstanceLease.renew` sets its row
  in ``server_instances`` to "alive until now + ``LEASE_S``"; the server renews it every
  ``keeper.KEEP_EVERY_S`` (6 renewals per lease: a slow or briefly unreachable database costs
  nothing).
- **Any live instance closes the calls of an expired lease**: at start-up, and after each
  renewal (`InstanceLease.close_lost_calls`), with ``EndReason.SERVER_LOST``, ended at the
  carrier's last renewal (or at the call's start, if later). An instance never closes its own
  calls, and a live instance's calls are never closed while its lease holds. A restarted server
  is a new instance: it closes its predecessor's calls once that lease has run out.
- **A server-lost end is provisional.** An instance cut off from the database longer than its
  lease is alive, but looks dead; its calls may be closed as server-lost meanwhile. Its own end,
  written when the database returns, replaces that verdict (``end_call``), and its turns are
  still added, so nothing it carried is lost.

Why leases and not, say, closing every open call at start-up: with several instances, a call
open in the database may well be alive in another process. Why in the database and not in a
process supervisor: the database is the one thing every instance shares. The times are each
instance's own clock: clocks must agree to well within ``LEASE_S`` (NTP does that).

Calls opened by a version of this server without carriers are not recovered.
"""

import logging
import os
import secrets
import socket
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from telephony.errors import StorageError
from telephony.transcripts.engine import DATABASE_ERRORS
from telephony.transcripts.tables import CallCarrierRow, CallRow, InstanceRow
from telephony.transcripts.values import EndReason

logger = logging.getLogger(__name__)

LEASE_S = 60.0
"""How long an instance's last renewal vouches for it."""

_HOST_CHARS = 32


def new_instance_id() -> str:
    """A fresh id for this process: host, process id and a random part (unique per start)."""
    host = socket.gethostname()[:_HOST_CHARS] or "host"
    return f"{host}-{os.getpid()}-{secrets.token_hex(6)}"


class InstanceLease:
    """One instance's lease, and the recovery of the calls of instances whose lease ran out.

    Every method raises `StorageError` when the database fails.
    """

    def __init__(self, engine: AsyncEngine, instance_id: str, *, lease_s: float = LEASE_S) -> None:
        self._engine = engine
        self.instance_id = instance_id
        self._lease = timedelta(seconds=lease_s)

    async def renew(self, now: datetime) -> None:
        """Say this instance is alive at ``now``, for the next ``lease_s``."""
        values = {
            "instance_id": self.instance_id,
            "started_at": now,
            "renewed_at": now,
            "lease_until": now + self._lease,
        }
        insert = (
            postgresql.insert(InstanceRow)
            if self._engine.dialect.name == "postgresql"
            else sqlite.insert(InstanceRow)
        )
        stmt = insert.values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[InstanceRow.instance_id],
            set_={
                InstanceRow.renewed_at: stmt.excluded.renewed_at,
                InstanceRow.lease_until: stmt.excluded.lease_until,
            },
        )
        try:
            async with self._engine.begin() as connection:
                await connection.execute(stmt)
        except DATABASE_ERRORS as exc:
            raise StorageError(f"could not renew the lease of instance {self.instance_id}") from exc

    async def close_lost_calls(self, now: datetime) -> tuple[str, ...]:
        """Close, as server-lost, the open calls of every other instance whose lease ran out by
        ``now`` (or that never had one); forget those instances. Returns the calls' CallSids."""
        lost = (
            select(CallRow.call_sid, CallRow.started_at, InstanceRow.renewed_at)
            .select_from(CallCarrierRow)
            .join(CallRow, CallRow.call_sid == CallCarrierRow.call_sid)
            .outerjoin(InstanceRow, InstanceRow.instance_id == CallCarrierRow.instance_id)
            .where(
                CallRow.ended_at.is_(None),
                CallCarrierRow.instance_id != self.instance_id,
                or_(InstanceRow.id.is_(None), InstanceRow.lease_until < now),
            )
            .order_by(CallRow.call_sid)  # instances closing the same calls lock them in one order
        )
        closed: list[str] = []
        try:
            async with self._engine.begin() as connection:
                for call_sid, started_at, renewed_at in (await connection.execute(lost)).all():
                    ended_at = _last_seen(started_at, renewed_at, now)
                    ended = await connection.execute(
                        update(CallRow)
                        .where(CallRow.call_sid == call_sid, CallRow.ended_at.is_(None))
                        .values(ended_at=ended_at, end_reason=EndReason.SERVER_LOST)
                    )
                    if ended.rowcount:
                        closed.append(call_sid)
                if closed:
                    await connection.execute(
                        delete(CallCarrierRow).where(CallCarrierRow.call_sid.in_(closed))
                    )
                await connection.execute(
                    delete(InstanceRow).where(
                        and_(
                            InstanceRow.lease_until < now,
                            InstanceRow.instance_id.not_in(select(CallCarrierRow.instance_id)),
                        )
                    )
                )
        except DATABASE_ERRORS as exc:
            raise StorageError("could not close the calls of lost instances") from exc
        for call_sid in closed:
            logger.warning(
                "call %s: closed as %s: the server carrying it stopped renewing its lease",
                call_sid,
                EndReason.SERVER_LOST,
            )
        return tuple(closed)

    async def retire(self) -> None:
        """This instance stops: drop its lease, so that a call it could not end is closed by
        the next instance that looks, without waiting for the lease to run out."""
        try:
            async with self._engine.begin() as connection:
                await connection.execute(
                    delete(InstanceRow).where(InstanceRow.instance_id == self.instance_id)
                )
        except DATABASE_ERRORS as exc:
            raise StorageError(f"could not retire instance {self.instance_id}") from exc


def _last_seen(started_at: datetime | None, renewed_at: datetime | None, now: datetime) -> datetime:
    """When a lost call ended, as far as anyone can tell: its carrier's last renewal, but not
    before the call began; ``now`` when the carrier left no trace."""
    if renewed_at is None:
        return now
    if started_at is not None and started_at > renewed_at:
        return started_at
    return renewed_at
