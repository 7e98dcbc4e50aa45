"""ADK sessions of calls: durable events reach the database, the rest stay in memory."""

from google.adk.events import Event, EventActions
from google.genai import types

from telephony.live import internals
from telephony.live.sessions import CallSessionService
from telephony.transcripts import create_engine


async def test_only_durable_events_are_written(database_url: str) -> None:
    engine = create_engine(database_url)
    service = CallSessionService(internals=internals.verify(), db_engine=engine)
    try:
        session = await service.create_session(app_name="a", user_id="u", session_id="CA1")
        cue = Event(
            author="user",
            invocation_id="i",
            content=types.Content(role="user", parts=[types.Part(text="[call connected]")]),
        )
        transcription = Event(
            author="agent",
            invocation_id="i",
            output_transcription=types.Transcription(text="Hello there.", finished=True),
        )
        turn_end = Event(author="agent", invocation_id="i", turn_complete=True)
        remembered = Event(
            author="agent",
            invocation_id="i",
            actions=EventActions(state_delta={"messages": [{"caller_name": "Ada"}]}),
        )
        for event in (cue, transcription, turn_end, remembered):
            await service.append_event(session, event)

        # The live session sees everything...
        assert [e.id for e in session.events] == [
            e.id for e in (cue, transcription, turn_end, remembered)
        ]
        assert session.state["messages"] == [{"caller_name": "Ada"}]
        # ...the database keeps what outlives the call.
        stored = await service.get_session(app_name="a", user_id="u", session_id="CA1")
        assert stored is not None
        assert [e.id for e in stored.events] == [cue.id, remembered.id]
        assert stored.state["messages"] == [{"caller_name": "Ada"}]
    finally:
        await engine.dispose()


async def test_a_callers_earlier_sessions_are_counted_as_adk_lists_them(database_url: str) -> None:
    engine = create_engine(database_url)
    service = CallSessionService(internals=internals.verify(), db_engine=engine)
    try:
        empty = await service.earlier_sessions(app_name="a", user_id="u")
        assert (empty.count, empty.last_update) == (0, None)
        for sid in ("CA1", "CA2", "CA3"):
            await service.create_session(app_name="a", user_id="u", session_id=sid)
        session = await service.get_session(app_name="a", user_id="u", session_id="CA2")
        assert session is not None
        remembered = EventActions(state_delta={"note": "call back after 3 pm"})
        await service.append_event(
            session, Event(author="agent", invocation_id="i", actions=remembered)
        )  # CA2 is now the last one updated
        await service.create_session(app_name="a", user_id="someone else", session_id="CA4")
        await service.create_session(app_name="another agent", user_id="u", session_id="CA5")

        counted = await service.earlier_sessions(app_name="a", user_id="u")
        listed = (await service.list_sessions(app_name="a", user_id="u")).sessions
        assert counted.count == len(listed) == 3
        assert counted.last_update is not None
        last = max(s.last_update_time for s in listed)
        assert counted.last_update.timestamp() == last
        assert last == max(s.last_update_time for s in listed if s.id == "CA2")
    finally:
        await engine.dispose()
