"""Calls go on through a database outage, and nothing they said is lost when it returns.

Real outages (see ``tests/outages.py``): a SQLite file made immutable, a PostgreSQL server
stopped. Waits are on conditions, with timeouts only against hangs.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from google.adk.agents import Agent, LiveRequestQueue
from google.adk.events import Event, EventActions
from google.adk.runners import Runner
from google.adk.sessions import DatabaseSessionService
from google.genai import types

from telephony.live import internals
from telephony.live.models import live_run_config
from telephony.live.sessions import CallSessionService
from telephony.metrics import Metrics
from telephony.transcript_writer import RetryPolicy, TranscriptWriter
from telephony.transcripts import (
    CallInfo,
    EndReason,
    Speaker,
    Transcript,
    TranscriptStore,
    TurnRecord,
    create_engine,
)
from tests.callserver import PREAMBLE, running_server
from tests.conftest import empty_postgres
from tests.outages import Outage, private_postgres, sqlite_outage, until
from twins.gemini_live import LiveEmulator
from twins.twilio import Hangup, Speak, WaitForGreeting, WaitForReply

SID = "CA" + "0" * 31 + "7"
HANG = 60.0
"""Only against hangs: a retry waits at most 10 s once the database is back."""


@pytest.fixture(scope="module")
def postgres_cluster() -> Iterator[Outage]:
    with private_postgres() as cluster:
        yield cluster


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
async def outage(request: pytest.FixtureRequest, tmp_path: Path) -> Outage:
    """An empty database that the test can take down and bring back."""
    if request.param == "sqlite":
        return sqlite_outage(tmp_path)
    cluster: Outage = request.getfixturevalue("postgres_cluster")
    await empty_postgres(cluster.url)
    return cluster


@pytest.fixture
async def store(outage: Outage) -> AsyncIterator[TranscriptStore]:
    async with TranscriptStore.from_url(outage.url) as store:
        await store.create_schema()
        yield store


def said(speaker: Speaker, words: str, at_ms: int) -> TurnRecord:
    return TurnRecord(speaker=speaker, text=words, start_ms=at_ms, end_ms=at_ms + 900)


async def ended(store: TranscriptStore, call_sid: str = SID) -> Transcript:
    """The call's transcript once its end is stored (the database must be back)."""
    found: list[Transcript] = []

    async def check() -> bool:
        transcript = await store.transcript(call_sid)
        if transcript is not None and transcript.call.ended_at is not None:
            found.append(transcript)
        return bool(found)

    await until(check, wait_s=HANG)
    return found[0]


async def stored_turns(store: TranscriptStore) -> int:
    transcript = await store.transcript(SID)
    return 0 if transcript is None else len(transcript.turns)


def call_info() -> CallInfo:
    return CallInfo(call_sid=SID, started_at=datetime.now(UTC), agent="receptionist")


# -- the whole server ---------------------------------------------------------------------------


async def test_a_call_goes_on_through_an_outage_and_is_stored_in_full_when_it_ends(
    outage: Outage,
) -> None:
    """Item 6 and 7 end to end: the outage starts as soon as the call is admitted (its session,
    its start, every turn and its end meet a dead database), and lasts past the call's end."""
    async with running_server(outage.url) as server:
        app = server.services
        placed = asyncio.create_task(
            server.place(
                [
                    WaitForGreeting(timeout=20),
                    Speak(1.5),
                    WaitForReply(timeout=20),
                    Speak(1.0),
                    WaitForReply(timeout=20),
                    Hangup(),
                ]
            )
        )
        await until(lambda: app.calls or placed.done())
        assert app.calls, "the call was not admitted"
        (call_sid,) = app.calls
        async with outage.during():
            result = await placed
            await until(lambda: not app.calls)
            assert app.store.backlog.calls_pending == 1  # its transcript waits for the database
            async with httpx.AsyncClient(base_url=server.base_url) as client:
                health = await client.get("/healthz")
            during = await server.metrics_when_idle()
        transcript = await server.finished_transcript(call_sid, wait_s=HANG)
        totals = (await server.metrics_when_idle())["transcripts"]

    assert len(result.metrics.reply_latencies_ms) == 2, "the caller was not answered"
    # An unreachable database is reported, not failed: this instance still takes calls.
    assert health.status_code == 200
    assert during["transcripts"]["database_unavailable"] is True
    assert not result.timed_out_steps
    agent, caller = Speaker.AGENT, Speaker.CALLER
    # The first answer comes after a spoken preamble, a turn of its own (PREAMBLE).
    speakers = [turn.speaker for turn in transcript.turns]
    assert speakers == [agent, caller, agent, agent, caller, agent]
    assert [turn.seq for turn in transcript.turns] == [1, 2, 3, 4, 5, 6]
    assert transcript.turns[2].text == PREAMBLE
    assert transcript.call.end_reason is EndReason.CALLER_HUNG_UP
    assert transcript.call.agent == "receptionist"
    assert totals == {
        "database_unavailable": False,
        "calls_pending": 0,
        "turns_dropped": 0,
        "turns_abandoned": 0,
    }


