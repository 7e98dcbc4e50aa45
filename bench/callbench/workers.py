"""Worker processes driven over a pipe: a request in, one answer out, in order.

A worker is started with the ``spawn`` method (a fresh interpreter, so nothing of the parent's
event loop or threads leaks in) and runs ``serve(pipe, session)``: an event loop (uvloop) that
opens the worker's session (an async context, such as a running emulator), says ``ready``, then
answers each ``(name, argument)`` request with ``("ok", value)`` or ``("error", traceback)``.
``("stop", None)`` closes the session and ends the process.

Automatic garbage collection is off in a worker: a full collection over the objects of a few
hundred live calls holds the event loop for tens of milliseconds, which would show up as the
peers' own delay. The worker collects between requests instead (a step's garbage is gone once
its answer has been sent).
"""

import asyncio
import contextlib
import gc
import logging
import multiprocessing
import traceback
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from multiprocessing.connection import Connection
from typing import Any

import uvloop

Handler = Callable[[str, Any], Awaitable[Any]]
Session = Callable[[], AbstractAsyncContextManager[Handler]]

_SPAWN = multiprocessing.get_context("spawn")


class WorkerError(RuntimeError):
    """A worker answered a request with an error, or died."""


class Worker:
    """The parent's handle on one worker process."""

    def __init__(self, name: str, target: Callable[[Connection], None]) -> None:
        self.name = name
        self._pipe, child = _SPAWN.Pipe()
        self._process = _SPAWN.Process(target=target, args=(child,), name=name, daemon=True)
        self._process.start()
        child.close()
        self._lock = asyncio.Lock()

    @property
    def pid(self) -> int:
        pid = self._process.pid
        assert pid is not None
        return pid

    async def ready(self, timeout_s: float = 120.0) -> Any:
        """Wait until the worker's session is open; return what it said then."""
        async with self._lock:
            return await asyncio.to_thread(self._receive, "start", timeout_s)

    async def request(self, name: str, argument: Any = None, timeout_s: float = 600.0) -> Any:
        """Send one request and wait for its answer (in a thread, off the event loop)."""
        async with self._lock:
            return await asyncio.to_thread(self._exchange, name, argument, timeout_s)

    def _exchange(self, name: str, argument: Any, timeout_s: float) -> Any:
        try:
            self._pipe.send((name, argument))
        except OSError as exc:
            raise WorkerError(f"{self.name} is gone (exit code {self._process.exitcode})") from exc
        return self._receive(name, timeout_s)

    def _receive(self, name: str, timeout_s: float) -> Any:
        try:
            if not self._pipe.poll(timeout_s):
                raise WorkerError(f"{self.name}: no answer to {name} within {timeout_s} s")
            status, value = self._pipe.recv()
        except (EOFError, OSError) as exc:
            self._process.join(1.0)
            raise WorkerError(f"{self.name} died (exit code {self._process.exitcode})") from exc
        if status == "error":
            raise WorkerError(f"{self.name}: {name} failed:\n{value}")
        return value

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask the worker to stop; terminate it if it does not."""
        if self._process.is_alive():
            with contextlib.suppress(OSError):
                self._pipe.send(("stop", None))
            self._process.join(timeout_s)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout_s)
        self._pipe.close()


def serve(pipe: Connection, session: Session) -> None:
    """Run in the worker: open ``session``, answer requests with its handler until ``stop``."""
    logging.basicConfig(
        level=logging.WARNING, format="%(processName)s %(levelname)s %(name)s: %(message)s"
    )
    uvloop.run(_serve(pipe, session))


async def _serve(pipe: Connection, session: Session) -> None:
    gc.disable()
    async with session() as handler:
        gc.collect()
        pipe.send(("ready", None))
        while True:
            name, argument = await asyncio.to_thread(pipe.recv)
            if name == "stop":
                return
            try:
                answer: tuple[str, Any] = ("ok", await handler(name, argument))
            except Exception:  # noqa: BLE001 - the parent shows the traceback and stops the run
                answer = ("error", traceback.format_exc())
            pipe.send(answer)
            del answer, argument
            gc.collect()
