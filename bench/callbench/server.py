"""The server under test, in its own process: ``python -m telephony serve``.

Its environment is built from nothing but what it needs (no setting leaks in from the
parent's environment, and its working directory is a fresh temporary one, so no ``.env`` is
read): the public URL, Twilio credentials, an API token for ``/metrics``, a SQLite database
in the working directory, and the Live emulator's client environment, which makes the server
run "online" against the emulator. ``extra_env`` adds settings for experiments.

With ``workers`` above 1 it runs ``serve --workers N``: a supervisor that starts N worker
processes sharing the listening socket (plus ``multiprocessing``'s resource tracker, an idle
helper). Its ``pids`` are then the supervisor and all its children, found once every worker has
started serving, and the calls' counters and the loop lag come from every worker's metrics files
(``shared_metrics``), not from ``GET /metrics``, which one random worker answers.
"""

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import httpx

from bench.callbench import shared_metrics
from bench.callbench.procstat import children, command_line
from bench.callbench.records import tagged_connection

ROOT = Path(__file__).resolve().parents[2]
_PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")
_WORKER_MARK = "spawn_main"
"""In a uvicorn worker's command line (``multiprocessing``'s spawn), not in the tracker's."""


def add_server_env(parser: argparse.ArgumentParser, example: str) -> None:
    """``--server-env NAME=VALUE`` (repeatable): a setting for the server; the parsed value is
    a list of (name, value) pairs, so ``dict(args.server_env)`` is the settings."""
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        type=_setting,
        metavar="NAME=VALUE",
        help=f"a setting for the server, e.g. {example} (repeatable)",
    )


