"""Shared fixtures."""

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from telephony.transcripts import TranscriptStore, create_engine
from tests.callserver import RunningServer, running_server
from twins.gemini_live import EmulatorConfig, LiveEmulator, Pacing


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, then the PostgreSQL at ``TEST_DATABASE_URL``.

    The PostgreSQL variant wipes that database's ``public`` schema before each test, so point
    ``TEST_DATABASE_URL`` at a database kept for tests (``.ci/postgres`` prints one) and run one
    test session against it at a time. Without the variable the variant is skipped, unless
    ``REQUIRE_POSTGRES=1`` (as in CI), which makes that a failure.
    """
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'telephony.db'}"
    return await emptied_test_postgres()


@pytest.fixture
async def postgres_url() -> str:
    """The PostgreSQL at ``TEST_DATABASE_URL``, emptied (for tests that need it, e.g. several
    server processes on one database); skipped or failed without it, as ``database_url``."""
    return await emptied_test_postgres()


async def emptied_test_postgres() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        reason = "TEST_DATABASE_URL is not set (.ci/postgres starts a server and prints one)"
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(f"REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    await empty_postgres(url)
    return url


async def empty_postgres(url: str) -> None:
    """Drop everything in the ``public`` schema of the PostgreSQL database at ``url``."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


@pytest.fixture
async def transcript_store(database_url: str) -> AsyncIterator[TranscriptStore]:
    """A `TranscriptStore` with its tables created, on each database of `database_url`."""
    store = TranscriptStore.from_url(database_url)
    await store.create_schema()
    yield store
    await store.close()


# Replies at 20x real time: tests that need real-time pacing build their own emulator.
FAST_LIVE_EMULATOR = EmulatorConfig(pacing=Pacing(speed=20.0))


@pytest.fixture
async def live_emulator() -> AsyncIterator[LiveEmulator]:
    """A running Gemini Live emulator on a free loopback port, replying at 20x real time."""
    async with LiveEmulator(FAST_LIVE_EMULATOR) as emulator:
        yield emulator


@pytest.fixture
async def call_server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    """The real call server on loopback (SQLite), offline: its emulator answers as the model."""
    async with running_server(f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}") as server:
        yield server
