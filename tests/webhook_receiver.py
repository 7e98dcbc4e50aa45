"""A webhook receiver on loopback for tests: records each request, fails the first ones if
told to."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from fastapi import FastAPI, Request, Response

from telephony.server import bind, serve_in_process


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str = ""
    fail_first: int = 0
    """Answer this many requests with a 500 before accepting."""
    received: list[Received] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)


@contextlib.asynccontextmanager
async def webhook_receiver(fail_first: int = 0) -> AsyncIterator[Receiver]:
    receiver = Receiver(fail_first=fail_first)
    app = FastAPI()

    @app.post("/hook")
    async def hook(request: Request) -> Response:
        receiver.received.append(Received(dict(request.headers), await request.body()))
        receiver.changed.set()
        if len(receiver.received) <= receiver.fail_first:
            return Response(status_code=500)
        return Response(status_code=204)

    sock = bind()
    receiver.url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    async with serve_in_process(app, sock):
        yield receiver


def dead_url() -> str:
    """A URL where nothing listens (the port was free a moment ago)."""
    with bind() as sock:
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"