# -- the transcript writer ----------------------------------------------------------------------


async def test_a_turn_written_after_a_short_outage_keeps_its_place(
    store: TranscriptStore, outage: Outage, caplog: pytest.LogCaptureFixture
) -> None:
    """Item 7: the question fails to be written; the answer comes once the database is back;
    the question is still turn 2 and the answer turn 3."""
    writer = TranscriptWriter(store, SID)
    writing = asyncio.create_task(writer.run())
    writer.start(call_info())
    writer.turn(said(Speaker.AGENT, "Hello, how can I help?", 0))
    await until(lambda: stored_turns(store))
    async with outage.during():
        writer.turn(said(Speaker.CALLER, "When are you open?", 2000))
        await until(lambda: "transcript write failed" in caplog.text)
    writer.turn(said(Speaker.AGENT, "From nine to five.", 4000))
    writer.end(EndReason.CALLER_HUNG_UP)
    await asyncio.wait_for(writing, HANG)
    transcript = await ended(store)

    assert [(turn.seq, turn.text) for turn in transcript.turns] == [
        (1, "Hello, how can I help?"),
        (2, "When are you open?"),
        (3, "From nine to five."),
    ]


async def test_a_call_that_ends_during_an_outage_is_closed_when_the_database_returns(
    store: TranscriptStore, outage: Outage, caplog: pytest.LogCaptureFixture
) -> None:
    """Item 6: the writer does not hold the call up; what it owes is written later, in order,
    and the call is closed; the outage is logged once, as an error."""
    writer = TranscriptWriter(store, SID)
    writing = asyncio.create_task(writer.run())
    writer.start(call_info())
    writer.turn(said(Speaker.AGENT, "Hello.", 0))
    await until(lambda: stored_turns(store))
    async with outage.during():
        writer.turn(said(Speaker.CALLER, "I need an appointment.", 1500))
        writer.turn(said(Speaker.AGENT, "Which day suits you?", 3000))
        writer.end(EndReason.CALLER_HUNG_UP)
        await asyncio.wait_for(writing, HANG)  # the call's task group is free
        assert writer.pending == 3  # two turns and the end
        assert store.backlog.calls_pending == 1
    transcript = await ended(store)
    await until(lambda: store.backlog.calls_pending == 0)

    assert [turn.seq for turn in transcript.turns] == [1, 2, 3]
    assert [turn.speaker for turn in transcript.turns] == [
        Speaker.AGENT,
        Speaker.CALLER,
        Speaker.AGENT,
    ]
    assert transcript.call.end_reason is EndReason.CALLER_HUNG_UP
    outage_errors = [
        record
        for record in caplog.records
        if record.levelno == logging.ERROR and "database is unavailable" in record.getMessage()
    ]
    assert len(outage_errors) == 1
    assert SID in outage_errors[0].getMessage()
    assert "appointment" not in caplog.text  # what was said is not log material


