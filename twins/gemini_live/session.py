"""One emulated Live session: a WebSocket connection from ``setup`` to close.

The receive loop parses client messages and reacts at once (records them, hands caller audio to
the ``Listener``, starts or interrupts the model's turn); the model's turns, the script watcher,
resumption updates, the connection's lifetime and delayed closes run as tasks in the session's
task group, all cancelled when the connection ends. The setup is checked in ``handshake.py``,
the model's turn lives in ``turns.py``.
"""

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from twins.gemini_live import lifetime, messages
from twins.gemini_live.brain import Brain, Memory
from twins.gemini_live.closes import DROPPED, INVALID_ARGUMENT, fit_reason
from twins.gemini_live.config import EmulatorConfig
from twins.gemini_live.events import (
    ActivityEnd,
    ActivityStart,
    AudioIn,
    AudioStreamEnd,
    ClientEvent,
    ContentIn,
    ContextUpdateIn,
    JsonObject,
    MediaIn,
    Setup,
    TextIn,
    ToolResponseIn,
    UnknownIn,
)
from twins.gemini_live.handshake import handshake
from twins.gemini_live.listening import Listener
from twins.gemini_live.record import AudioFormat, ConnectionRecord, ReceivedText, Record
from twins.gemini_live.resumption import HandleStore, ResumptionUpdates
from twins.gemini_live.script import Action, Close, GoAway, Immediately, Script
from twins.gemini_live.speaking import Speaker
from twins.gemini_live.turns import ModelTurns, TurnRequest
from twins.gemini_live.wire import WireError, parse_client_message

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Shared:
    """What all sessions of one emulator share."""

    config: EmulatorConfig
    script: Script
    record: Record
    brain: Brain
    handles: HandleStore
    active: set[int] = field(default_factory=set)
    """The connections whose setup was accepted and that are still open."""


class Gone(Exception):
    """The WebSocket closed while the session was sending: its task ends quietly."""


