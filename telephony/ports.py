"""What a call is given: the Twilio socket it talks to, who is calling, and its limits."""

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any, Protocol


class TwilioSocket(Protocol):
    """The part of a WebSocket the call uses (Starlette's fits)."""

    async def receive(self) -> MutableMapping[str, Any]: ...

    async def send_text(self, data: str) -> None: ...

    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


@dataclass(frozen=True, slots=True)
class CallIdentity:
    call_sid: str
    stream_sid: str
    user_id: str
    """The ADK user id: a pseudonym of the caller, never the phone number."""


@dataclass(frozen=True, slots=True)
class CallLimits:
    max_message_bytes: int
    """Media Streams messages longer than this are dropped."""
    bad_message_limit: int
    """The stream is closed after this many bad messages."""