async def test_turns_beyond_the_buffer_are_dropped_counted_and_logged_once(
    store: TranscriptStore, outage: Outage, caplog: pytest.LogCaptureFixture
) -> None:
    writer = TranscriptWriter(store, SID, policy=RetryPolicy(max_buffered_turns=2))
    writing = asyncio.create_task(writer.run())
    writer.start(call_info())
    await until(lambda: store.transcript(SID))
    async with outage.during():
        for n in range(5):
            writer.turn(said(Speaker.CALLER, f"turn {n + 1}", n * 1000))
        writer.end(EndReason.CALLER_HUNG_UP)
        await asyncio.wait_for(writing, HANG)
    transcript = await ended(store)

    assert [turn.seq for turn in transcript.turns] == [1, 2]  # 3-5 were dropped: a visible gap
    assert store.backlog.turns_dropped == 3
    snapshot = Metrics(backlog=store.backlog).snapshot(60.0, active_calls=0)
    assert snapshot["transcripts"]["turns_dropped"] == 3
    drops = [r for r in caplog.records if "dropped" in r.getMessage()]
    assert len(drops) == 1
    assert drops[0].levelno == logging.ERROR


async def test_writes_still_owed_when_the_bound_runs_out_are_abandoned_and_logged(
    store: TranscriptStore, outage: Outage, caplog: pytest.LogCaptureFixture
) -> None:
    writer = TranscriptWriter(store, SID, policy=RetryPolicy(first_s=0.05, after_end_s=0.5))
    writing = asyncio.create_task(writer.run())
    writer.start(call_info())
    await until(lambda: store.transcript(SID))
    async with outage.during():
        writer.turn(said(Speaker.CALLER, "Hello?", 0))
        writer.end(EndReason.CONNECTION_LOST)
        await asyncio.wait_for(writing, HANG)
        await until(lambda: store.backlog.calls_pending == 0)

    assert store.backlog.turns_abandoned == 1
    assert f"call {SID}: transcript left incomplete" in caplog.text
    assert "1 turns, the call's end not written" in caplog.text


async def test_shutdown_waits_a_bounded_time_then_logs_what_it_could_not_write(
    store: TranscriptStore, outage: Outage, caplog: pytest.LogCaptureFixture
) -> None:
    writer = TranscriptWriter(store, SID)
    writing = asyncio.create_task(writer.run())
    writer.start(call_info())
    await until(lambda: store.transcript(SID))
    async with outage.during():
        writer.turn(said(Speaker.AGENT, "Goodbye.", 0))
        writer.end(EndReason.SERVER_SHUTDOWN)
        await asyncio.wait_for(writing, HANG)
        cut_short = await store.backlog.drain(timeout_s=0.2)

    assert cut_short == 1
    assert store.backlog.calls_pending == 0
    assert store.backlog.turns_abandoned == 1
    assert "transcript left incomplete (the server stopped)" in caplog.text
    assert "stopped with 1 calls' transcripts not written in full" in caplog.text


# -- ADK's sessions -----------------------------------------------------------------------------


def content(author: str, words: str) -> Event:
    role = "user" if author == "user" else "model"
    return Event(
        author=author,
        invocation_id="i",
        content=types.Content(role=role, parts=[types.Part(text=words)]),
    )


async def test_a_session_made_during_an_outage_lives_in_memory_and_is_written_when_it_returns(
    outage: Outage, caplog: pytest.LogCaptureFixture
) -> None:
    """Item 6: ADK's ``create_session`` no longer fails the call."""
    engine = create_engine(outage.url)
    service = CallSessionService(internals=internals.verify(), db_engine=engine)
    try:
        async with outage.during():
            session = await service.create_session(
                app_name="receptionist", user_id="caller-1", session_id=SID
            )
            cue = content("user", "[call connected]")
            heard = Event(
                author="agent",
                invocation_id="i",
                output_transcription=types.Transcription(text="Hello.", finished=True),
            )
            remembered = Event(
                author="agent",
                invocation_id="i",
                actions=EventActions(state_delta={"reason": "appointment"}),
            )
            for event in (cue, heard, remembered):
                await service.append_event(session, event)
            assert [e.id for e in session.events] == [cue.id, heard.id, remembered.id]
            assert session.state["reason"] == "appointment"
            assert service.kept_in_memory == 1
        await service.flush()
        stored = await DatabaseSessionService(db_engine=engine).get_session(
            app_name="receptionist", user_id="caller-1", session_id=SID
        )
    finally:
        await engine.dispose()

    assert service.kept_in_memory == 0
    assert stored is not None
    assert [e.id for e in stored.events] == [cue.id, remembered.id]
    assert stored.state["reason"] == "appointment"
    failures = [
        r for r in caplog.records if r.name == "telephony.live.sessions" and r.levelno >= 40
    ]
    assert len(failures) == 1, "an outage is logged once"
    assert SID in failures[0].getMessage()


