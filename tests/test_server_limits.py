"""The server's limits on client connections, over real sockets on loopback.

A client has a few seconds to send a request, whatever it trickles meanwhile; an established
media stream is not bound by that; beyond its connection limit a process still answers health
checks and turns anything else away at once; under a low open-file limit, a flood of idle
connections no longer stops ``/healthz``. No timing is asserted beyond "closed, or answered,
within a generous bound".
"""

import asyncio
import contextlib
import resource
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidStatus

from telephony.app import create_app
from telephony.cli.serve import connection_limits
from telephony.config import Settings
from telephony.connections import (
    FDS_BESIDES_CONNECTIONS,
    HEALTH_RESERVE,
    MAX_CONNECTIONS,
    MAX_HEAD_BYTES,
    ConnectionLimits,
    fit_to_open_files,
)
from telephony.server import bind, serve_in_process
from tests.test_processes import clean_env, free_port, wait_healthy

GENEROUS_S = 10.0
"""How long a test waits for what the limits promise in a fraction of it."""
QUICK = ConnectionLimits(request_read_timeout_s=0.5, keep_alive_s=1)
"""Short deadlines, so that a test proves them in about a second."""
LOW = ConnectionLimits(max_connections=4, health_reserve=2, request_read_timeout_s=60.0)
"""A limit a test reaches with a handful of idle connections (which the deadline keeps)."""
HEALTH = b"GET /healthz HTTP/1.1\r\nHost: limits.test\r\nUser-Agent: a-slow-client\r\n\r\n"


@dataclass(frozen=True)
class Served:
    port: int
    server: uvicorn.Server

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def open_connections(self) -> int:
        """Connections the server holds now (uvicorn's own count, media streams included)."""
        return len(self.server.server_state.connections)


@contextlib.asynccontextmanager
async def serving(tmp_path: Path, limits: ConnectionLimits) -> AsyncIterator[Served]:
    """The product's app, offline and without signature checks, served with ``limits``."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        twilio_validate_signatures=False,
        google_api_key=None,
        google_genai_use_vertexai=False,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'limits.db'}",
        stream_start_timeout_s=60.0,  # a media stream that sends nothing stays open
    )
    sock = bind()
    async with serve_in_process(create_app(settings), sock, limits) as server:
        yield Served(sock.getsockname()[1], server)


@contextlib.asynccontextmanager
async def raw_connection(
    port: int,
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def until_closed(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection; fails if it does not
    within ``GENEROUS_S``. A reset (the client was still sending) counts as closed."""
    received = b""
    async with asyncio.timeout(GENEROUS_S):
        while True:
            try:
                chunk = await reader.read(65536)
            except ConnectionResetError:
                return received
            if not chunk:
                return received
            received += chunk


async def trickle(writer: asyncio.StreamWriter, data: bytes, pause_s: float) -> None:
    """Send ``data`` a byte at a time until it is sent or the server has closed."""
    with contextlib.suppress(ConnectionError):
        for byte in data:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(pause_s)


async def test_a_client_that_sends_nothing_is_closed_after_the_read_deadline(
    tmp_path: Path,
) -> None:
    async with serving(tmp_path, QUICK) as served, raw_connection(served.port) as (reader, _):
        assert await until_closed(reader) == b""


async def test_half_a_request_line_is_answered_408_and_closed(tmp_path: Path) -> None:
    async with serving(tmp_path, QUICK) as served, raw_connection(served.port) as (reader, w):
        w.write(b"GET /heal")
        assert (await until_closed(reader)).startswith(b"HTTP/1.1 408 ")


async def test_headers_sent_byte_by_byte_too_slowly_are_cut_off(tmp_path: Path) -> None:
    """Each byte comes well within the deadline; the whole head does not."""
    async with serving(tmp_path, QUICK) as served, raw_connection(served.port) as (reader, w):
        sending = asyncio.create_task(trickle(w, HEALTH, pause_s=0.05))
        response = await until_closed(reader)
        await sending
    assert response.startswith(b"HTTP/1.1 408 "), response


