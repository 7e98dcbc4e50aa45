"""A SQLite database deleted under the server is noticed: ``/healthz`` fails, one error is logged.

SQLite itself notices nothing: its open connections go on writing to the deleted file.
"""

import logging
import shutil
from pathlib import Path

import httpx
import pytest

from telephony.transcripts import TranscriptStore
from telephony.transcripts.sqlite_file import GONE, REPLACED
from tests.callserver import running_server


def file_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.name == "telephony.transcripts.sqlite_file" and record.levelno == logging.ERROR
    ]


async def test_a_deleted_database_directory_fails_the_health_check_and_is_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    async with (
        running_server(f"sqlite+aiosqlite:///{data / 'calls.db'}") as server,
        httpx.AsyncClient(base_url=server.base_url) as client,
    ):
        healthy = await client.get("/healthz")
        shutil.rmtree(data)
        first = await client.get("/healthz")
        second = await client.get("/healthz")

    assert healthy.status_code == 200
    assert healthy.json() == {"status": "ok", "calls": 0}
    assert first.status_code == second.status_code == 503
    assert first.json() == {"status": "failing", "calls": 0, "reason": GONE}
    assert str(tmp_path) not in first.text
    (error,) = file_errors(caplog)
    assert "/proc/" in error.getMessage()  # where the data can still be copied from


async def test_a_replaced_database_file_is_a_problem_and_its_return_clears_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "calls.db"
    async with TranscriptStore.from_url(f"sqlite+aiosqlite:///{path}") as store:
        await store.create_schema()
        assert store.problem() is None
        moved = path.rename(tmp_path / "moved.db")
        shutil.copy(moved, path)  # a copy: the same name, another file
        assert store.problem() == REPLACED
        path.unlink()
        moved.rename(path)  # the very file, back in place
        assert store.problem() is None

    assert len(file_errors(caplog)) == 1


async def test_a_postgresql_store_has_no_file_to_lose(database_url: str) -> None:
    async with TranscriptStore.from_url(database_url) as store:
        await store.create_schema()
        assert store.problem() is None
