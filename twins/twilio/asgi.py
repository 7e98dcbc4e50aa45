"""Serving an ASGI app on loopback inside the running event loop (uvicorn, no signal handlers)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Literal

import uvicorn
from starlette.types import ASGIApp

from telephony.server import bind, run_in_process


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
    sock = bind(host, port)
    config = uvicorn.Config(
        app,
        log_config=None,
        log_level="warning",
        lifespan=lifespan,
        timeout_graceful_shutdown=int(shutdown_timeout_s),
    )
    async with run_in_process(config, sock):
        yield f"http://{host}:{sock.getsockname()[1]}"