def _setting(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"wants NAME=VALUE, got {text!r}")
    return name, value


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """Start, watch, query and stop the server."""

    def __init__(
        self,
        workdir: Path,
        live_env: Mapping[str, str],
        extra_env: Mapping[str, str],
        workers: int = 1,
    ) -> None:
        self.workdir = workdir
        self.workers = workers
        self.metrics_dir = workdir / "metrics" if workers > 1 else None
        self.worker_pids: tuple[int, ...] = ()
        self._children: tuple[int, ...] = ()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.auth_token = secrets.token_hex(16)
        self.api_token = secrets.token_urlsafe(24)
        self.account_sid = "AC" + secrets.token_hex(16)
        self.db_path = workdir / "bench.db"
        self.log_path = workdir / "server.log"
        self.env = {name: os.environ[name] for name in _PASSED_THROUGH if name in os.environ}
        self.env.update(
            PYTHONPATH=str(ROOT),
            PUBLIC_URL=self.url,
            TWILIO_AUTH_TOKEN=self.auth_token,
            TWILIO_ACCOUNT_SID=self.account_sid,
            API_TOKEN=self.api_token,
            DATABASE_URL=f"sqlite+aiosqlite:///{self.db_path}",
            LOG_LEVEL="WARNING",
        )
        self.env.update(live_env)
        self.env.update(extra_env)
        if self.metrics_dir is not None:
            self.env["PROMETHEUS_MULTIPROC_DIR"] = str(self.metrics_dir)
        self._process: subprocess.Popen[bytes] | None = None
        self._client = httpx.AsyncClient(
            base_url=self.url,
            headers={"Authorization": f"Bearer {self.api_token}"},
            timeout=30.0,
            trust_env=False,
        )

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    @property
    def pids(self) -> tuple[int, ...]:
        """Every process of the server: the one started, and with workers its children."""
        return (self.pid, *self._children)

    @property
    def alive(self) -> bool:
        """The server runs, and with workers, every worker it started with still does (one that
        died took its calls with it, even if the supervisor starts another)."""
        if self._process is None or self._process.poll() is not None:
            return False
        running = set(children(self.pid))
        return all(pid in running and command_line(pid) for pid in self.worker_pids)

    @property
    def exit_code(self) -> int | None:
        return None if self._process is None else self._process.poll()

    def start(self) -> None:
        command = [sys.executable, "-m", "telephony", "serve", "--host", "127.0.0.1"]
        if self.metrics_dir is not None:
            self.metrics_dir.mkdir()
            command += ["--workers", str(self.workers)]
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [*command, "--port", str(self.port)],
                cwd=self.workdir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def wait_ready(self, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            if not self.alive:
                raise RuntimeError(f"the server exited with code {self.exit_code}")
            try:
                await self.metrics()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
            await asyncio.sleep(0.2)
        if self.metrics_dir is not None:
            await self._wait_workers(self.metrics_dir, deadline)

    async def _wait_workers(self, directory: Path, deadline: float) -> None:
        """Until every worker serves: a worker's event-loop lag monitor runs once its app has
        started, and it accepts connections right after."""
        while True:
            if not self.alive:
                raise RuntimeError(f"the server exited with code {self.exit_code}")
            found = children(self.pid)
            workers = [pid for pid in found if _WORKER_MARK in command_line(pid)]
            if len(workers) == self.workers and all(
                shared_metrics.read_worker(directory, pid).loop_lag.samples for pid in workers
            ):
                self.worker_pids, self._children = tuple(workers), tuple(found)
                return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{len(workers)} of {self.workers} workers serving after the deadline"
                )
            await asyncio.sleep(0.2)

    async def metrics(self, window_s: float = 60.0) -> dict[str, Any]:
        """``GET /metrics?window_s=...``."""
        response = await self._client.get("/metrics", params={"window_s": window_s})
        response.raise_for_status()
        found: dict[str, Any] = response.json()
        return found

    async def counters(self) -> dict[str, float]:
        """Calls in progress, and the frames in and dropped of the calls that have ended:
        ``/metrics``, or with workers, every worker's added up."""
        if self.metrics_dir is None:
            report = await self.metrics()
            totals = report["totals"]
            return {
                "calls_active": report["calls_active"],
                "frames_in": totals["frames_in"],
                "frames_dropped": totals["frames_dropped"],
            }
        return shared_metrics.totals(
            shared_metrics.read_workers(self.metrics_dir, self.worker_pids)
        )

    async def wait_idle(self, timeout_s: float = 60.0) -> dict[str, float]:
        """``counters()`` once no call is in progress in any worker (every call has added its
        totals)."""
        deadline = time.monotonic() + timeout_s
        while True:
            report = await self.counters()
            if report["calls_active"] == 0 or time.monotonic() > deadline:
                return report
            await asyncio.sleep(0.1)

    def window_mark(self) -> dict[int, shared_metrics.WorkerMetrics]:
        """What ``window_summary`` needs from the start of a window (nothing for one process:
        its ``/metrics`` summarises any recent window itself)."""
        if self.metrics_dir is None:
            return {}
        return shared_metrics.read_workers(self.metrics_dir, self.worker_pids)

    async def window_summary(
        self, mark: dict[int, shared_metrics.WorkerMetrics], window_s: float
    ) -> dict[str, Any]:
        """Event-loop lag and barge-in reaction over the window that ``mark`` began: exact from
        ``/metrics``, or with workers, bucket bounds (see ``shared_metrics``)."""
        if self.metrics_dir is None:
            return await self.metrics(window_s=window_s)
        now = shared_metrics.read_workers(self.metrics_dir, self.worker_pids)
        return shared_metrics.window(mark, now)

    async def connections_by_call(
        self, call_sids: Iterable[str], timeout_s: float = 30.0
    ) -> dict[str, int]:
        """CallSid -> the emulator connection that answered it, from the stored transcripts.

        The emulator tags every reply's transcription with its connection (``[c17] ...``) and
        the server stores agent turns; waits until every call has been marked ended.
        """
        wanted = set(call_sids)
        deadline = time.monotonic() + timeout_s
        while True:
            ended, found = await asyncio.to_thread(read_tags, self.db_path, wanted)
            if ended >= wanted or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.2)

    async def stop(self, timeout_s: float = 15.0) -> None:
        await self._client.aclose()
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            await asyncio.to_thread(process.wait, timeout_s)
        except subprocess.TimeoutExpired:
            for child in self._children:  # a killed supervisor leaves its workers behind
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)
            process.kill()
            await asyncio.to_thread(process.wait)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def read_tags(db_path: Path, wanted: set[str]) -> tuple[set[str], dict[str, int]]:
    """(calls of ``wanted`` that have ended, CallSid -> the connection its first tagged turn
    names), read from the server's SQLite file (tables ``calls`` and ``call_turns``)."""
    with contextlib.closing(
        sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10.0)
    ) as db:
        ended = {
            sid
            for (sid,) in db.execute("SELECT call_sid FROM calls WHERE ended_at IS NOT NULL")
            if sid in wanted
        }
        found: dict[str, int] = {}
        rows = db.execute(
            "SELECT calls.call_sid, call_turns.text FROM call_turns"
            " JOIN calls ON calls.id = call_turns.call_id ORDER BY call_turns.seq"
        )
        for sid, text in rows:
            connection = tagged_connection(text or "")
            if sid in wanted and sid not in found and connection is not None:
                found[sid] = connection
    return ended, found
