"""Turns are numbered when they are spoken, and stored under that number whenever written."""

from datetime import UTC, datetime

from telephony.transcripts import CallInfo, Speaker, TranscriptStore, TurnRecord

SID = "CA" + "5" * 32


def turn(words: str) -> TurnRecord:
    return TurnRecord(speaker=Speaker.CALLER, text=words, start_ms=0, end_ms=500)


async def test_a_turn_written_late_takes_the_place_it_was_given(
    transcript_store: TranscriptStore,
) -> None:
    await transcript_store.start_call(CallInfo(call_sid=SID, started_at=datetime.now(UTC)))
    assert await transcript_store.add_turn(SID, turn("first"), seq=1) == 1
    assert await transcript_store.add_turn(SID, turn("third"), seq=3) == 3
    assert await transcript_store.add_turn(SID, turn("second"), seq=2) == 2
    found = await transcript_store.transcript(SID)

    assert found is not None
    assert [(t.seq, t.text) for t in found.turns] == [(1, "first"), (2, "second"), (3, "third")]


async def test_writing_a_numbered_turn_again_stores_it_once(
    transcript_store: TranscriptStore,
) -> None:
    """A retry of a write whose commit reached the database although it was reported failed."""
    await transcript_store.start_call(CallInfo(call_sid=SID, started_at=datetime.now(UTC)))
    await transcript_store.add_turn(SID, turn("hello"), seq=1)
    await transcript_store.add_turn(SID, turn("hello"), seq=1)
    found = await transcript_store.transcript(SID)

    assert found is not None
    assert [(t.seq, t.text) for t in found.turns] == [(1, "hello")]


async def test_an_unnumbered_turn_follows_the_highest_number_given(
    transcript_store: TranscriptStore,
) -> None:
    await transcript_store.start_call(CallInfo(call_sid=SID, started_at=datetime.now(UTC)))
    await transcript_store.add_turn(SID, turn("given 4"), seq=4)

    assert await transcript_store.add_turn(SID, turn("next")) == 5
