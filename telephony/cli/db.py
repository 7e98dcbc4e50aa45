"""``python -m telephony db {upgrade,current,check,revision}``: the database's schema.

The database is the one the server would use (``DATABASE_URL``, from the environment or
``.env``). See the README's "Schema migrations".
"""

import asyncio
import sys

from alembic import command
from sqlalchemy.ext.asyncio import AsyncEngine

from telephony.config import Settings
from telephony.errors import StorageError
from telephony.transcripts import create_engine, schema

FAILED = 1


def run(action: str, *, revision: str = "head", message: str | None = None) -> int:
    """Run one ``db`` action; 0 on success, 1 (with a line on standard error) on failure."""
    try:
        return asyncio.run(_run(action, revision, message))
    except StorageError as exc:
        cause = f" ({type(exc.__cause__).__name__})" if exc.__cause__ is not None else ""
        print(f"error: {exc}{cause}", file=sys.stderr)
        return FAILED


async def _run(action: str, revision: str, message: str | None) -> int:
    settings = Settings()
    engine = create_engine(settings.database_url)
    try:
        if action == "upgrade":
            await schema.upgrade(engine, revision)
            print(f"the database is at revision {await schema.current_revision(engine)}")
            return 0
        if action == "current":
            current = await schema.current_revision(engine)
            head = schema.head_revision()
            print(f"database: {current or 'no revision'}; newest: {head}")
            return 0 if current == head else FAILED
        if action == "check":
            found = await schema.differences(engine)
            for difference in found:
                print(difference)
            if found:
                print("the tables differ from tables.py: a migration is missing", file=sys.stderr)
            return FAILED if found else 0
        return await _revision(engine, message or "schema change")
    finally:
        await engine.dispose()


async def _revision(engine: AsyncEngine, message: str) -> int:
    """Write the next migration, generated from what the database (at the newest revision)
    lacks compared with ``tables.py``; review it before committing."""
    next_id = f"{int(schema.head_revision()) + 1:04d}"
    async with engine.begin() as connection:
        await connection.run_sync(
            lambda sync: command.revision(
                schema.alembic_config(sync), message, autogenerate=True, rev_id=next_id
            )
        )
    return 0
