"""Real database outages for tests, on SQLite and on PostgreSQL.

- **SQLite**: the database file and its write-ahead log are made immutable (``chattr +i``).
  Writes then fail as on a full or broken disk ("disk I/O error" on open connections, "attempt
  to write a readonly database" on new ones); reads still work. ``chmod`` would not do: the tests
  run as root. The ``-shm`` file is left alone: SQLite maps it into memory, and a write to an
  immutable mapping kills the process with SIGBUS. Needs a file system with the attribute
  (ext4, xfs, btrfs; not tmpfs).
- **PostgreSQL**: a private cluster of the installed PostgreSQL (``pg_createcluster`` on a free
  port), so that stopping it (``pg_ctlcluster ... stop``, fast mode: connections are cut) never
  disturbs another test run using the shared server at ``TEST_DATABASE_URL``. It is created only
  when ``TEST_DATABASE_URL`` is set, the same switch as the other PostgreSQL tests.

Both need root or passwordless sudo. Where an outage cannot be made, the test is skipped with
the reason, or fails when ``REQUIRE_POSTGRES=1`` or ``CI`` is set (CI must run them all). The
database always comes back: `Outage.during` restarts it in a ``finally``.
"""

import asyncio
import contextlib
import inspect
import os
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

POLL_S = 0.02


def unavailable(reason: str) -> None:
    """Skip the test for ``reason``; fail it instead where every test must run (CI)."""
    if os.environ.get("REQUIRE_POSTGRES") == "1" or os.environ.get("CI"):
        pytest.fail(f"cannot stage a database outage here: {reason}")
    pytest.skip(f"cannot stage a database outage here: {reason}")


def _privileged(*argv: str) -> list[str]:
    return list(argv) if os.geteuid() == 0 else ["sudo", "-n", *argv]


async def _run(*argv: str) -> None:
    process = await asyncio.create_subprocess_exec(
        *_privileged(*argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    output, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {output.decode(errors='replace')}")


@dataclass
class Outage:
    """A database a test can take away and bring back."""

    url: str
    kind: str
    _sqlite_file: Path | None = None
    _cluster: tuple[str, str] | None = None
    _frozen: tuple[Path, ...] = ()

    async def down(self) -> None:
        if self._sqlite_file is not None:
            wal = self._sqlite_file.with_name(self._sqlite_file.name + "-wal")
            self._frozen = (self._sqlite_file, *((wal,) if wal.exists() else ()))
            for path in self._frozen:
                await _run("chattr", "+i", str(path))
        else:
            assert self._cluster is not None
            await _run("pg_ctlcluster", *self._cluster, "stop", "-m", "fast")

    async def up(self) -> None:
        if self._sqlite_file is not None:
            for path in self._frozen:
                await _run("chattr", "-i", str(path))
            self._frozen = ()
        else:
            assert self._cluster is not None
            await _run("pg_ctlcluster", *self._cluster, "start")

    @contextlib.asynccontextmanager
    async def during(self) -> AsyncIterator[None]:
        """The database is away inside the block, and back after it, whatever happens."""
        await self.down()
        try:
            yield
        finally:
            await self.up()


def sqlite_outage(directory: Path) -> Outage:
    """A SQLite database in ``directory`` that can be made unwritable."""
    probe = directory / "chattr-probe"
    probe.touch()
    try:
        done = subprocess.run(_privileged("chattr", "+i", str(probe)), capture_output=True)
        if done.returncode != 0:
            unavailable(f"chattr +i failed: {done.stderr.decode(errors='replace').strip()}")
        subprocess.run(_privileged("chattr", "-i", str(probe)), check=True)
    finally:
        probe.unlink(missing_ok=True)
    path = directory / "outage.db"
    path.touch()  # an empty file is an empty database: there is something to freeze at once
    return Outage(f"sqlite+aiosqlite:///{path}", "sqlite", _sqlite_file=path)


@contextlib.contextmanager
def private_postgres() -> Iterator[Outage]:
    """A PostgreSQL cluster of this test run's own, trusted on loopback, dropped afterwards."""
    if not os.environ.get("TEST_DATABASE_URL"):
        unavailable("TEST_DATABASE_URL is not set (.ci/postgres starts a server and prints one)")
    if shutil.which("pg_createcluster") is None or not Path("/usr/lib/postgresql").is_dir():
        unavailable("PostgreSQL's cluster tools (postgresql-common) are not installed")
    version = max(Path("/usr/lib/postgresql").iterdir(), key=lambda p: int(p.name)).name
    name = f"telephony_outage_{os.getpid()}"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    created = subprocess.run(
        _privileged(
            "pg_createcluster", "--start-conf=manual", "--port", str(port), version, name,
            "--", "--auth-local=trust", "--auth-host=trust",
        ),
        capture_output=True,
    )  # fmt: skip
    if created.returncode != 0:
        unavailable(f"pg_createcluster failed: {created.stderr.decode(errors='replace').strip()}")
    try:
        subprocess.run(_privileged("pg_ctlcluster", version, name, "start"), check=True)
        yield Outage(
            f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres",
            "postgresql",
            _cluster=(version, name),
        )
    finally:
        subprocess.run(_privileged("pg_dropcluster", "--stop", version, name), check=False)


async def until(
    condition: Callable[[], object | Awaitable[object]], *, wait_s: float = 30.0
) -> None:
    """Wait until ``condition()`` (plain or awaitable) is true; fail after ``wait_s``."""
    async with asyncio.timeout(wait_s):
        while True:
            result = condition()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return
            await asyncio.sleep(POLL_S)
