"""The transcript tables share one database, and one engine, with ADK's session tables."""

from datetime import UTC, datetime

from google.adk.sessions import DatabaseSessionService
from google.adk.sessions.schemas import v0, v1
from sqlalchemy import MetaData, inspect

from telephony.transcripts import (
    CallInfo,
    Speaker,
    TranscriptStore,
    TurnRecord,
    create_engine,
)
from telephony.transcripts.tables import Base


def test_no_table_or_index_name_is_also_one_of_adks() -> None:
    def names(metadata: MetaData) -> set[str]:
        tables = metadata.sorted_tables
        return {t.name for t in tables} | {str(i.name) for t in tables for i in t.indexes}

    ours = names(Base.metadata)
    assert ours >= {"calls", "call_turns"}
    assert not ours & (names(v0.Base.metadata) | names(v1.Base.metadata))


async def test_adk_sessions_and_transcripts_in_one_database(database_url: str) -> None:
    engine = create_engine(database_url)
    sessions = DatabaseSessionService(db_engine=engine)
    store = TranscriptStore(engine)
    try:
        await store.create_schema()
        session = await sessions.create_session(app_name="receptionist", user_id="caller")
        await store.start_call(CallInfo(call_sid="CA1", started_at=datetime.now(UTC)))
        await store.add_turn(
            "CA1", TurnRecord(speaker=Speaker.CALLER, text="hi", start_ms=0, end_ms=1)
        )

        fetched = await sessions.get_session(
            app_name="receptionist", user_id="caller", session_id=session.id
        )
        transcript = await store.transcript("CA1")
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    finally:
        await sessions.close()
        await store.close()
        await engine.dispose()

    assert fetched is not None
    assert transcript is not None
    assert len(transcript.turns) == 1
    assert {"sessions", "events", "calls", "call_turns"} <= tables
