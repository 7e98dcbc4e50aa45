"""Schema migrations (Alembic): ``upgrade head`` builds exactly the tables of ``tables.py``, a
database from before migrations is adopted, and the server refuses a schema it must not use.

When this fails after a change to ``tables.py``, the change needs its migration: see the
README's "Schema migrations".
"""

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from google.adk.sessions import DatabaseSessionService
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from telephony.app import create_app
from telephony.config import Settings
from telephony.errors import SchemaError
from telephony.transcripts import TranscriptStore, create_engine, schema
from tests.test_processes import clean_env

T0 = datetime(2026, 3, 4, 10, 20, 30, tzinfo=UTC)
SID = "CA" + "1" * 32


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


async def test_upgrade_head_builds_exactly_the_tables_of_the_code(engine: AsyncEngine) -> None:
    await schema.upgrade(engine)

    assert await schema.current_revision(engine) == schema.head_revision()
    assert await schema.differences(engine) == []


async def test_google_adk_tables_in_the_same_database_are_not_ours_to_compare(
    engine: AsyncEngine,
) -> None:
    await schema.upgrade(engine)
    sessions = DatabaseSessionService(db_engine=engine)
    await sessions.create_session(app_name="receptionist", user_id="u", session_id=SID)

    assert await schema.differences(engine) == []


async def test_a_new_database_is_created_at_the_newest_revision(engine: AsyncEngine) -> None:
    await schema.prepare(engine)

    assert await schema.current_revision(engine) == schema.head_revision()
    assert await schema.differences(engine) == []
    await schema.prepare(engine)  # and used as it is from then on


async def test_a_database_from_before_migrations_is_refused_then_adopted_by_upgrade(
    engine: AsyncEngine,
) -> None:
    await schema.upgrade(engine, "0001")
    async with engine.begin() as connection:  # as the server made it before migrations
        await connection.execute(text("DROP TABLE alembic_version"))
        await connection.execute(  # and a call it stored
            text("INSERT INTO calls (id, call_sid, agent, turn_count) VALUES (7, :sid, 'r', 1)"),
            {"sid": SID},
        )
        await connection.execute(
            text(
                "INSERT INTO call_turns (call_id, seq, speaker, text, interrupted, start_ms,"
                " end_ms, created_at) VALUES (7, 1, 'caller', 'hello', false, 0, 500, :at)"
            ),
            {"at": T0.replace(tzinfo=None) if engine.dialect.name == "sqlite" else T0},
        )

    with pytest.raises(SchemaError, match="python -m telephony db upgrade"):
        await schema.prepare(engine)
    await schema.upgrade(engine)

    await schema.prepare(engine)
    assert await schema.differences(engine) == []
    kept = await TranscriptStore(engine).transcript(SID)
    assert kept is not None
    assert [turn.text for turn in kept.turns] == ["hello"]


async def test_a_database_behind_the_code_is_named_in_the_refusal(engine: AsyncEngine) -> None:
    await schema.upgrade(engine, "0001")

    with pytest.raises(SchemaError, match="revision 0001"):
        await schema.prepare(engine)
    assert await schema.differences(engine) != []  # what the refusal protects against


async def test_the_server_does_not_start_on_an_unmigrated_database(
    engine: AsyncEngine, database_url: str
) -> None:
    await schema.upgrade(engine, "0001")
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        twilio_validate_signatures=False,
        database_url=database_url,
        api_token=SecretStr("t"),
    )
    app = create_app(settings)

    with pytest.raises(SchemaError, match="db upgrade"):
        async with app.router.lifespan_context(app):
            pass


def test_db_upgrade_on_the_command_line(tmp_path: Path) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    env = clean_env() | {"DATABASE_URL": database}

    def db(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "telephony", "db", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert db("current").returncode == 1  # no revision yet
    upgraded = db("upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert schema.head_revision() in upgraded.stdout
    assert db("current").returncode == 0
    checked = db("check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert os.path.exists(tmp_path / "cli.db")


PREPARE = """
import asyncio, sys
from telephony.transcripts import create_engine, schema

async def main() -> None:
    engine = create_engine(sys.argv[1])
    await schema.prepare(engine)
    print(await schema.current_revision(engine))
    await engine.dispose()

asyncio.run(main())
"""


def test_workers_starting_together_on_a_new_sqlite_database_wait_for_one(
    tmp_path: Path,
) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'new.db'}"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", PREPARE, database],
            cwd=Path(__file__).parents[1],
            env=clean_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        assert out.strip() == schema.head_revision()
