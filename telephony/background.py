"""Background tasks: one that runs while a block of code does (started on entry, cancelled and
awaited on exit), and a group given a last chance to finish at shutdown."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Collection, Coroutine
from typing import Any


@contextlib.asynccontextmanager
async def alongside(
    work: Coroutine[Any, Any, None], name: str | None = None
) -> AsyncIterator[None]:
    """Run ``work`` in its own task for as long as the block runs; when the block ends, cancel
    it and wait for it (an exception it raised before then comes out here)."""
    task = asyncio.create_task(work, name=name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def finish(tasks: Collection[asyncio.Task[None]], timeout_s: float) -> int:
    """Wait up to ``timeout_s`` for ``tasks``, then cancel those left and wait for them to
    stop. Returns how many were cut short."""
    if not tasks:
        return 0
    _done, left = await asyncio.wait(tasks, timeout=timeout_s)
    for task in left:
        task.cancel()
    for task in left:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return len(left)
