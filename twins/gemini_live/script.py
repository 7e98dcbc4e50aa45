"""Scripted behaviour for tests: what the emulated model does besides its default brain.

A test queues actions with the moment they should happen at::

    emulator.script.call_tool("lookup_order", {"order_id": "A1"})       # on the next turn
    emulator.script.go_away(time_left_s=5, when=AfterTurns(1))
    emulator.script.close(1011, when=BeforeFirstHandle())
    emulator.script.next_reply("Your order has shipped.")

Every queued item is used once. Moments name a point in a connection's life; ``connection``
(0-based, counted over the emulator's lifetime) restricts one to a single connection, otherwise the
first connection to reach the moment takes it.
"""

import dataclasses
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# --- moments ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Immediately:
    """As soon as possible on the newest open connection (or the next one, once set up)."""

    connection: int | None = None


@dataclass(frozen=True)
class OnSetup:
    """When a connection's ``setup`` arrives, before ``setupComplete`` is sent."""

    connection: int | None = None


@dataclass(frozen=True)
class NextTurn:
    """When the model next takes its turn (after the caller's turn ends)."""

    connection: int | None = None


@dataclass(frozen=True)
class AfterTurns:
    """Once the connection's ``turns``-th spoken reply is done (``turnComplete``, handle sent)."""

    turns: int
    connection: int | None = None


@dataclass(frozen=True)
class BeforeFirstHandle:
    """Where the connection's first ``sessionResumptionUpdate`` would be sent, just before it."""

    connection: int | None = None


@dataclass(frozen=True)
class AfterFirstHandle:
    """Right after the connection's first ``sessionResumptionUpdate``."""

    connection: int | None = None


@dataclass(frozen=True)
class MidReply:
    """During a reply, right after its ``after_chunks``-th audio chunk was sent."""

    after_chunks: int
    connection: int | None = None


Moment = (
    Immediately | OnSetup | NextTurn | AfterTurns | BeforeFirstHandle | AfterFirstHandle | MidReply
)

# --- actions ----------------------------------------------------------------------------------

DEADLINE_REASON = "Deadline expired before operation could complete."
INTERNAL_REASON = "Internal error encountered."


@dataclass(frozen=True)
class Close:
    """Close the connection with ``code`` (1006 drops the TCP connection without a close frame)."""

    code: int = 1011
    reason: str = INTERNAL_REASON

    def __post_init__(self) -> None:
        _check_close_code(self.code)


@dataclass(frozen=True)
class GoAway:
    """Send ``goAway``; close with ``close_code`` ``close_after_s`` later (default: time left)."""

    time_left_s: float = 1.0
    close_after_s: float | None = None
    close_code: int = 1011
    close_reason: str = DEADLINE_REASON

    def __post_init__(self) -> None:
        _check_close_code(self.close_code)

    @property
    def close_delay_s(self) -> float:
        return self.time_left_s if self.close_after_s is None else self.close_after_s


@dataclass(frozen=True)
class CallTool:
    """Ask the client to call tool ``name`` with ``args``."""

    name: str
    args: Mapping[str, Any] = field(default_factory=dict)
    call_id: str | None = None


Action = Close | GoAway | CallTool


@dataclass(frozen=True)
class Step:
    when: Moment
    action: Action


@dataclass(frozen=True)
class ReplySpec:
    """The next reply: its exact text, or a length in words."""

    text: str | None = None
    words: int | None = None


