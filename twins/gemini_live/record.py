"""What the emulator received and did, per connection, for assertions in tests.

Only counts and small values are kept (never audio), so a long-running emulator stays small.
``Record.wait_for`` lets a test wait for a condition instead of sleeping. With
``EmulatorConfig.record_timings`` each connection also keeps compact timing logs (arrays of
floats, a few per audio message) for benchmarks; ``Record.forget_closed`` lets a long run drop
what it has read.
"""

import asyncio
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from twins.gemini_live.events import FunctionResponse, InputForm, Setup

Signal = Literal["activityStart", "activityEnd", "audioStreamEnd"]
TextSource = Literal["realtime_input", "client_content"]


@dataclass(frozen=True)
class AudioFormat:
    """How caller audio arrived: the message form and the MIME type."""

    form: InputForm
    mime_type: str
    rate: int | None


@dataclass(frozen=True)
class ReceivedText:
    source: TextSource
    role: str
    text: str
    turn_complete: bool


def _floats() -> "array[float]":
    return array("d")


def _ints() -> "array[int]":
    return array("l")


@dataclass
class ConnectionTimings:
    """When audio came and went on one connection, in ``time.monotonic()`` seconds.

    ``time.monotonic`` is system-wide on Linux, so these compare with other processes' clocks.
    Parallel arrays, one entry per event:

    - ``audio_in_t`` / ``audio_in_ms``: a caller audio message was taken in (before parsing),
      and the caller audio received on the connection so far, including it, in ms.
    - ``chunk_t`` / ``chunk_ms`` / ``chunk_turn``: just before a reply audio chunk was sent, the
      reply audio sent on the connection so far, including it, in ms, and the reply it belongs
      to (0-based, counted over the connection).
    - ``interrupted_t``: just before an ``interrupted`` was sent.
    """

    audio_in_t: "array[float]" = field(default_factory=_floats)
    audio_in_ms: "array[float]" = field(default_factory=_floats)
    chunk_t: "array[float]" = field(default_factory=_floats)
    chunk_ms: "array[float]" = field(default_factory=_floats)
    chunk_turn: "array[int]" = field(default_factory=_ints)
    interrupted_t: "array[float]" = field(default_factory=_floats)
    replies: int = 0
    """Replies that started speaking (the next reply's number)."""


@dataclass
class ConnectionRecord:
    """One WebSocket connection, from upgrade to close."""

    index: int
    path: str
    api_key_present: bool
    opened_at: float = field(default_factory=time.monotonic)
    setup: Setup | None = None
    """The ``setup`` message as received (``setup.raw`` holds the JSON)."""
    resumed_handle: str | None = None
    """The handle this connection resumed (one the emulator had issued), if any."""
    audio_bytes: int = 0
    audio_ms: float = 0.0
    audio_formats: list[AudioFormat] = field(default_factory=list)
    media_chunks: int = 0
    texts: list[ReceivedText] = field(default_factory=list)
    tool_responses: list[FunctionResponse] = field(default_factory=list)
    signals: list[Signal] = field(default_factory=list)
    context_updates: int = 0
    unknown_messages: list[tuple[str, ...]] = field(default_factory=list)
    messages: int = 0
    caller_turns: int = 0
    turns_completed: int = 0
    """Spoken replies the model finished with ``turnComplete`` (not the one after a tool call)."""
    interruptions: int = 0
    tool_calls: list[str] = field(default_factory=list)
    """Names of the tools the model called."""
    tool_cancellations: list[str] = field(default_factory=list)
    """Ids of the tool calls the model cancelled (``toolCallCancellation``)."""
    handles_issued: list[str] = field(default_factory=list)
    unresumable_updates: int = 0
    """``sessionResumptionUpdate``s that said the session could not be resumed then."""
    refused: bool = False
    """The setup was refused (quota, unavailable, too many sessions, a bad handle...)."""
    go_aways: int = 0
    closed_at: float | None = None
    close_code: int | None = None
    close_reason: str = ""
    closed_by_server: bool = False
    timings: ConnectionTimings | None = None
    """Timing logs, when the emulator records them (``EmulatorConfig.record_timings``)."""

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    @property
    def model(self) -> str | None:
        return self.setup.model if self.setup else None

    @property
    def audio_forms(self) -> set[InputForm]:
        return {f.form for f in self.audio_formats}


class Record:
    """Everything the emulator saw, in connection order."""

    def __init__(self) -> None:
        self.connections: list[ConnectionRecord] = []
        """The connections' records, oldest first (minus those ``forget_closed`` dropped)."""
        self._opened = 0
        self._waiters: set[asyncio.Event] = set()

    @property
    def connection_count(self) -> int:
        """Connections opened over the emulator's lifetime."""
        return self._opened

    @property
    def resumptions(self) -> list[str]:
        """Handles that connections resumed, in order."""
        return [c.resumed_handle for c in self.connections if c.resumed_handle]

    @property
    def handles_issued(self) -> list[str]:
        return [h for c in self.connections for h in c.handles_issued]

    @property
    def last(self) -> ConnectionRecord:
        if not self.connections:
            raise LookupError("no connection yet")
        return self.connections[-1]

    def open_connection(
        self, path: str, *, api_key_present: bool, timings: bool = False
    ) -> ConnectionRecord:
        connection = ConnectionRecord(self._opened, path, api_key_present)
        if timings:
            connection.timings = ConnectionTimings()
        self._opened += 1
        self.connections.append(connection)
        self.changed()
        return connection

    def forget_closed(self) -> int:
        """Drop the records of closed connections; return how many. Indices keep counting."""
        before = len(self.connections)
        self.connections = [c for c in self.connections if not c.closed]
        return before - len(self.connections)

    def changed(self) -> None:
        """Wake everything waiting in ``wait_for`` (call after each change)."""
        for waiter in self._waiters:
            waiter.set()

    async def wait_for(self, condition: Callable[["Record"], object], timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Return once ``condition(record)`` is true; raise ``TimeoutError`` after ``timeout`` s."""
        waiter = asyncio.Event()
        self._waiters.add(waiter)
        try:
            async with asyncio.timeout(timeout):
                while not condition(self):
                    await waiter.wait()
                    waiter.clear()
        except TimeoutError:
            raise TimeoutError(f"condition not met within {timeout} s; {self.summary()}") from None
        finally:
            self._waiters.discard(waiter)

    def summary(self) -> str:
        """One line per connection, for failure messages (no transcript text)."""
        if not self.connections:
            return "no connections"
        return "; ".join(
            f"#{c.index} model={c.model} audio_ms={c.audio_ms:.0f} turns={c.turns_completed}"
            f" interruptions={c.interruptions} tools={c.tool_calls}"
            f" resumed={bool(c.resumed_handle)}"
            f" closed={c.close_code if c.closed else 'no'}"
            for c in self.connections
        )
