"""What a test can script: moments in a connection's life, and actions to take at them.

Moments name a point in a connection's life; ``connection`` (0-based, counted over the emulator's
lifetime) restricts one to a single connection, otherwise the first connection to reach the
moment takes it. ``Script`` (``script.py``) queues actions for moments.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from twins.gemini_live.closes import DEADLINE_REASON, INTERNAL_REASON, check_close_code

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
    """Where the connection's first ``sessionResumptionUpdate`` with a handle would be sent,
    just before it."""

    connection: int | None = None


@dataclass(frozen=True)
class AfterFirstHandle:
    """Right after the connection's first ``sessionResumptionUpdate`` with a handle."""

    connection: int | None = None


@dataclass(frozen=True)
class MidReply:
    """During a reply, right after its ``after_chunks``-th audio message was sent."""

    after_chunks: int
    connection: int | None = None


@dataclass(frozen=True)
class AfterGenerationComplete:
    """Right after ``generationComplete``: the model waits for playback before ``turnComplete``
    (when ``Pacing.turn_complete_after_playback``)."""

    connection: int | None = None


@dataclass(frozen=True)
class DuringToolCall:
    """Right after a ``toolCall``, while the model waits for the response."""

    connection: int | None = None


@dataclass(frozen=True)
class WhileCallerSpeaks:
    """When the caller starts to speak (voice activity or ``activityStart``)."""

    connection: int | None = None


Moment = (
    Immediately
    | OnSetup
    | NextTurn
    | AfterTurns
    | BeforeFirstHandle
    | AfterFirstHandle
    | MidReply
    | AfterGenerationComplete
    | DuringToolCall
    | WhileCallerSpeaks
)

# --- actions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Close:
    """Close the connection with ``code`` (1006 drops the TCP connection without a close frame)."""

    code: int = 1011
    reason: str = INTERNAL_REASON

    def __post_init__(self) -> None:
        check_close_code(self.code)


@dataclass(frozen=True)
class GoAway:
    """Send ``goAway``; close with ``close_code`` ``close_after_s`` later (default: time left)."""

    time_left_s: float = 1.0
    close_after_s: float | None = None
    close_code: int = 1011
    close_reason: str = DEADLINE_REASON

    def __post_init__(self) -> None:
        check_close_code(self.close_code)

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
