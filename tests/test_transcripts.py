"""The transcript store, on SQLite and on PostgreSQL (see the `database_url` fixture)."""

import asyncio
import json
import logging
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from telephony.errors import StorageError
from telephony.transcripts import (
    CallDirection,
    CallInfo,
    CallStatus,
    EndReason,
    Speaker,
    TranscriptStore,
    TurnRecord,
)

T0 = datetime(2026, 3, 4, 10, 20, 30, 123456, tzinfo=UTC)
CALLER = "+15551230001"
AGENT_NUMBER = "+15551239999"


def new_call_sid() -> str:
    return "CA" + uuid.uuid4().hex


def call_info(call_sid: str, **changes: object) -> CallInfo:
    fields: dict[str, object] = {
        "call_sid": call_sid,
        "stream_sid": "MZ" + uuid.uuid4().hex,
        "account_sid": "AC" + "0" * 32,
        "from_number": CALLER,
        "to_number": AGENT_NUMBER,
        "agent": "receptionist",
        "direction": CallDirection.INBOUND,
        "started_at": T0,
    }
    fields.update(changes)
    return CallInfo.model_validate(fields)


def caller_turn(text: str, start_ms: int, end_ms: int) -> TurnRecord:
    return TurnRecord(speaker=Speaker.CALLER, text=text, start_ms=start_ms, end_ms=end_ms)


def agent_turn(text: str, start_ms: int, end_ms: int, **changes: object) -> TurnRecord:
    fields: dict[str, object] = {
        "speaker": Speaker.AGENT,
        "text": text,
        "heard_text": text,
        "start_ms": start_ms,
        "end_ms": end_ms,
    }
    fields.update(changes)
    return TurnRecord.model_validate(fields)


async def test_call_lifecycle_round_trip(transcript_store: TranscriptStore) -> None:
    sid = new_call_sid()
    info = call_info(sid)
    await transcript_store.start_call(info)
    await transcript_store.add_turn(sid, caller_turn("I'd like to book a table.", 500, 1800))
    await transcript_store.add_turn(sid, agent_turn("For how many people?", 2100, 3300))
    assert await transcript_store.end_call(sid, EndReason.CALLER_HUNG_UP, T0 + timedelta(minutes=2))

    transcript = await transcript_store.transcript(sid)

    assert transcript is not None
    call = transcript.call
    assert call.call_sid == sid
    assert call.stream_sid == info.stream_sid
    assert call.account_sid == info.account_sid
    assert (call.from_number, call.to_number) == (CALLER, AGENT_NUMBER)
    assert call.agent == "receptionist"
    assert call.direction is CallDirection.INBOUND
    assert call.started_at == T0
    assert call.ended_at == T0 + timedelta(minutes=2)
    assert call.end_reason is EndReason.CALLER_HUNG_UP
    assert (call.status, call.status_at) == (None, None)
    assert [(t.seq, t.speaker, t.text) for t in transcript.turns] == [
        (1, Speaker.CALLER, "I'd like to book a table."),
        (2, Speaker.AGENT, "For how many people?"),
    ]
    assert [(t.start_ms, t.end_ms) for t in transcript.turns] == [(500, 1800), (2100, 3300)]


async def test_turns_are_numbered_in_the_order_they_finish(
    transcript_store: TranscriptStore,
) -> None:
    sid = new_call_sid()
    await transcript_store.start_call(call_info(sid))

    seqs = [
        await transcript_store.add_turn(sid, caller_turn(f"turn {n}", n * 1000, n * 1000 + 500))
        for n in range(5)
    ]

    assert seqs == [1, 2, 3, 4, 5]
    transcript = await transcript_store.transcript(sid)
    assert transcript is not None
    assert [(t.seq, t.text) for t in transcript.turns] == [(n + 1, f"turn {n}") for n in range(5)]


async def test_turn_numbers_are_per_call(transcript_store: TranscriptStore) -> None:
    first, second = new_call_sid(), new_call_sid()
    await transcript_store.start_call(call_info(first))
    await transcript_store.start_call(call_info(second))

    assert await transcript_store.add_turn(first, caller_turn("a", 0, 1)) == 1
    assert await transcript_store.add_turn(second, caller_turn("b", 0, 1)) == 1
    assert await transcript_store.add_turn(first, caller_turn("c", 2, 3)) == 2


