"""The call path's write transactions (``transcripts.writes``): on a SQLite file whole on a
thread and connection of their own, elsewhere on the async engine; committed or rolled back as
a unit either way, and readable at once through the async engine."""

import threading
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError

from telephony.transcripts import create_engine
from telephony.transcripts.writes import close_writes, writes_for


def _thread_and_insert(connection: Connection, value: int) -> str:
    connection.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": value})
    return threading.current_thread().name


def _insert_then_fail(connection: Connection) -> None:
    connection.execute(text("INSERT INTO t (v) VALUES (99)"))
    raise LookupError("the work failed after its insert")


async def _values(url: str) -> list[int]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return [row[0] for row in await connection.execute(text("SELECT v FROM t ORDER BY v"))]
    finally:
        await engine.dispose()


@pytest.mark.parametrize("in_memory", [False, True], ids=["file", "in-memory"])
async def test_a_transaction_commits_as_a_unit_on_the_writer_or_the_engine(
    tmp_path: Path, in_memory: bool
) -> None:
    url = "sqlite+aiosqlite://" if in_memory else f"sqlite+aiosqlite:///{tmp_path / 'w.db'}"
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (v INTEGER)"))
    writes = writes_for(engine)
    assert writes_for(engine) is writes  # one writer per engine
    assert writes.on_own_thread is not in_memory

    ran_on = await writes.run(lambda connection: _thread_and_insert(connection, 1))
    with pytest.raises(LookupError):
        await writes.run(_insert_then_fail)

    if in_memory:
        assert ran_on == threading.current_thread().name  # the engine's own path
        async with engine.connect() as connection:
            stored = [row[0] for row in await connection.execute(text("SELECT v FROM t"))]
    else:
        assert ran_on.startswith("sqlite-writes")
        stored = await _values(url)  # another connection sees the commit at once
    assert stored == [1]  # the failed transaction left nothing

    await close_writes(engine)
    assert not writes.on_own_thread
    assert await writes.run(lambda connection: _thread_and_insert(connection, 2)) == (
        threading.current_thread().name  # closed: what comes later runs on the engine
    )
    await engine.dispose()
    assert writes_for(engine) is not writes  # a new writer if the engine is used again
    await close_writes(engine)


async def test_a_failing_database_raises_through_the_writer(tmp_path: Path) -> None:
    """No table: the database's own error comes back to the caller, as through the engine."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'e.db'}")
    writes = writes_for(engine)
    try:
        with pytest.raises(OperationalError, match="no such table"):
            await writes.run(lambda connection: _thread_and_insert(connection, 1))
    finally:
        await close_writes(engine)
        await engine.dispose()
