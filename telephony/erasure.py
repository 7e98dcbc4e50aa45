"""Erasing a call: its rows in the transcript tables, and whatever else other parts keep about
it (ADK's session, a summary, recordings), which they register here as hooks.

A hook gets the stored `Call` before anything is deleted, and must be idempotent (an erasure
that failed half-way is simply repeated). Hooks run first, the call's rows last: a failing hook
leaves the call listed, so a retry (the same DELETE, the next retention round) finds it again.
"""

import logging
from collections.abc import Awaitable, Callable

from telephony.errors import StorageError
from telephony.transcripts import Call, CallCatalog

logger = logging.getLogger(__name__)

EraseHook = Callable[[Call], Awaitable[None]]
"""Deletes what one part of the server keeps about a call; raises if it could not."""


class Erasure:
    """The hooks that together erase a call, and `erase` to run them."""

    def __init__(self, catalog: CallCatalog) -> None:
        self._catalog = catalog
        self._hooks: list[tuple[str, EraseHook]] = []

    def register(self, name: str, hook: EraseHook) -> None:
        """Run ``hook`` for every erased call; ``name`` says what it erases (for errors)."""
        self._hooks.append((name, hook))

    @property
    def hook_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self._hooks)

    async def erase(self, call_sid: str) -> bool:
        """Erase the call everywhere; False if the store has no such call. `StorageError` if
        anything could not be erased (the call is then still there, to try again)."""
        call = await self._catalog.call(call_sid)
        if call is None:
            return False
        for name, hook in self._hooks:
            try:
                await hook(call)
            except StorageError:
                raise
            except Exception as exc:  # a hook's own failure: the erasure as a whole failed
                raise StorageError(f"could not erase call {call_sid}: {name} failed") from exc
        await self._catalog.erase(call_sid)
        logger.info("call %s: erased", call_sid)
        return True