async def test_concurrent_turns_of_one_call_get_distinct_numbers(
    transcript_store: TranscriptStore,
) -> None:
    sid = new_call_sid()
    await transcript_store.start_call(call_info(sid))

    seqs = await asyncio.gather(
        *(transcript_store.add_turn(sid, caller_turn(f"turn {n}", n, n)) for n in range(10))
    )

    assert sorted(seqs) == list(range(1, 11))
    transcript = await transcript_store.transcript(sid)
    assert transcript is not None
    assert [t.seq for t in transcript.turns] == list(range(1, 11))


async def test_interrupted_agent_turn_keeps_what_the_caller_heard(
    transcript_store: TranscriptStore,
) -> None:
    sid = new_call_sid()
    await transcript_store.start_call(call_info(sid))
    said = "Our opening hours are nine to five, Monday to Friday."
    await transcript_store.add_turn(
        sid, agent_turn(said, 0, 4200, heard_text="Our opening hours are", interrupted=True)
    )
    await transcript_store.add_turn(sid, caller_turn("And Saturday?", 1900, 2600))

    transcript = await transcript_store.transcript(sid)

    assert transcript is not None
    agent, caller = transcript.turns
    assert (agent.text, agent.heard_text, agent.interrupted) == (
        said,
        "Our opening hours are",
        True,
    )
    assert (caller.heard_text, caller.interrupted) == (None, False)


async def test_status_before_the_stream_is_kept_by_start_call(
    transcript_store: TranscriptStore,
) -> None:
    sid = new_call_sid()
    await transcript_store.record_status(
        sid, CallStatus.RINGING, T0 - timedelta(seconds=3), from_number="+15550000000"
    )
    await transcript_store.start_call(call_info(sid))

    transcript = await transcript_store.transcript(sid)

    assert transcript is not None
    call = transcript.call
    assert (call.status, call.status_at) == (CallStatus.RINGING, T0 - timedelta(seconds=3))
    assert call.started_at == T0
    assert call.agent == "receptionist"
    assert call.from_number == CALLER  # the stream's value wins
    assert transcript.turns == ()


async def test_status_after_the_stream_keeps_the_stream_fields(
    transcript_store: TranscriptStore,
) -> None:
    sid = new_call_sid()
    info = call_info(sid)
    await transcript_store.start_call(info)
    await transcript_store.end_call(sid, EndReason.AGENT_HUNG_UP, T0 + timedelta(seconds=30))
    await transcript_store.record_status(
        sid,
        CallStatus.COMPLETED,
        T0 + timedelta(seconds=31),
        account_sid="AC" + "f" * 32,
        from_number="+15550000000",
        to_number="+15550000001",
        direction=CallDirection.OUTBOUND_API,
    )

    transcript = await transcript_store.transcript(sid)

    assert transcript is not None
    call = transcript.call
    assert call.status is CallStatus.COMPLETED
    assert call.model_dump(exclude={"status", "status_at"}) == {
        **info.model_dump(),
        "ended_at": T0 + timedelta(seconds=30),
        "end_reason": EndReason.AGENT_HUNG_UP,
    }


async def test_status_fills_fields_the_stream_did_not_know(
    transcript_store: TranscriptStore,
) -> None:
    sid = new_call_sid()
    await transcript_store.start_call(call_info(sid, direction=None, account_sid=None))
    await transcript_store.record_status(
        sid,
        CallStatus.IN_PROGRESS,
        T0,
        account_sid="AC" + "f" * 32,
        direction=CallDirection.OUTBOUND_DIAL,
    )

    transcript = await transcript_store.transcript(sid)

    assert transcript is not None
    assert transcript.call.account_sid == "AC" + "f" * 32
    assert transcript.call.direction is CallDirection.OUTBOUND_DIAL