async def test_a_session_the_database_fails_mid_call_keeps_its_events_in_order(
    outage: Outage,
) -> None:
    engine = create_engine(outage.url)
    service = CallSessionService(internals=internals.verify(), db_engine=engine)
    reader = DatabaseSessionService(db_engine=engine)
    try:
        session = await service.create_session(
            app_name="receptionist", user_id="caller-1", session_id=SID
        )
        first = content("user", "[call connected]")
        await service.append_event(session, first)
        async with outage.during():
            during = content("agent", "tool call")
            await service.append_event(session, during)
        after = content("user", "[the caller pressed 1]")
        await service.append_event(session, after)
        await service.flush()  # as the server's keeper does every few seconds
        stored = await reader.get_session(
            app_name="receptionist", user_id="caller-1", session_id=SID
        )
    finally:
        await engine.dispose()

    assert [e.id for e in session.events] == [first.id, during.id, after.id]
    assert stored is not None
    assert [e.id for e in stored.events] == [first.id, during.id, after.id]


async def test_a_live_agent_answers_a_new_call_while_the_database_is_down(
    outage: Outage, live_emulator: LiveEmulator
) -> None:
    """Item 6 at ADK's level: ``run_live`` on a dead database greets the caller; the session,
    with the greeting's cue, reaches the database once it is back."""
    engine = create_engine(outage.url)
    service = CallSessionService(internals=internals.verify(), db_engine=engine)
    agent = Agent(
        name="receptionist",
        model=live_emulator.adk_model("gemini-2.5-flash-native-audio-preview-09-2025"),
        instruction="You answer the phone.",
    )
    runner = Runner(
        app_name="receptionist", agent=agent, session_service=service, auto_create_session=True
    )
    queue = LiveRequestQueue()
    try:
        async with outage.during():
            queue.send_content(
                types.Content(role="user", parts=[types.Part(text="[Greet the caller.]")])
            )
            events = runner.run_live(
                user_id="caller-1", session_id=SID, live_request_queue=queue,
                run_config=live_run_config(),
            )  # fmt: skip
            async with asyncio.timeout(HANG):
                async for event in events:
                    if event.turn_complete:
                        break
            queue.close()
            await events.aclose()
        await service.flush()
        stored = await DatabaseSessionService(db_engine=engine).get_session(
            app_name="receptionist", user_id="caller-1", session_id=SID
        )
    finally:
        queue.close()
        await engine.dispose()

    assert stored is not None
    cues = [
        part.text
        for event in stored.events
        if event.author == "user" and event.content is not None
        for part in event.content.parts or []
    ]
    assert cues == ["[Greet the caller.]"]


async def test_a_call_that_arrives_during_an_outage_is_answered_and_stored_afterwards(
    outage: Outage,
) -> None:
    """New calls too: the webhook, the stream's admission (single use within the process), the
    agent's session and every turn meet a dead database; the call is answered all the same."""
    async with running_server(outage.url) as server:
        async with outage.during():
            result = await server.place(
                [WaitForGreeting(timeout=20), Speak(1.5), WaitForReply(timeout=20), Hangup()]
            )
        transcript = await server.finished_transcript(result.call_sid, wait_s=HANG)

    assert result.metrics.first_audio_ms is not None, "the caller was not greeted"
    assert len(result.metrics.reply_latencies_ms) == 1, "the caller was not answered"
    assert [turn.speaker for turn in transcript.turns] == [
        Speaker.AGENT,
        Speaker.CALLER,
        Speaker.AGENT,  # the preamble before the opening-hours tool
        Speaker.AGENT,
    ]
    assert transcript.call.end_reason is EndReason.CALLER_HUNG_UP