class Session:
    """The server side of one connection. ``run`` returns when the connection has closed."""

    def __init__(self, ws: ServerConnection, conn: ConnectionRecord, shared: Shared) -> None:
        self.ws = ws
        self.conn = conn
        self.shared = shared
        self.ready = False
        self.closing = False
        self.memory = Memory()
        self.setup: Setup | None = None
        seed = f"{shared.config.seed}:{conn.index}"
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._group: asyncio.TaskGroup | None = None
        self._timings = conn.timings
        self._received_at = 0.0
        self.listener = Listener(self, random.Random(seed + ":ears"))
        self.speaker = Speaker(self, random.Random(seed + ":voice"))
        self.turns = ModelTurns(self, random.Random(seed + ":turns"))
        self.resumption = ResumptionUpdates(self)

    @property
    def index(self) -> int:
        return self.conn.index

    def wake(self) -> None:
        """Look at the script's immediate actions soon."""
        self._wake.set()

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            self._group = group
            try:
                if await handshake(self):
                    assert self.setup is not None
                    self.listener.configure(self.setup.activity)
                    for watcher in (
                        self._watch_script(),
                        self.resumption.periodically(),
                        lifetime.lifetime(self),
                        lifetime.internal_error(self),
                    ):
                        self.spawn(watcher)
                    self.ready = True
                    self.wake()
                    await self._receive_loop()
            except Gone:
                pass
            finally:
                self.ready = False
                self.shared.active.discard(self.index)
                self.shared.handles.released(self.conn.handles_issued)
                for task in list(self._tasks):
                    task.cancel()

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run ``coroutine`` in the session's task group; it ends quietly if the socket closes."""
        assert self._group is not None
        task = self._group.create_task(self._quietly(coroutine))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def send(self, message: JsonObject) -> None:
        """Send a server message; dropped once the session is closing."""
        if self.closing:
            return
        try:
            await self.ws.send(messages.encode(message))
        except ConnectionClosed as exc:
            raise Gone from exc

    async def close(self, code: int, reason: str) -> None:
        """Close the connection with ``code`` (1006: drop TCP without a close frame)."""
        if self._mark_closing(code, reason):
            await self._send_close(code, reason)

    def close_soon(self, code: int, reason: str) -> None:
        """Like ``close`` but without waiting: stop reacting to the client at once."""
        if self._mark_closing(code, reason):
            self.spawn(self._send_close(code, reason))

    def _mark_closing(self, code: int, reason: str) -> bool:
        if self.closing:
            return False
        self.closing = True
        self.conn.closed_by_server = True
        self.conn.close_code = code
        self.conn.close_reason = reason
        self.shared.record.changed()
        logger.info("live connection %d: closing with code %d", self.index, code)
        return True

    async def _send_close(self, code: int, reason: str) -> None:
        if code == DROPPED:
            self.ws.transport.abort()
            return
        await self.ws.close(code, fit_reason(reason))

    async def perform(self, actions: Sequence[Action]) -> bool:
        """Carry out scripted actions; True when the connection is closing."""
        for action in actions:
            if isinstance(action, Close):
                await self.close(action.code, action.reason)
            elif isinstance(action, GoAway):
                self.conn.go_aways += 1
                logger.info("live connection %d: goAway", self.index)
                await self.send(messages.go_away(action.time_left_s))
                self.shared.record.changed()
                self.spawn(self._close_later(action))
            else:
                await self.turns.start(TurnRequest(calls=(action,)))
            if self.closing:
                return True
        return self.closing

    # --- connection phases ---

    async def _receive_loop(self) -> None:
        try:
            async for raw in self.ws:
                if self._timings is not None:
                    self._received_at = time.monotonic()
                self.conn.messages += 1
                if self.closing:
                    continue  # drain until the client completes the closing handshake
                try:
                    events = parse_client_message(raw)
                except WireError as exc:
                    logger.warning("live connection %d: bad client message: %s", self.index, exc)
                    self.close_soon(INVALID_ARGUMENT, str(exc))
                    continue
                for event in events:
                    await self._on_event(event)
                self.shared.record.changed()
        except ConnectionClosed:
            pass

    async def _watch_script(self) -> None:
        script = self.shared.script
        while not self.closing:
            await self._wake.wait()
            self._wake.clear()
            for action in script.take(Immediately(), self.index):
                if await self.perform([action]):
                    return

    async def _close_later(self, go_away: GoAway) -> None:
        await asyncio.sleep(go_away.close_delay_s)
        await self.close(go_away.close_code, go_away.close_reason)

    @staticmethod
    async def _quietly(coroutine: Coroutine[Any, Any, None]) -> None:
        with contextlib.suppress(Gone, ConnectionClosed):
            await coroutine

    # --- client events ---

    async def _on_event(self, event: ClientEvent) -> None:
        conn = self.conn
        if isinstance(event, AudioIn):
            await self._on_audio(event)
        elif isinstance(event, MediaIn):
            conn.media_chunks += 1
        elif isinstance(event, TextIn):
            conn.texts.append(ReceivedText("realtime_input", "user", event.text, True))
            self.memory.heard_text(event.text)
            await self.turns.text_arrived(opening=not self.memory.spoke)
        elif isinstance(event, ContentIn):
            for turn in event.turns:
                conn.texts.append(
                    ReceivedText("client_content", turn.role, turn.text, event.turn_complete)
                )
                self.memory.heard_text(turn.text)
            if event.turn_complete:
                history = any(turn.role == "model" for turn in event.turns)
                await self.turns.text_arrived(opening=not self.memory.spoke and not history)
        elif isinstance(event, ActivityStart):
            conn.signals.append("activityStart")
            await self.listener.activity_start()
        elif isinstance(event, ActivityEnd):
            conn.signals.append("activityEnd")
            await self.listener.activity_end()
        elif isinstance(event, AudioStreamEnd):
            conn.signals.append("audioStreamEnd")
            await self.listener.stream_end()
        elif isinstance(event, ToolResponseIn):
            conn.tool_responses.extend(event.responses)
            await self.turns.tool_responded(event.responses)
        elif isinstance(event, ContextUpdateIn):
            conn.context_updates += 1
        elif isinstance(event, UnknownIn):
            await self._on_unknown(event)
        else:  # a second setup
            self.close_soon(INVALID_ARGUMENT, "setup must be sent only once")

    async def _on_audio(self, audio: AudioIn) -> None:
        conn = self.conn
        conn.audio_bytes += len(audio.data)
        audio_format = AudioFormat(audio.form, audio.mime_type, audio.rate)
        if audio_format not in conn.audio_formats:
            conn.audio_formats.append(audio_format)
        if audio.rate is None:
            return
        ms = len(audio.data) / 2 / audio.rate * 1000.0
        conn.audio_ms += ms
        if self._timings is not None:
            self._timings.audio_in_t.append(self._received_at)
            self._timings.audio_in_ms.append(conn.audio_ms)
        self.memory.heard_audio(ms)
        await self.listener.audio(audio.data, audio.rate, ms)

    async def _on_unknown(self, event: UnknownIn) -> None:
        self.conn.unknown_messages.append(event.keys)
        logger.warning("live connection %d: unknown client message %s", self.index, event.keys)
        if self.shared.config.reject_unknown_messages:
            reason = f'Invalid JSON payload received. Unknown name "{event.keys[0]}".'
            self.close_soon(INVALID_ARGUMENT, reason)