async def test_a_late_callback_does_not_replace_a_newer_status(
    transcript_store: TranscriptStore,
) -> None:
    sid = new_call_sid()
    await transcript_store.record_status(sid, CallStatus.COMPLETED, T0 + timedelta(seconds=9))
    await transcript_store.record_status(sid, CallStatus.RINGING, T0)
    # Twilio's timestamps have whole seconds: on a tie the later stage of the call wins.
    await transcript_store.record_status(sid, CallStatus.IN_PROGRESS, T0 + timedelta(seconds=9))

    transcript = await transcript_store.transcript(sid)

    assert transcript is not None
    assert transcript.call.status is CallStatus.COMPLETED
    assert transcript.call.status_at == T0 + timedelta(seconds=9)
    assert transcript.call.started_at is None


async def test_status_for_a_call_that_never_streamed(transcript_store: TranscriptStore) -> None:
    sid = new_call_sid()
    await transcript_store.record_status(
        sid,
        CallStatus.NO_ANSWER,
        T0,
        account_sid="AC" + "0" * 32,
        from_number=AGENT_NUMBER,
        to_number=CALLER,
        direction=CallDirection.OUTBOUND_API,
    )

    transcript = await transcript_store.transcript(sid)

    assert transcript is not None
    call = transcript.call
    assert (call.status, call.direction, call.to_number) == (
        CallStatus.NO_ANSWER,
        CallDirection.OUTBOUND_API,
        CALLER,
    )
    assert (call.started_at, call.stream_sid, call.agent, call.ended_at) == (None,) * 4


async def test_concurrent_status_and_start_call_for_one_call(
    transcript_store: TranscriptStore,
) -> None:
    sids = [new_call_sid() for _ in range(10)]

    await asyncio.gather(
        *(transcript_store.record_status(sid, CallStatus.IN_PROGRESS, T0) for sid in sids),
        *(transcript_store.start_call(call_info(sid)) for sid in sids),
    )

    for sid in sids:
        transcript = await transcript_store.transcript(sid)
        assert transcript is not None
        assert transcript.call.status is CallStatus.IN_PROGRESS
        assert transcript.call.started_at == T0


async def test_start_call_again_changes_nothing(transcript_store: TranscriptStore) -> None:
    sid = new_call_sid()
    info = call_info(sid)
    await transcript_store.start_call(info)
    await transcript_store.add_turn(sid, caller_turn("hello", 0, 500))
    before = await transcript_store.transcript(sid)

    await transcript_store.start_call(info)

    assert await transcript_store.transcript(sid) == before


async def test_the_first_end_of_a_call_counts(transcript_store: TranscriptStore) -> None:
    sid = new_call_sid()
    await transcript_store.start_call(call_info(sid))

    first = await transcript_store.end_call(sid, EndReason.TRANSFERRED, T0 + timedelta(seconds=5))
    second = await transcript_store.end_call(
        sid, EndReason.CALLER_HUNG_UP, T0 + timedelta(seconds=6)
    )

    assert (first, second) == (True, False)
    transcript = await transcript_store.transcript(sid)
    assert transcript is not None
    assert transcript.call.end_reason is EndReason.TRANSFERRED
    assert transcript.call.ended_at == T0 + timedelta(seconds=5)


async def test_a_turn_can_be_stored_after_the_call_ended(
    transcript_store: TranscriptStore,
) -> None:
    sid = new_call_sid()
    await transcript_store.start_call(call_info(sid))
    await transcript_store.end_call(sid, EndReason.SERVER_SHUTDOWN, T0 + timedelta(seconds=5))

    assert await transcript_store.add_turn(sid, agent_turn("Goodbye.", 4000, 4900)) == 1


async def test_transcript_of_an_unknown_call_is_none(transcript_store: TranscriptStore) -> None:
    assert await transcript_store.transcript(new_call_sid()) is None


async def test_timestamps_come_back_aware_in_utc(transcript_store: TranscriptStore) -> None:
    sid = new_call_sid()
    paris = timezone(timedelta(hours=1))
    started = datetime(2026, 3, 4, 11, 20, 30, 654321, tzinfo=paris)
    await transcript_store.start_call(call_info(sid, started_at=started))
    await transcript_store.record_status(sid, CallStatus.IN_PROGRESS, started)
    await transcript_store.add_turn(sid, caller_turn("hi", 0, 300))
    await transcript_store.end_call(sid, EndReason.TIMEOUT, started + timedelta(minutes=30))

    transcript = await transcript_store.transcript(sid)

    assert transcript is not None
    call = transcript.call
    stamps = [call.started_at, call.status_at, call.ended_at, transcript.turns[0].created_at]
    assert all(stamp is not None and stamp.tzinfo is UTC for stamp in stamps)
    assert call.started_at == started
    assert call.ended_at == started + timedelta(minutes=30)


