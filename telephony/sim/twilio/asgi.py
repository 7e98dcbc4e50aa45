"""Serving an ASGI app on loopback inside the running event loop (uvicorn, no signal handlers)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Literal

import uvicorn
from starlette.types import ASGIApp


class _InProcessServer(uvicorn.Server):
    """A uvicorn server that leaves the process's signal handlers alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serve_asgi(
    app: ASGIApp,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    lifespan: Literal["auto", "on", "off"] = "auto",
    shutdown_timeout_s: float = 5.0,
) -> AsyncIterator[str]:
    """Serve ``app`` until the block exits; yields its base URL (``http://host:port``).

    ``port=0`` picks a free port. Open connections get ``shutdown_timeout_s`` to finish.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_config=None,
        log_level="warning",
        lifespan=lifespan,
        timeout_graceful_shutdown=int(shutdown_timeout_s),
    )
    server = _InProcessServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("the ASGI server stopped during startup")
            await asyncio.sleep(0.005)
        yield f"http://{host}:{bound_port}"
    finally:
        server.should_exit = True
        await task
        sock.close()
