"""The stream ledger: one grant and one redemption per call, decided by the database itself."""

import asyncio
from datetime import UTC, datetime

from sqlalchemy import text

from telephony.transcripts import StreamLedger, TranscriptStore

CALL = "CA" + "1" * 32
OTHER_CALL = "CA" + "2" * 32
STREAM = "MZ" + "3" * 32
NONCE, OTHER_NONCE = "n" * 22, "m" * 22


def now() -> datetime:
    return datetime.now(UTC)


async def test_a_call_is_granted_once_and_its_grant_is_redeemed_once(
    transcript_store: TranscriptStore,
) -> None:
    ledger = StreamLedger(transcript_store.engine)
    assert await ledger.grant(CALL, NONCE, now())
    assert not await ledger.grant(CALL, OTHER_NONCE, now()), "a second webhook gets no grant"
    assert await ledger.grant(OTHER_CALL, OTHER_NONCE, now()), "grants are per call"
    assert not await ledger.redeem(CALL, OTHER_NONCE, STREAM, now()), "only the granted nonce"
    assert await ledger.redeem(CALL, NONCE, STREAM, now())
    assert not await ledger.redeem(CALL, NONCE, STREAM, now()), "and only once"
    assert not await ledger.grant(CALL, NONCE, now()), "an ended call is never granted again"


async def test_a_call_without_a_grant_is_never_redeemed(transcript_store: TranscriptStore) -> None:
    assert not await StreamLedger(transcript_store.engine).redeem(CALL, NONCE, STREAM, now())


async def test_concurrent_redemptions_from_separate_processes_admit_exactly_one(
    database_url: str, transcript_store: TranscriptStore
) -> None:
    """Two engines stand for two worker processes, each with its own connection pool."""
    await StreamLedger(transcript_store.engine).grant(CALL, NONCE, now())
    other = TranscriptStore.from_url(database_url)
    try:
        ledgers = [StreamLedger(transcript_store.engine), StreamLedger(other.engine)]
        results = await asyncio.gather(
            *(ledgers[i % 2].redeem(CALL, NONCE, STREAM, now()) for i in range(10))
        )
    finally:
        await other.close()
    assert sorted(results) == [False] * 9 + [True]


async def test_create_schema_adds_the_ledger_to_an_existing_database(
    transcript_store: TranscriptStore,
) -> None:
    async with transcript_store.engine.begin() as connection:
        await connection.execute(text("DROP TABLE call_streams"))  # a database from before it
    await transcript_store.create_schema()
    assert await StreamLedger(transcript_store.engine).grant(CALL, NONCE, now())


async def test_while_the_database_fails_single_use_holds_in_the_process(
    transcript_store: TranscriptStore,
) -> None:
    ledger = StreamLedger(transcript_store.engine)
    async with transcript_store.engine.begin() as connection:
        await connection.execute(text("DROP TABLE call_streams"))
    assert await ledger.grant(CALL, NONCE, now())
    assert not await ledger.grant(CALL, "another nonce", now()), "one grant per call"
    assert not await ledger.redeem(CALL, "another nonce", STREAM, now())
    assert await ledger.redeem(CALL, NONCE, STREAM, now())
    assert not await ledger.redeem(CALL, NONCE, STREAM, now()), "once"
    # A call granted in the database before the outage: its token stands in for the grant.
    assert await ledger.redeem("CA" + "e" * 32, NONCE, STREAM, now())
    assert not await ledger.redeem("CA" + "e" * 32, NONCE, STREAM, now())
