"""The database engine: SQLite by default, PostgreSQL (``postgresql+asyncpg://``) to scale.

One engine can serve both the transcript store and ADK's ``DatabaseSessionService(db_engine=...)``.
"""

import logging
from typing import Any

import sqlalchemy
from sqlalchemy import Engine, event
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

DATABASE_ERRORS = (SQLAlchemyError, OSError)
"""What a failing database raises through SQLAlchemy: asyncpg lets socket errors (connection
refused, timeouts) through unwrapped."""

POSTGRES_CONNECT_TIMEOUT_S = 10.0
"""How long a new PostgreSQL connection may take (asyncpg's own default is 60 s): behind a lost
network a write fails, and is retried later, instead of holding its writer for a minute."""

SQLITE_BROKEN_CONNECTION = (
    "attempt to write a readonly database",
    "disk i/o error",
    "unable to open database file",
)
"""SQLite errors after which the pool's connections are thrown away, as after a lost server: a
connection opened while the file could not be written is read-only, and stays so after the
file can be written again (every later write on it would fail)."""

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for another one to commit before giving up. The wait happens
in aiosqlite's thread, not on the event loop; under overload a write transaction can stay open
for seconds (each of its statements waits its turn on a busy loop), and at 5 s calls were lost
to "database is locked" when 50 of them started at once."""


def create_engine(url: str | URL, **options: Any) -> AsyncEngine:
    """An async engine for ``url`` with the settings the store relies on.

    SQL parameters are kept out of logs and error messages (they hold phone numbers and what was
    said). SQLite connections get WAL (readers do not block the writer), a busy timeout (writers
    queue instead of failing) and enforced foreign keys; PostgreSQL connections are checked before
    use, so a restarted server costs no failed write, and may take ``POSTGRES_CONNECT_TIMEOUT_S``
    to open. ``options`` go to `create_async_engine` and win over these defaults.

    aiosqlite logs every statement with its parameters at DEBUG: unless the application has set
    a level for the ``aiosqlite`` logger, it is set to INFO here.

    An in-memory SQLite URL gets one shared connection: fine for a test, but concurrent
    transactions are not isolated from each other there; use a file. After an error that can
    leave a SQLite connection unusable (``SQLITE_BROKEN_CONNECTION``: the file could not be
    written), the pool's connections are replaced, so that writes work again once the file does.
    """
    url = make_url(url)
    settings: dict[str, Any] = {"hide_parameters": True}
    if url.get_backend_name() != "sqlite":
        settings["pool_pre_ping"] = True
    if url.get_driver_name() == "asyncpg":
        settings["connect_args"] = {"timeout": POSTGRES_CONNECT_TIMEOUT_S}
    settings.update(options)
    engine = create_async_engine(url, **settings)
    if engine.dialect.name == "sqlite":
        _sqlite_settings(engine.sync_engine)
        driver_logger = logging.getLogger("aiosqlite")
        if driver_logger.level == logging.NOTSET:
            driver_logger.setLevel(logging.INFO)
    return engine


def shares_a_file(url: URL) -> bool:
    """Whether ``url`` is a SQLite database in a file, which another connection opens too."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return False
    return url.query.get("mode") != "memory"


def create_sync_engine(url: URL) -> Engine:
    """A synchronous engine on the SQLite file of the async engine URL ``url``, with the same
    settings (see `create_engine`), for one thread of its own (``writes``)."""
    engine = sqlalchemy.create_engine(url.set(drivername="sqlite"), hide_parameters=True)
    _sqlite_settings(engine)
    return engine


def _sqlite_settings(engine: Engine) -> None:
    """Every SQLite connection of ``engine`` configured, and replaced after a broken write."""
    event.listen(engine, "connect", _configure_sqlite)
    event.listen(engine, "handle_error", _discard_broken_sqlite_connections)


def _discard_broken_sqlite_connections(context: ExceptionContext) -> None:
    message = str(context.original_exception).lower()
    if any(broken in message for broken in SQLITE_BROKEN_CONNECTION):
        context.is_disconnect = True


def _configure_sqlite(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS:d}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # With WAL a process crash still loses no commit; a power cut may lose the last few.
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()
