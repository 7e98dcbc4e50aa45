"""Whether a SQLite database file is still where the server opened it.

SQLite keeps writing through the connections it has open even after the file, or the whole
directory, was deleted or replaced: every write succeeds, into a file no one can open any more,
and is lost when the process stops. Nothing fails, so nothing would be noticed. `SqliteFile`
notices: it remembers the file's identity (device and inode) once the schema is in place, and
`check` compares it with what the path holds now. The server checks on every ``/healthz``
(which then fails with the reason) and every few seconds (``keeper``), and logs one error when
the file goes, one line when it is back.
"""

import logging
import os
from pathlib import Path
from typing import Self

from sqlalchemy.engine import URL

from telephony.transcripts.engine import shares_a_file

logger = logging.getLogger(__name__)

GONE = "the SQLite database file was deleted (or its directory)"
REPLACED = "the SQLite database file was replaced by another"
UNREADABLE = "the SQLite database file cannot be checked"


class SqliteFile:
    """The file behind a SQLite engine, and whether it is still the one in use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._identity: tuple[int, int] | None = None
        self._reported: str | None = None

    @classmethod
    def of(cls, url: URL) -> Self | None:
        """The file of a SQLite URL; None for another database or an in-memory one."""
        if not shares_a_file(url) or url.database is None:
            return None
        return cls(Path(url.database).absolute())

    def remember(self) -> None:
        """Take the file at the path now as the one in use (after the schema was created)."""
        stat = self.path.stat()
        self._identity = (stat.st_dev, stat.st_ino)
        self._report(None)

    def check(self) -> str | None:
        """What is wrong with the file in use, for an operator (no path, no data); None if it
        is still in place or was never remembered. Logs a change of state once."""
        if self._identity is None:
            return None
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            problem: str | None = GONE
        except OSError:
            problem = UNREADABLE
        else:
            problem = None if (stat.st_dev, stat.st_ino) == self._identity else REPLACED
        self._report(problem)
        return problem

    def _report(self, problem: str | None) -> None:
        if problem == self._reported:
            return
        if problem is None:
            logger.warning("the SQLite database file %s is in place again", self.path)
        else:
            logger.error(
                "%s: %s. Everything written since goes to a file that is no longer in the file "
                "system and is lost when this process stops; while it runs, the file can still "
                "be copied from /proc/%d/fd/ (the entry marked '(deleted)'), then restore it "
                "and restart the server",
                problem,
                self.path,
                os.getpid(),
            )
        self._reported = problem
