"""Running the app under uvicorn with the server limits the product needs.

``serve`` (and the Procfile) run it as a process; the demo, the tests and the benchmarks run the
very same configuration inside their event loop on a socket they bound first, so they know the
public URL before the app is built. The limits on client connections (how long a request may
take to arrive, how many connections a process holds, the reserve for health checks) are
``telephony/connections.py``'s.
"""

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from typing import cast

import uvicorn
from fastapi import FastAPI

from telephony.connections import ConnectionLimits, fit_to_open_files, http_protocol
from telephony.logcontext import CallContext, JsonFormatter

WS_MAX_SIZE = 256 * 1024
"""Hard cap on a WebSocket message. The app drops anything over ``MAX_MESSAGE_BYTES`` (64 KiB)
and keeps the call; only absurd messages make the server close the connection (code 1009)."""
GRACEFUL_SHUTDOWN_S = 30
DEFAULT_LIMITS = ConnectionLimits()
"""The limits on client connections when the caller gives none (the demo, in-process tests)."""
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str, log_format: str = "text") -> None:
    """Log to standard error at ``level``: lines of text, or JSON objects (``"json"``), each
    record with the call it is about (``logcontext``)."""
    handler = logging.StreamHandler()
    handler.addFilter(CallContext())
    formatter = JsonFormatter() if log_format == "json" else logging.Formatter(LOG_FORMAT)
    handler.setFormatter(formatter)
    logging.basicConfig(level=level.upper(), handlers=[handler])
    # These libraries log request bodies or statement parameters (personal data) at DEBUG.
    for name in ("aiosqlite", "websockets", "httpcore", "httpx", "google_genai"):
        logger = logging.getLogger(name)
        logger.setLevel(max(logging.INFO, logger.getEffectiveLevel()))


def uvicorn_config(
    app: FastAPI | Callable[[], FastAPI] | str,
    *,
    host: str,
    port: int,
    factory: bool = False,
    workers: int = 1,
    limits: ConnectionLimits = DEFAULT_LIMITS,
) -> uvicorn.Config:
    """The server settings of every way the app runs: message cap, pings, graceful shutdown,
    and ``limits`` on client connections, fitted to the process's open-file limit."""
    limits = fit_to_open_files(limits)
    protocol = http_protocol(limits)
    return uvicorn.Config(
        app,
        factory=factory,
        workers=workers,
        host=host,
        port=port,
        # uvicorn calls it as it would call a protocol class, with the same arguments.
        http=cast("type[asyncio.Protocol]", protocol) if protocol is not None else "auto",
        # Only for the fallback protocol: ours does better (a reserve for health checks).
        limit_concurrency=None if protocol is not None else limits.hard_cap,
        timeout_keep_alive=limits.keep_alive_s,
        ws_max_size=WS_MAX_SIZE,
        # Base64 audio barely compresses; deflating every frame would cost CPU on both ends.
        ws_per_message_deflate=False,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        proxy_headers=True,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        log_config=None,
        access_log=False,
        server_header=False,
    )


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening-ready TCP socket; port 0 picks a free one (read it from ``getsockname``)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


class _InProcessServer(uvicorn.Server):
    """Leaves the process's signal handlers to the program that embeds it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def run_in_process(
    config: uvicorn.Config, sock: socket.socket
) -> AsyncIterator[uvicorn.Server]:
    """Run a uvicorn server on ``sock`` inside the running event loop until the block exits."""
    server = _InProcessServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("the server stopped while starting")
            await asyncio.sleep(0.01)
        yield server
    finally:
        server.should_exit = True
        await task
        sock.close()


@contextlib.asynccontextmanager
async def serve_in_process(
    app: FastAPI, sock: socket.socket, limits: ConnectionLimits = DEFAULT_LIMITS
) -> AsyncIterator[uvicorn.Server]:
    """Serve ``app`` on ``sock`` with the production settings (lifespan included)."""
    host, port = sock.getsockname()[:2]
    config = uvicorn_config(app, host=host, port=port, limits=limits)
    async with run_in_process(config, sock) as server:
        yield server