async def test_a_request_sent_in_pieces_within_the_deadline_is_answered(tmp_path: Path) -> None:
    async with (
        serving(tmp_path, ConnectionLimits()) as served,
        raw_connection(served.port) as (reader, writer),
    ):
        for piece in (HEALTH[:7], HEALTH[7:30], HEALTH[30:]):
            writer.write(piece)
            await asyncio.sleep(0.1)
        async with asyncio.timeout(GENEROUS_S):
            status = await reader.readline()
    assert status.startswith(b"HTTP/1.1 200 ")


async def test_a_body_sent_byte_by_byte_too_slowly_is_cut_off(tmp_path: Path) -> None:
    """The deadline covers the whole request, not only its head."""
    head = b"POST /no-such-page HTTP/1.1\r\nHost: limits.test\r\nContent-Length: 100\r\n\r\n"
    async with serving(tmp_path, QUICK) as served, raw_connection(served.port) as (reader, w):
        w.write(head)
        sending = asyncio.create_task(trickle(w, b"a" * 100, pause_s=0.1))
        await until_closed(reader)
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sending


@pytest.mark.parametrize(
    "trickled",
    [
        pytest.param(b"\r\n" * 50, id="blank-lines-that-never-begin-a-request"),
        pytest.param(HEALTH, id="the-next-request-byte-by-byte"),
    ],
)
async def test_a_kept_alive_connection_that_trickles_bytes_is_closed(
    tmp_path: Path, trickled: bytes
) -> None:
    """uvicorn's keep-alive timer stops at any byte; a kept-alive connection must still begin
    its next request within the keep-alive time and send it within the read deadline."""
    async with serving(tmp_path, QUICK) as served, raw_connection(served.port) as (reader, w):
        w.write(HEALTH)
        async with asyncio.timeout(GENEROUS_S):
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.lower().split(b"\r\n")
                if line.startswith(b"content-length:")
            )
            await reader.readexactly(length)
        sending = asyncio.create_task(trickle(w, trickled, pause_s=0.1))
        rest = await until_closed(reader)
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sending
    assert b"200 OK" not in rest, "the trickled request must not have been served"


async def test_an_established_media_stream_outlives_the_read_deadline(tmp_path: Path) -> None:
    """The deadline covers the upgrade request only: a call lasts many minutes."""
    async with serving(tmp_path, QUICK) as served:
        url = f"ws://127.0.0.1:{served.port}/twilio/media"
        async with ws_connect(url, open_timeout=GENEROUS_S) as stream:
            await asyncio.sleep(4 * QUICK.request_read_timeout_s + 2 * QUICK.keep_alive_s)
            pong = await stream.ping()
            async with asyncio.timeout(GENEROUS_S):
                await pong


async def test_beyond_the_limit_health_checks_answer_and_other_requests_get_503(
    tmp_path: Path,
) -> None:
    async with serving(tmp_path, LOW) as served, contextlib.AsyncExitStack() as idle:
        for _ in range(LOW.max_connections):
            await idle.enter_async_context(raw_connection(served.port))
        async with httpx.AsyncClient(base_url=served.base_url, timeout=GENEROUS_S) as client:
            health = await client.get("/healthz")
            ordinary = await client.get("/no-such-page")
        with pytest.raises(InvalidStatus) as refused:
            async with ws_connect(f"ws://127.0.0.1:{served.port}/twilio/media"):
                pass
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
        assert ordinary.status_code == 503
        assert ordinary.headers["connection"] == "close"
        assert refused.value.response.status_code == 503
        await idle.aclose()
        assert await _status_once_under_the_limit(served, "/no-such-page") == 404


