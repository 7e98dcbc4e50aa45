"""The schema's version, kept by Alembic (``migrations/``): upgrade, check, create.

- `prepare` runs when the server starts. A new database (none of our tables, no version) gets
  the tables as ``tables.py`` defines them and is marked as at the newest revision, as Alembic's
  cookbook does for a database built from scratch. A database at the newest revision is used as
  it is. Anything else (an older revision, or the tables of a version from before migrations)
  stops the server with `SchemaError`, saying to run ``python -m telephony db upgrade``: the
  server never alters a schema other processes may be using.
- `upgrade` is that command: the migrations in order, up to ``head``.
- `differences` compares a database with ``tables.py`` (empty when a migration is missing
  nowhere): the test suite's check that every change to the tables has its migration.

Each of these holds the schema for itself (PostgreSQL: an advisory lock; SQLite: the write
lock), so workers starting together, or a deploy's migration job and a server, do not race.
"""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, func, inspect, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from telephony.errors import SchemaError, StorageError
from telephony.transcripts.engine import DATABASE_ERRORS
from telephony.transcripts.tables import Base

logger = logging.getLogger(__name__)

SCRIPT_LOCATION = "telephony.transcripts:migrations"
UPGRADE_COMMAND = "python -m telephony db upgrade"

_SCHEMA_LOCK = 0x7E1E_CA11
"""PostgreSQL advisory lock key held while the schema is checked, created or migrated."""


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, with no ``alembic.ini``: the script directory in the package,
    and the connection ``env.py`` migrates."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("file_template", "v%%(rev)s_%%(slug)s")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision the code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("the migrations have no head revision")
    return head


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at; None if Alembic never marked it."""
    async with _locked(engine, "read the schema's revision") as connection:
        return await connection.run_sync(_current)


async def prepare(engine: AsyncEngine) -> None:
    """Make sure the server can use the database (see the module docstring): `SchemaError`
    if it must be migrated first, `StorageError` if it cannot be reached."""
    async with _locked(engine, "check the database's schema") as connection:
        await connection.run_sync(_prepare)


async def create_missing(engine: AsyncEngine) -> None:
    """Create the tables of ``tables.py`` that do not exist yet, leaving existing ones as they
    are; a new database is also marked as at the newest revision. For tests and tools that
    build a database of their own; the server uses `prepare`."""
    async with _locked(engine, "create the transcript tables") as connection:
        await connection.run_sync(_create_missing)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Run the migrations up to ``revision``, in one transaction."""
    async with _locked(engine, "migrate the database") as connection:
        await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), revision))


async def stamp(engine: AsyncEngine, revision: str = "head") -> None:
    """Mark the database as at ``revision`` without running anything."""
    async with _locked(engine, "mark the schema's revision") as connection:
        await connection.run_sync(lambda sync: _stamp(sync, revision))


async def differences(engine: AsyncEngine) -> list[Any]:
    """What the database's tables lack or have beyond ``tables.py`` (Alembic's diff
    tuples); google-adk's tables and Alembic's own are not compared."""
    async with _locked(engine, "compare the schema") as connection:
        return await connection.run_sync(_differences)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _stamp(connection: Connection, revision: str) -> None:
    command.stamp(alembic_config(connection), revision)


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={
            "include_name": _ours,
            "compare_type": True,
            "compare_server_default": True,
        },
    )
    return list(compare_metadata(context, Base.metadata))


def _ours(name: str | None, type_: str, parent_names: Any) -> bool:
    if type_ == "table":
        return name in Base.metadata.tables
    return True


def _create_missing(connection: Connection) -> None:
    new = _current(connection) is None and not _our_tables(connection)
    Base.metadata.create_all(connection)
    if new:
        _stamp(connection, head_revision())


def _our_tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) & set(Base.metadata.tables)


def _prepare(connection: Connection) -> None:
    current = _current(connection)
    head = head_revision()
    if current == head:
        return
    if current is None and not _our_tables(connection):
        Base.metadata.create_all(connection)
        _stamp(connection, head)
        logger.info("created the transcript tables (schema revision %s)", head)
        return
    found = f"revision {current}" if current else "the tables of a version before migrations"
    raise SchemaError(
        f"the database holds {found}; this server needs revision {head}: "
        f"run `{UPGRADE_COMMAND}` (with the same DATABASE_URL) before starting it"
    )


@asynccontextmanager
async def _locked(engine: AsyncEngine, action: str) -> AsyncIterator[AsyncConnection]:
    """A transaction on ``engine`` that holds the schema for itself: PostgreSQL's advisory
    lock, SQLite's write lock from the first statement on (``BEGIN IMMEDIATE``), so that
    worker processes starting together on a new database wait for the one creating it.
    Database errors become `StorageError` (`SchemaError` passes through)."""
    try:
        async with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                await connection.execute(select(func.pg_advisory_xact_lock(_SCHEMA_LOCK)))
            else:
                await connection.exec_driver_sql("BEGIN IMMEDIATE")
            yield connection
    except DATABASE_ERRORS as exc:
        raise StorageError(f"could not {action}") from exc
