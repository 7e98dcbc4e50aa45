"""Warm transfers across the deployment: the ``warm_transfers`` ledger.

Twilio's requests about a warm transfer (the person's status callback, their ``join``, the
room's ``participant-leave``) reach whichever instance the load balancer picks, not the one that
started the transfer. So the transfer's facts live in the database every instance shares, and
its outcome is decided by one statement the database makes atomic, as ``streams.py`` does for
stream tokens:

- `WarmLedger.open`: the instance that starts the transfer records it (outcome NULL).
- `WarmLedger.dialled`: the person's call was created; answers the outcome if one was decided
  meanwhile (the caller left while the person's call was being created).
- `WarmLedger.decide`: ``outcome IS NULL -> outcome``, returning the row: the one request that
  gets the row back decides, everywhere; the others get None. An upsert, so a transfer whose
  ``open`` did not reach the database is still decided once.
- `WarmLedger.find` / `WarmLedger.outcome`: what another instance knows of it.

Every method raises `StorageError` when the database fails; the caller decides what then
(``telephony/warm_transfer.py``: this process's own decision, logged).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Executable

from telephony.errors import StorageError
from telephony.transcripts.engine import DATABASE_ERRORS
from telephony.transcripts.tables import WarmTransferRow

__all__ = ["SharedTransfer", "WarmLedger"]


@dataclass(frozen=True)
class SharedTransfer:
    """What every instance knows of a warm transfer."""

    transfer_id: str
    call_sid: str
    target: str
    origin: str
    person_sid: str | None = None
    outcome: str | None = None


class WarmLedger:
    """Warm transfers and their outcomes, in the ``warm_transfers`` table."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def open(self, transfer: SharedTransfer, at: datetime) -> None:
        """Record a transfer that starts (nothing if it is already recorded)."""
        stmt = (
            self._insert()
            .values(**_values(transfer), started_at=at)
            .on_conflict_do_nothing(index_elements=[WarmTransferRow.transfer_id])
        )
        await self._run(stmt, f"record warm transfer {transfer.transfer_id}")

    async def dialled(self, transfer_id: str, person_sid: str) -> str | None:
        """Record the person's call; the outcome if one was already decided."""
        stmt = (
            update(WarmTransferRow)
            .where(WarmTransferRow.transfer_id == transfer_id)
            .values(person_sid=person_sid)
            .returning(WarmTransferRow.outcome)
        )
        row = await self._run(stmt, f"record the person of warm transfer {transfer_id}")
        return None if row is None else row[0]

    async def decide(
        self, transfer: SharedTransfer, outcome: str, at: datetime
    ) -> SharedTransfer | None:
        """Set the outcome if none was decided: the transfer as stored (its person's call
        included) for the one caller that decided it, None for every other."""
        insert = self._insert()
        stmt = (
            insert.values(**_values(transfer), outcome=outcome, started_at=at, decided_at=at)
            .on_conflict_do_update(
                index_elements=[WarmTransferRow.transfer_id],
                set_={"outcome": outcome, "decided_at": at},
                where=WarmTransferRow.outcome.is_(None),
            )
            .returning(*_COLUMNS)
        )
        row = await self._run(stmt, f"decide warm transfer {transfer.transfer_id}")
        return None if row is None else _shared(row)

    async def find(self, transfer_id: str) -> SharedTransfer | None:
        stmt = select(*_COLUMNS).where(WarmTransferRow.transfer_id == transfer_id)
        row = await self._run(stmt, f"read warm transfer {transfer_id}", write=False)
        return None if row is None else _shared(row)

    async def outcome(self, transfer_id: str) -> str | None:
        found = await self.find(transfer_id)
        return None if found is None else found.outcome

    def _insert(self) -> postgresql.Insert | sqlite.Insert:
        if self._engine.dialect.name == "postgresql":
            return postgresql.insert(WarmTransferRow)
        return sqlite.insert(WarmTransferRow)

    async def _run(self, stmt: Executable, action: str, *, write: bool = True) -> Row[Any] | None:
        try:
            if write:
                async with self._engine.begin() as connection:
                    result = await connection.execute(stmt)
                    return result.first() if result.returns_rows else None
            async with self._engine.connect() as connection:
                return (await connection.execute(stmt)).first()
        except DATABASE_ERRORS as exc:
            raise StorageError(f"could not {action}") from exc


_COLUMNS = (
    WarmTransferRow.transfer_id,
    WarmTransferRow.call_sid,
    WarmTransferRow.target,
    WarmTransferRow.origin,
    WarmTransferRow.person_sid,
    WarmTransferRow.outcome,
)


def _shared(row: Row[Any]) -> SharedTransfer:
    values: tuple[Any, ...] = tuple(row)
    return SharedTransfer(*values)


def _values(transfer: SharedTransfer) -> dict[str, str | None]:
    return {
        "transfer_id": transfer.transfer_id,
        "call_sid": transfer.call_sid,
        "target": transfer.target,
        "origin": transfer.origin,
        "person_sid": transfer.person_sid,
    }
