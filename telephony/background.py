"""A task that runs while a block of code does: started on entry, cancelled and awaited on exit."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
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
