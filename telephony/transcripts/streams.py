"""One stream per call across the deployment: the ``call_streams`` ledger.

Stream tokens are checked without state (``telephony.twilio.security``). Whether a call may still
open its stream is a fact every worker process and every instance must agree on, so it lives in
the database they share and is decided by single statements the database makes atomic (a unique
insert, a conditional update), never by one process's memory:

- `StreamLedger.grant`: the voice webhook records the nonce of the one token it gives a call. For
  a CallSid already granted (a replayed or repeated webhook) nothing is recorded: False.
- `StreamLedger.redeem`: a stream's ``start`` uses the grant. True once, for the granted nonce;
  then never again for that call, whatever token is shown, while the first stream lives or after.

While the database is unreachable, calls must still be answered (nothing of a call needs the
database on its way): the ledger then keeps grants and redemptions in this process's memory,
logged once per outage. Single use then holds within the process, not across the deployment:
a webhook captured and replayed to another instance within the token's 60 s life could open a
second stream there. That is the price of answering calls during an outage; the ledger says so
in the log, and the database is the truth again as soon as it answers.
"""

import logging
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from telephony.transcripts.engine import DATABASE_ERRORS
from telephony.transcripts.tables import CallStreamRow

__all__ = ["StreamLedger"]

logger = logging.getLogger(__name__)


class StreamLedger:
    """Grants and redemptions of calls' stream tokens, in the ``call_streams`` table (created by
    ``TranscriptStore.create_schema`` with the other tables)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._granted: dict[str, str] = {}
        """Grants made while the database was unreachable: CallSid -> nonce (this process)."""
        self._streamed: set[str] = set()
        """Calls that opened their stream while the database was unreachable (this process)."""
        self._outage = False

    async def grant(self, call_sid: str, nonce: str, at: datetime) -> bool:
        """Record that ``call_sid`` was given the token with ``nonce``; False if it already had
        a grant, which stays as it was."""
        insert = (
            postgresql.insert(CallStreamRow)
            if self._engine.dialect.name == "postgresql"
            else sqlite.insert(CallStreamRow)
        )
        stmt = (
            insert.values(call_sid=call_sid, nonce=nonce, granted_at=at)
            .on_conflict_do_nothing(index_elements=[CallStreamRow.call_sid])
            .returning(CallStreamRow.id)
        )
        try:
            async with self._engine.begin() as connection:
                granted = (await connection.execute(stmt)).first() is not None
        except DATABASE_ERRORS:
            self._unreachable(call_sid)
            return self._granted.setdefault(call_sid, nonce) == nonce
        self._reachable()
        logger.debug("call %s: stream %s", call_sid, "granted" if granted else "already granted")
        return granted

    async def redeem(self, call_sid: str, nonce: str, stream_sid: str, at: datetime) -> bool:
        """Let stream ``stream_sid`` use the grant of ``call_sid``: True only if the call was
        granted the token with ``nonce`` and no stream has used it yet."""
        stmt = (
            update(CallStreamRow)
            .where(
                CallStreamRow.call_sid == call_sid,
                CallStreamRow.nonce == nonce,
                CallStreamRow.streamed_at.is_(None),
            )
            .values(stream_sid=stream_sid, streamed_at=at)
            .returning(CallStreamRow.id)
        )
        try:
            async with self._engine.begin() as connection:
                redeemed = (await connection.execute(stmt)).first() is not None
        except DATABASE_ERRORS:
            self._unreachable(call_sid)
            return self._redeem_in_memory(call_sid, nonce)
        self._reachable()
        logger.debug("call %s: grant %s", call_sid, "redeemed" if redeemed else "not redeemable")
        return redeemed

    async def regrant(self, call_sid: str, nonce: str, at: datetime) -> bool:
        """A new grant for a call whose stream has ended, when the server itself sends the
        caller back to the agent (a transfer nobody answered): False unless the call's last
        grant was used, so a call never holds two grants at once."""
        stmt = (
            update(CallStreamRow)
            .where(CallStreamRow.call_sid == call_sid, CallStreamRow.streamed_at.is_not(None))
            .values(nonce=nonce, granted_at=at, stream_sid=None, streamed_at=None)
            .returning(CallStreamRow.id)
        )
        try:
            async with self._engine.begin() as connection:
                granted = (await connection.execute(stmt)).first() is not None
        except DATABASE_ERRORS:
            self._unreachable(call_sid)
            if call_sid not in self._streamed:
                return False
            self._streamed.discard(call_sid)
            self._granted[call_sid] = nonce
            return True
        self._reachable()
        return granted

    def _redeem_in_memory(self, call_sid: str, nonce: str) -> bool:
        """Single use within this process. A grant made in the database before the outage is
        unknown here; the token itself (signed, bound to the call, 60 s) stands in for it."""
        if call_sid in self._streamed or self._granted.get(call_sid, nonce) != nonce:
            return False
        self._streamed.add(call_sid)
        return True

    def _unreachable(self, call_sid: str) -> None:
        if not self._outage:
            self._outage = True
            logger.error(
                "call %s: the database is unreachable; stream tokens are single use within "
                "this process only until it answers again",
                call_sid,
                exc_info=True,
            )

    def _reachable(self) -> None:
        if self._outage:
            self._outage = False
            logger.warning(
                "the database answers again: stream tokens are single use across the deployment"
            )
