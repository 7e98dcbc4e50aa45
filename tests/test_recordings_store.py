"""Recordings and outbound calls as stored, on SQLite and PostgreSQL: upserts in any order,
listed with their call, forgotten on request."""

from datetime import UTC, datetime
from typing import Any

from telephony.transcripts import TranscriptStore
from telephony.transcripts.outbound import OutboundStore
from telephony.transcripts.recordings import HEARD, TWILIO, RecordingStore

CALL = "CA" + "7" * 32


async def test_recordings_are_upserted_listed_and_forgotten(
    transcript_store: TranscriptStore,
) -> None:
    recordings = RecordingStore(transcript_store.engine)
    await recordings.save(CALL, HEARD, status="recording", path="/r/a.wav")
    await recordings.save(CALL, TWILIO, status="completed", recording_sid="RE1", duration_ms=4000)
    await recordings.save(CALL, TWILIO, status="in-progress")  # a late, repeated callback
    await recordings.save(CALL, HEARD, status="completed", duration_ms=9000, size_bytes=288044)

    heard, twilio = await recordings.of_call(CALL)
    assert (heard.kind, heard.status, heard.path) == (HEARD, "completed", "/r/a.wav")
    assert (heard.duration_ms, heard.size_bytes) == (9000, 288044)
    assert (twilio.recording_sid, twilio.duration_ms) == ("RE1", 4000)
    assert await recordings.of_call("CA" + "8" * 32) == []

    forgotten = await recordings.forget(CALL)
    assert {item.kind for item in forgotten} == {HEARD, TWILIO}
    assert await recordings.of_call(CALL) == []


async def test_an_outbound_call_is_stored_as_it_moves_on(transcript_store: TranscriptStore) -> None:
    calls = OutboundStore(transcript_store.engine)
    created = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
    common: dict[str, Any] = {
        "agent": "receptionist",
        "purpose": "a reminder",
        "variables": {"time": "10:30"},
        "error": None,
        "created_at": created,
    }
    await calls.save(
        "OB1", call_sid=None, status="queued", answered_by=None, outcome=None, **common
    )
    assert await calls.of_call(CALL) is None
    await calls.save(
        "OB1", call_sid=CALL, status="in-progress", answered_by=None, outcome=None, **common
    )
    await calls.save(
        "OB1",
        call_sid=CALL,
        status="completed",
        answered_by="machine_end_beep",
        outcome="voicemail_left",
        **common,
    )
    found = await calls.of_call(CALL)
    assert found is not None
    assert (found.status, found.answered_by, found.outcome) == (
        "completed",
        "machine_end_beep",
        "voicemail_left",
    )
    assert found.variables == {"time": "10:30"} and found.created_at == created
