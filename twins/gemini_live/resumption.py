"""Session resumption handles: opaque tokens that restore a conversation on a new connection."""

import secrets

from twins.gemini_live.brain import Conversation

MAX_HANDLES = 10_000


class HandleStore:
    """Handles issued by one emulator. A handle stays valid after use, as Gemini's do."""

    def __init__(self, limit: int = MAX_HANDLES) -> None:
        self._limit = limit
        self._states: dict[str, Conversation] = {}

    def issue(self, conversation: Conversation) -> str:
        """Remember a snapshot of ``conversation`` under a new handle."""
        handle = secrets.token_urlsafe(32)
        self._states[handle] = conversation.snapshot()
        while len(self._states) > self._limit:
            del self._states[next(iter(self._states))]
        return handle

    def resume(self, handle: str) -> Conversation | None:
        """The conversation ``handle`` stands for (a fresh copy), or None if it is unknown."""
        state = self._states.get(handle)
        return state.snapshot() if state is not None else None
