"""A TCP relay that can freeze: the failure a live model shows when its server hangs or the
network stops passing packets without a reset. Frozen, it neither forwards nor closes anything,
so the connection looks alive to both ends (tests and ``bench/fallback.py`` use it)."""

import asyncio
import contextlib
from collections.abc import AsyncIterator


class Freezer:
    """Relays loopback TCP connections to ``upstream_port`` until ``freeze()``."""

    def __init__(self, upstream_port: int, *, frozen: bool = False) -> None:
        self._upstream_port = upstream_port
        self._flowing = asyncio.Event()
        if not frozen:
            self._flowing.set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: list[asyncio.StreamWriter] = []
        self.port = 0

    def freeze(self) -> None:
        self._flowing.clear()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator["Freezer"]:
        server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        try:
            yield self
        finally:
            server.close()
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            for writer in self._writers:
                writer.close()
            await server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._upstream_port)
        self._writers.append(up_writer)
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pump(source, sink))
            self._tasks.add(task)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await source.read(65536):
                await self._flowing.wait()
                sink.write(data)
                await sink.drain()
