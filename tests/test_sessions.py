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