async def _status_once_under_the_limit(served: Served, path: str) -> int:
    """The status of ``path`` once the server has let go of closed connections."""
    async with (
        httpx.AsyncClient(base_url=served.base_url, timeout=GENEROUS_S) as client,
        asyncio.timeout(GENEROUS_S),
    ):
        while True:
            response = await client.get(path, headers={"connection": "close"})
            if response.status_code != 503:
                return response.status_code
            await asyncio.sleep(0.05)


async def test_at_the_hard_cap_the_longest_waiting_connection_makes_room(
    tmp_path: Path,
) -> None:
    """Idle connections beyond the limit and its reserve push the oldest ones out, so the
    process never holds more, and a health check always gets in."""
    flood = LOW.hard_cap + 4
    async with serving(tmp_path, LOW) as served, contextlib.AsyncExitStack() as idle:
        readers = [
            (await idle.enter_async_context(raw_connection(served.port)))[0] for _ in range(flood)
        ]
        for reader in readers[: flood - LOW.hard_cap]:
            assert await until_closed(reader) == b""
        assert served.open_connections() <= LOW.hard_cap
        async with httpx.AsyncClient(base_url=served.base_url, timeout=GENEROUS_S) as client:
            assert (await client.get("/healthz")).status_code == 200
        assert await until_closed(readers[flood - LOW.hard_cap]) == b""


async def test_a_head_larger_than_the_cap_is_answered_431(tmp_path: Path) -> None:
    async with serving(tmp_path, QUICK) as served, raw_connection(served.port) as (reader, w):
        w.write(b"GET /healthz HTTP/1.1\r\nX-Padding: " + b"a" * (MAX_HEAD_BYTES + 1))
        assert (await until_closed(reader)).startswith(b"HTTP/1.1 431 ")


def test_the_settings_default_to_the_limits_constants() -> None:
    """``serve`` builds its limits from the settings; by default they are the constants'."""
    assert connection_limits(Settings(_env_file=None)) == ConnectionLimits()  # type: ignore[call-arg]


def test_the_limit_is_lowered_to_fit_the_open_file_limit() -> None:
    fitted = fit_to_open_files(ConnectionLimits(), open_files=1024)
    assert fitted.hard_cap == 1024 - FDS_BESIDES_CONNECTIONS
    assert fit_to_open_files(ConnectionLimits(), open_files=1 << 20) == ConnectionLimits()


OPEN_FILES = 256
"""The server's open-file limit in the process test: its limit comes down to 112 + 16."""
IDLE_FLOOD = 2 * OPEN_FILES
"""Idle connections opened against it: twice as many as it has descriptors."""


def _low_open_file_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES))


@pytest.fixture
def idle_sockets() -> Iterator[list[socket.socket]]:
    sockets: list[socket.socket] = []
    yield sockets
    for sock in sockets:
        sock.close()


def test_under_a_low_open_file_limit_an_idle_flood_does_not_stop_healthz(
    tmp_path: Path, idle_sockets: list[socket.socket]
) -> None:
    """``serve`` with ``ulimit -n 256`` and twice as many idle connections as descriptors:
    before these limits, ``accept`` failed and ``/healthz`` went unanswered."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "telephony", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=clean_env(
            TWILIO_VALIDATE_SIGNATURES="false",
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'flood.db'}",
            REQUEST_READ_TIMEOUT_S="60",  # the flood stays for the whole test
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_low_open_file_limit,
    )
    try:
        wait_healthy(base_url, process)
        for _ in range(IDLE_FLOOD):
            idle_sockets.append(socket.create_connection(("127.0.0.1", port), timeout=GENEROUS_S))
        health = httpx.get(base_url + "/healthz", timeout=GENEROUS_S)
        ordinary = httpx.get(base_url + "/no-such-page", timeout=GENEROUS_S)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    assert health.status_code == 200, output
    assert ordinary.status_code == 503, output
    lowered = OPEN_FILES - FDS_BESIDES_CONNECTIONS - HEALTH_RESERVE
    assert f"max_connections lowered from {MAX_CONNECTIONS} to {lowered}" in output
    assert "out of system resource" not in output and "Too many open files" not in output
