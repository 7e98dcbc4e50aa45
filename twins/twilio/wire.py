"""The media stream's WebSocket as Twilio uses it: numbered messages out, frames in, and the
network in between.

Every message Twilio sends but ``connected`` carries the stream's next ``sequenceNumber``,
given when the message is made. Over an ideal network messages go straight onto the socket
and frames from the server are handed on as they come. Otherwise each direction goes through a
:class:`~twins.twilio.network.DelayLine`: what Twilio sends reaches the server late, and what the
server sends (the close of the socket last) reaches Twilio late, in order.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from twins.twilio.callbacks import (
    STREAM_CONNECTION_REFUSED,
    STREAM_CONNECTION_TIMEOUT,
    STREAM_HANDSHAKE_ERROR,
    STREAM_TLS_ERROR,
)
from twins.twilio.clock import AsyncClock
from twins.twilio.echo import Echo
from twins.twilio.network import DelayLine, Network
from twins.twilio.result import EndReason
from twins.twilio.signing import twilio_signature
from twins.twilio.timeline import EventKind, Timeline

logger = logging.getLogger(__name__)

USER_AGENT = "Twilio.TmeWs/1.0"


@dataclass(frozen=True)
class StreamSetup:
    url: str
    """The ``<Stream url>`` exactly as written in the TwiML: the upgrade is signed over it."""
    connect_url: str
    """Where to connect (the same URL, or the actual server behind the public one)."""
    auth_token: str
    account_sid: str
    call_sid: str
    stream_sid: str
    custom_parameters: dict[str, str] = field(default_factory=dict)
    connect_timeout_s: float = 10.0
    max_duration_s: float = 300.0
    ssl_context: ssl.SSLContext | None = None
    network: Network = field(default_factory=Network)
    echo: Echo | None = None


@dataclass(frozen=True)
class StreamOutcome:
    end_reason: EndReason
    close_code: int | None = None
    close_reason: str | None = None
    rejected_status: int | None = None
    error: str | None = None
    error_code: int | None = None
    """Twilio's error for a stream that could not be opened (31920, 31901, 31902, 31910)."""


_CLOSED = object()
"""Put on the incoming delay line when the server closed the socket: the close arrives last."""


class StreamWire:
    """One stream's socket. Run :meth:`tasks` in the stream's task group."""

    def __init__(
        self,
        ws: ClientConnection,
        clock: AsyncClock,
        network: Network,
        *,
        on_message: Callable[[str | bytes], None],
        on_closed: Callable[[], None],
    ) -> None:
        self.ws = ws
        self._on_message, self._on_closed = on_message, on_closed
        self._lock = asyncio.Lock()
        self._sequence = 1
        self._uplink: DelayLine[str] | None = None
        self._downlink: DelayLine[str | bytes | object] | None = None
        if not network.to_server_ideal:
            self._uplink = DelayLine(
                clock,
                delay_ms=network.to_server_delay_ms,
                jitter_ms=network.to_server_jitter_ms,
                seed=network.seed,
                deliver=ws.send,
            )
        if not network.from_server_ideal:
            self._downlink = DelayLine(
                clock,
                delay_ms=network.from_server_delay_ms,
                jitter_ms=network.from_server_jitter_ms,
                seed=network.seed + 1,
                deliver=self._arrive,
            )

    async def send(self, build: Callable[[int], str], *, numbered: bool = True) -> int:
        """Send the message ``build`` makes from the next sequence number; return the number.

        Raises ``ConnectionClosed`` when the socket is closed (over an ideal network).
        """
        async with self._lock:
            sequence = self._sequence
            if numbered:
                self._sequence += 1
            if self._uplink is not None:
                self._uplink.put(build(sequence))
            else:
                await self.ws.send(build(sequence))
            return sequence

    def tasks(self) -> list[Coroutine[Any, Any, None]]:
        """Receiving, and the delay lines' deliveries."""
        tasks = [self._receive()]
        if self._uplink is not None:
            tasks.append(self._run_uplink(self._uplink))
        if self._downlink is not None:
            tasks.append(self._downlink.run())
        return tasks

    def cut(self) -> None:
        """The stream ended: what the server sent that is still on its way never arrives."""
        if self._downlink is not None:
            self._downlink.drop()

    async def flush(self) -> None:
        """Deliver what Twilio sent that is still on its way, each message at its time."""
        if self._uplink is not None:
            await self._uplink.flush()

    async def _receive(self) -> None:
        try:
            async for frame in self.ws:
                if self._downlink is not None:
                    self._downlink.put(frame)
                else:
                    self._on_message(frame)
        except ConnectionClosed:
            pass
        if self._downlink is not None:
            self._downlink.put(_CLOSED)
        else:
            self._on_closed()

    async def _arrive(self, frame: str | bytes | object) -> None:
        if frame is _CLOSED:
            self._on_closed()
        elif isinstance(frame, str | bytes):
            self._on_message(frame)

    async def _run_uplink(self, line: DelayLine[str]) -> None:
        try:
            await line.run()
        except ConnectionClosed:
            self._on_closed()


async def open_socket(
    setup: StreamSetup, timeline: Timeline, clock: AsyncClock
) -> ClientConnection | StreamOutcome:
    """Open the stream's WebSocket with Twilio's signed upgrade, or say why it failed."""
    signature = twilio_signature(setup.auth_token, setup.url, {})
    options: dict[str, Any] = {}
    if setup.ssl_context is not None and setup.connect_url.startswith("wss://"):
        options["ssl"] = setup.ssl_context
    try:
        ws = await connect(
            setup.connect_url,
            additional_headers={"X-Twilio-Signature": signature},
            user_agent_header=USER_AGENT,
            open_timeout=setup.connect_timeout_s,
            ping_interval=None,
            compression=None,
            proxy=None,
            **options,
        )
    except InvalidStatus as exc:
        status = exc.response.status_code
        timeline.add(clock.now(), EventKind.STREAM_REJECTED, status=status)
        logger.warning("stream upgrade refused with HTTP %d for %s", status, setup.call_sid)
        return StreamOutcome(
            EndReason.STREAM_REJECTED,
            rejected_status=status,
            error=str(exc),
            error_code=STREAM_HANDSHAKE_ERROR,
        )
    except (WebSocketException, OSError, TimeoutError) as exc:
        timeline.add(clock.now(), EventKind.STREAM_REJECTED, error=repr(exc))
        logger.warning("stream connection failed for %s: %r", setup.call_sid, exc)
        code = STREAM_CONNECTION_TIMEOUT
        if isinstance(exc, ssl.SSLError):
            code = STREAM_TLS_ERROR
        elif isinstance(exc, ConnectionRefusedError):
            code = STREAM_CONNECTION_REFUSED
        elif isinstance(exc, WebSocketException):
            code = STREAM_HANDSHAKE_ERROR
        return StreamOutcome(EndReason.STREAM_FAILED, error=repr(exc), error_code=code)
    timeline.add(clock.now(), EventKind.STREAM_CONNECTED)
    return ws