async def test_naive_timestamps_are_refused(transcript_store: TranscriptStore) -> None:
    naive = datetime(2026, 3, 4, 10, 20, 30)
    sid = new_call_sid()
    with pytest.raises(ValidationError):
        call_info(sid, started_at=naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        await transcript_store.record_status(sid, CallStatus.RINGING, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        await transcript_store.end_call(sid, EndReason.TIMEOUT, naive)


def test_turn_records_are_checked() -> None:
    with pytest.raises(ValidationError, match="only agent turns"):
        TurnRecord(speaker=Speaker.CALLER, text="hi", heard_text="hi", start_ms=0, end_ms=1)
    with pytest.raises(ValidationError, match="cannot end before"):
        TurnRecord(speaker=Speaker.CALLER, text="hi", start_ms=10, end_ms=9)
    with pytest.raises(ValidationError):
        TurnRecord(speaker=Speaker.CALLER, text="hi", start_ms=-1, end_ms=9)


async def test_add_turn_to_an_unknown_call_is_a_storage_error(
    transcript_store: TranscriptStore,
) -> None:
    sid = new_call_sid()
    with pytest.raises(StorageError, match=sid):
        await transcript_store.add_turn(sid, caller_turn("hello?", 0, 600))
    with pytest.raises(StorageError, match=sid):
        await transcript_store.end_call(sid, EndReason.TIMEOUT, T0)


async def test_database_failures_are_storage_errors_without_personal_data(
    database_url: str,
) -> None:
    async with TranscriptStore.from_url(database_url) as store:  # no create_schema: no tables
        with pytest.raises(StorageError) as raised:
            await store.start_call(call_info(new_call_sid()))

    cause = raised.value.__cause__
    assert isinstance(cause, SQLAlchemyError)
    assert CALLER not in str(raised.value)
    assert CALLER not in str(cause)


async def test_an_unreachable_database_is_a_storage_error() -> None:
    url = "postgresql+asyncpg://telephony:telephony@127.0.0.1:1/telephony_test"
    async with TranscriptStore.from_url(url) as store:
        with pytest.raises(StorageError):
            await store.transcript(new_call_sid())


async def test_transcripts_serialise_to_json(transcript_store: TranscriptStore) -> None:
    sid = new_call_sid()
    await transcript_store.start_call(call_info(sid))
    await transcript_store.add_turn(sid, caller_turn("hello", 0, 500))
    await transcript_store.end_call(sid, EndReason.CALLER_HUNG_UP, T0 + timedelta(seconds=1))
    transcript = await transcript_store.transcript(sid)
    assert transcript is not None

    document = json.loads(transcript.model_dump_json())

    assert document["call"]["end_reason"] == "caller_hung_up"
    assert document["call"]["direction"] == "inbound"
    assert document["call"]["started_at"] == "2026-03-04T10:20:30.123456Z"
    assert document["turns"][0]["speaker"] == "caller"


async def test_no_phone_numbers_or_words_in_logs(
    transcript_store: TranscriptStore, caplog: pytest.LogCaptureFixture
) -> None:
    sid = new_call_sid()
    words = "my card number is four four four"
    with (
        caplog.at_level(logging.INFO, logger="sqlalchemy.engine"),  # as echo=True would
        caplog.at_level(logging.DEBUG),
    ):
        await transcript_store.record_status(sid, CallStatus.RINGING, T0, from_number=CALLER)
        await transcript_store.start_call(call_info(sid))
        await transcript_store.add_turn(sid, caller_turn(words, 0, 900))
        await transcript_store.end_call(sid, EndReason.CALLER_HUNG_UP, T0)
        transcript = await transcript_store.transcript(sid)
        logging.getLogger("test").debug("%r", transcript)

    assert sid in caplog.text
    assert CALLER not in caplog.text
    assert AGENT_NUMBER not in caplog.text
    assert words not in caplog.text
