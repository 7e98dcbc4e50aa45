"""Warm transfers' shared ledger: one outcome across instances sharing a database, and what an
instance decides when the database does not answer.

Two ``WarmTransfers`` on one database stand for two instances: the one that started the
transfer holds it, the other knows it only through the ledger (as a request of Twilio's that
reached it would). No REST client: only the decision is under test here
(``tests/test_warm_processes.py`` runs the whole path through server processes).
"""

import asyncio
from datetime import UTC, datetime

from telephony.briefing import BriefingWriter
from telephony.transcripts import CallInfo, TranscriptStore
from telephony.transcripts.warm import WarmLedger
from telephony.warm_state import Outcome, WarmTransfer
from telephony.warm_transfer import WarmTransfers
from tests.test_call_control import system_turns
from tests.test_warm_transfer import to_billing

CALL_SID = "CA" + "6" * 32


def instance(
    store: TranscriptStore, counted: list[str], ledger: WarmLedger | None = None
) -> WarmTransfers:
    return WarmTransfers(
        None,
        store,
        BriefingWriter(None, model="unused"),
        on_outcome=lambda _kind, outcome: counted.append(outcome),
        ledger=ledger,
    )


async def test_one_outcome_across_instances(transcript_store: TranscriptStore) -> None:
    await transcript_store.start_call(CallInfo(call_sid=CALL_SID, started_at=datetime.now(UTC)))
    counted_a: list[str] = []
    counted_b: list[str] = []
    a, b = instance(transcript_store, counted_a), instance(transcript_store, counted_b)
    started = to_billing(CALL_SID)
    ledger = WarmLedger(transcript_store.engine)
    await ledger.open(started.shared, started.started_at)
    await ledger.dialled(started.transfer_id, "CA" + "9" * 32)

    # B knows the transfer only from the ledger, by the id its URLs carry.
    seen_by_b = await b.lookup(CALL_SID, "billing", started.transfer_id)
    assert seen_by_b is not None and not isinstance(seen_by_b, WarmTransfer)
    assert seen_by_b.person_sid == "CA" + "9" * 32
    assert await b.lookup(CALL_SID, "sales", started.transfer_id) is None, "another target"
    assert await b.lookup("CA" + "5" * 32, "billing", started.transfer_id) is None

    won = await asyncio.gather(
        b.settle(seen_by_b, Outcome.BUSY, person_gone=True),
        a.settle(started, Outcome.NO_ANSWER),  # A's timeout, at the same moment
    )
    stored = await transcript_store.transcript(CALL_SID)

    assert sorted(won) == [False, True]
    winner = Outcome.BUSY if won[0] else Outcome.NO_ANSWER
    assert started.outcome is winner and started.settled.is_set(), "A knows what was decided"
    assert await ledger.outcome(started.transfer_id) == winner
    assert counted_a + counted_b == [str(winner)]
    assert stored is not None
    assert system_turns(stored) == [f"Warm transfer to billing: {winner}."]
    # Decided is decided: a late report changes nothing, on either instance.
    assert not await b.settle(seen_by_b, Outcome.JOINED)
    assert not await a.settle(started, Outcome.CALLER_LEFT)


async def test_without_the_database_the_instance_that_started_it_decides(
    transcript_store: TranscriptStore,
) -> None:
    """Nothing answers at the database's address: the starting instance decides in memory,
    once; an instance that knows the transfer only from the ledger decides nothing."""
    from telephony.transcripts import create_engine

    gone = create_engine("postgresql+asyncpg://telephony:telephony@127.0.0.1:1/nowhere")
    try:
        counted: list[str] = []
        a = instance(transcript_store, counted, ledger=WarmLedger(gone))
        started = to_billing(CALL_SID)
        other = instance(transcript_store, counted, ledger=WarmLedger(gone))

        won_here = await a.settle(started, Outcome.BUSY, person_gone=True)
        again = await a.settle(started, Outcome.NO_ANSWER)
        elsewhere = await other.settle(started.shared, Outcome.JOINED)
    finally:
        await gone.dispose()

    assert (won_here, again, elsewhere) == (True, False, False)
    assert started.outcome is Outcome.BUSY
    assert counted == ["busy"]