class Script:
    """Queues of scripted actions and overrides, consumed by the emulator's connections."""

    def __init__(self) -> None:
        self._steps: list[Step] = []
        self._setup_delays: deque[float] = deque()
        self._first_chunk_delays: deque[float] = deque()
        self._replies: deque[ReplySpec] = deque()
        self._transcriptions: deque[str] = deque()
        self._listeners: list[Callable[[], None]] = []

    # --- for tests ---

    def close(
        self, code: int = 1011, reason: str = INTERNAL_REASON, *, when: Moment | None = None
    ) -> None:
        """Close a connection with ``code`` at ``when`` (default: immediately)."""
        self.add(when or Immediately(), Close(code, reason))

    def go_away(
        self,
        time_left_s: float = 1.0,
        *,
        when: Moment | None = None,
        close_after_s: float | None = None,
        close_code: int = 1011,
    ) -> None:
        """Send ``goAway`` at ``when`` (default: immediately), then close after the time left."""
        self.add(when or Immediately(), GoAway(time_left_s, close_after_s, close_code))

    def call_tool(
        self,
        name: str,
        args: Mapping[str, Any] | None = None,
        *,
        when: NextTurn | Immediately | None = None,
        call_id: str | None = None,
    ) -> None:
        """Make the model call a tool on its next turn (default) or immediately."""
        self.add(when or NextTurn(), CallTool(name, dict(args or {}), call_id))

    def delay_setup_complete(self, seconds: float) -> None:
        """Hold the next connection's ``setupComplete`` back for ``seconds``."""
        self._setup_delays.append(seconds)

    def delay_first_chunk(self, seconds: float) -> None:
        """Hold the next reply's first audio chunk back for ``seconds``."""
        self._first_chunk_delays.append(seconds)

    def next_reply(self, text: str | None = None, *, words: int | None = None) -> None:
        """Set the next reply's text, or its length in words (queued: call again for the next)."""
        if (text is None) == (words is None) or (words is not None and words < 1):
            raise ValueError("give either a text or a positive number of words")
        self._replies.append(ReplySpec(text, words))

    def next_transcription(self, text: str) -> None:
        """Set what the model hears the caller say in the next caller turn (queued)."""
        self._transcriptions.append(text)

    def add(self, when: Moment, action: Action) -> None:
        """Queue ``action`` for ``when`` (the methods above are shorthands for this)."""
        if isinstance(action, CallTool) and not isinstance(when, NextTurn | Immediately):
            raise ValueError("tool calls happen on the next turn or immediately")
        self._steps.append(Step(when, action))
        if isinstance(when, Immediately):
            for listener in list(self._listeners):
                listener()

    @property
    def pending(self) -> tuple[Step, ...]:
        """Actions not yet taken."""
        return tuple(self._steps)

    # --- for the emulator ---

    def take(self, moment: Moment, connection: int) -> list[Action]:
        """Remove and return the actions due at ``moment`` on ``connection``, in queue order."""
        due = [step for step in self._steps if _matches(step.when, moment, connection)]
        for step in due:
            self._steps.remove(step)
        return [step.action for step in due]

    def has_immediate(self, connection: int) -> bool:
        return any(_matches(s.when, Immediately(), connection) for s in self._steps)

    def take_setup_delay(self) -> float:
        return self._setup_delays.popleft() if self._setup_delays else 0.0

    def take_first_chunk_delay(self) -> float:
        return self._first_chunk_delays.popleft() if self._first_chunk_delays else 0.0

    def take_reply(self) -> ReplySpec | None:
        return self._replies.popleft() if self._replies else None

    def take_transcription(self) -> str | None:
        return self._transcriptions.popleft() if self._transcriptions else None

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` whenever an immediate action is queued; returns an unsubscriber."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)


def _check_close_code(code: int) -> None:
    # 1004, 1005 and 1015 may not be sent in a close frame; 1006 is emulated by dropping TCP.
    if not (1000 <= code <= 1014 or 3000 <= code <= 4999) or code in (1004, 1005):
        raise ValueError(f"{code} is not a close code a server can send")


def _matches(when: Moment, moment: Moment, connection: int) -> bool:
    if type(when) is not type(moment):
        return False
    if when.connection is not None and when.connection != connection:
        return False
    return dataclasses.replace(when, connection=None) == dataclasses.replace(
        moment, connection=None
    )
