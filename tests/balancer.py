"""A load balancer in front of server instances, for tests of the production topology.

Each client connection carries one request (the balancer asks the instance to close after its
answer, as an HTTP/1.1 proxy that does not pool connections does), and each request goes to the
instance the balancer picks: round robin by default, or by a rule on the path, as balancers'
path-based routing allows (a test can so send every request about one thing to one instance
and everything else to another: the worst case for state kept in one process). WebSocket
upgrades are passed through and stay on their instance for the life of the socket.
"""

import asyncio
import contextlib
import itertools
from collections.abc import Callable, Sequence
from types import TracebackType
from urllib.parse import urlsplit

_HEAD_END = b"\r\n\r\n"
_HOP_BY_HOP = (b"connection", b"keep-alive")


class Balancer:
    """Forwards each request to one of ``backends`` (``http://host:port`` origins)."""

    def __init__(self, backends: Sequence[str], rule: Callable[[str], int] | None = None) -> None:
        self._backends = [urlsplit(url) for url in backends]
        turns = itertools.cycle(range(len(backends)))
        self._rule = rule or (lambda _path: next(turns))
        self.routed: list[tuple[str, int]] = []
        """Each request's path and the index of the instance it went to, in order."""
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aenter__(self) -> "Balancer":
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.get_running_loop().create_task(self._forward(reader, writer))
        self._connections.add(task)
        task.add_done_callback(self._connections.discard)

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(_HEAD_END)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        path = head.split(b" ", 2)[1].decode("latin-1").split("?", 1)[0]
        index = self._rule(path)
        self.routed.append((path, index))
        backend = self._backends[index]
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                backend.hostname, backend.port
            )
        except OSError:
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            writer.close()
            return
        upstream_writer.write(_one_request(head))
        up = asyncio.create_task(_pipe(reader, upstream_writer))
        down = asyncio.create_task(_pipe(upstream_reader, writer))
        try:
            await asyncio.wait((up, down), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (up, down):
                task.cancel()
            await asyncio.gather(up, down, return_exceptions=True)
            for stream in (writer, upstream_writer):
                stream.close()


def _one_request(head: bytes) -> bytes:
    """The request head with ``Connection: close`` unless it upgrades to a WebSocket."""
    lines = head[: -len(_HEAD_END)].split(b"\r\n")
    if any(line.lower().startswith(b"upgrade:") for line in lines[1:]):
        return head
    kept = [lines[0]] + [
        line for line in lines[1:] if line.split(b":", 1)[0].strip().lower() not in _HOP_BY_HOP
    ]
    return b"\r\n".join([*kept, b"Connection: close"]) + _HEAD_END


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
