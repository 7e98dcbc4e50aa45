"""The call's direct line to its live model connection: caller audio out, model messages in.

Through ADK, every 20 ms frame of caller audio becomes a ``LiveRequest`` on the call's queue,
picked up by ADK's sender task and validated and serialised by google-genai: about 170 us of CPU
a frame. Every message from the model is parsed into google-genai's pydantic models and carried
through ADK's event pipeline to the call: about 300 us a message. Together they were most of the
server's CPU. So the call talks to the connection's WebSocket itself for the two things it has
in bulk, and leaves everything else to ADK:

- Out: caller audio is written to the socket as the very message google-genai would write
  (``wire.AudioMessages``), for about 20 us.
- In: each server message is read first by a tap standing in for google-genai's socket. The
  call gets what the message holds for it (``wire.ModelMessage``: model audio, transcriptions,
  ``interrupted``, turn ends) in wire order, before anything else; google-genai and ADK then get
  the message without its audio, so tools, session state, agent transfers and resumption work
  as always.

How the call finds the socket: ``LiveGemini`` (``models.py``) is ADK's ``Gemini`` model with one
addition. Each time ADK opens a live connection for the call (again after a ``goAway``, a dropped
connection, or a hand-over to another agent of the tree), it hands the connection to that call's
``ModelLink``, found through a context variable the call sets before it starts ``run_live``;
ADK's tasks inherit the variable, so calls never mix. When the connection ends, the link forgets
it, and the call plays ADK's events again until the next one is attached.

Before the first connection and between connections, the freshest half second of caller audio
is held and goes out first, in order (older audio is dropped, counted and logged once per gap).
When the direct line cannot be used, ADK carries everything: on Vertex AI (whose wire form is
not the one handled here), with a connection of a kind this module does not know, when the
libraries' internals do not match (``internals.py``), and with agents that have streaming tools
(they read caller audio from the queue) or a RunConfig with ``save_live_blob``
(``agents.direct_line_allowed``).
"""

import contextlib
import contextvars
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from google.adk.agents import LiveRequestQueue
from google.adk.models.base_llm_connection import BaseLlmConnection
from google.genai import types
from websockets.exceptions import ConcurrencyError, ConnectionClosed

from telephony.background import alongside
from telephony.live import internals
from telephony.live.internals import Internals
from telephony.live.wire import MODEL_INPUT_MIME, AudioMessages, ModelMessage, split_server_message

logger = logging.getLogger(__name__)

MAX_QUEUED_AUDIO = 100
"""Audio messages waiting in ADK's queue before new audio is dropped (2 s at 20 ms)."""
HELD_AUDIO_MESSAGES = 25
"""Caller audio kept while no connection is attached (0.5 s at 20 ms); older audio is dropped."""


class _Slot:
    """What the context variable holds: the link while its block runs, then nothing.

    Every task and timer started inside the block copies the context, and some outlive the
    call (a cancelled timer waits in the event loop until its time; a cancelled task's
    exception can outlast it). Had they copied the link, each would keep the whole call
    alive, audio buffers and session included; an emptied slot keeps nothing."""

    __slots__ = ("link",)

    def __init__(self, link: "ModelLink") -> None:
        self.link: ModelLink | None = link


_current: contextvars.ContextVar[_Slot | None] = contextvars.ContextVar(
    "telephony_model_link", default=None
)

MessageHandler = Callable[[ModelMessage], Awaitable[None]]
ReceiptHandler = Callable[[], None]
EndHandler = Callable[[], Awaitable[None]]


async def _nothing() -> None:
    pass


class ModelLink:
    """One call's direct line to its live connections (see the module docstring)."""

    def __init__(
        self,
        queue: LiveRequestQueue,
        on_message: MessageHandler,
        *,
        on_receipt: ReceiptHandler = lambda: None,
        on_ended: EndHandler = _nothing,
        internals: Internals,
        enabled: bool = True,
        label: str = "",
    ) -> None:
        self._queue = queue
        self._on_message = on_message
        self._on_receipt = on_receipt
        self._on_ended = on_ended
        self._internals = internals
        self._enabled = enabled and internals.direct_line
        self._label = label
        self._connection: BaseLlmConnection | None = None
        self._current_ended = False
        self._socket: Any = None
        self._via_adk = not self._enabled
        self._held: deque[bytes] = deque(maxlen=HELD_AUDIO_MESSAGES)
        self._dropping = False
        self._messages = AudioMessages(audio_field=False)
        self.tapped = False
        """True while the model's messages reach the call through the tap, not ADK's events."""
        self.final_input_transcripts = False
        """True for models that send each input transcription whole (Gemini 3.x Live)."""
        self.connections = 0
        """Live connections handed to this link (the first, resumptions, agent hand-overs)."""
        self.connect_s: list[float] = []
        """How long each took from opening to ready (setupComplete), when measured."""
        self.sent_direct = 0
        self.sent_queued = 0
        self.dropped = 0

    def use_queue(self, queue: LiveRequestQueue) -> None:
        """ADK's queue of a new ``run_live`` (the old one's session is over)."""
        self._queue = queue

    @contextlib.contextmanager
    def bound(self) -> Iterator[None]:
        """Make this the link of the live connections ADK opens inside the block."""
        slot = _Slot(self)
        token = _current.set(slot)
        try:
            yield
        finally:
            slot.link = None  # for every context copied inside the block (see _Slot)
            _current.reset(token)

    async def send_audio(self, pcm: bytes) -> None:
        """Send 16 kHz PCM16 caller audio, the fastest way available."""
        if self._via_adk:
            self._queue_audio(pcm)
            return
        socket = self._socket
        if socket is None:  # not connected yet, or between connections
            self._hold(pcm)
            return
        try:
            while self._held:  # what came while there was no connection goes first
                await socket.send(self._messages.audio(self._held[0]))
                self._held.popleft()
                self.sent_direct += 1
            await socket.send(self._messages.audio(pcm))
        except ConnectionClosed:
            self._socket = None
            self._hold(pcm)
        else:
            self.sent_direct += 1
            self._dropping = False

    def _hold(self, pcm: bytes) -> None:
        """Keep the freshest caller audio until there is a connection: stale audio would reach
        the model seconds late and push everything after it back."""
        if len(self._held) == self._held.maxlen:
            self.dropped += 1
            if not self._dropping:
                self._dropping = True
                logger.warning(
                    "call %s: no model connection for %d ms; older caller audio is dropped",
                    self._label,
                    HELD_AUDIO_MESSAGES * 20,
                )
        self._held.append(pcm)

    def _queue_audio(self, pcm: bytes) -> None:
        if (
            self._internals.queue_depth
            and internals.queued_requests(self._queue) >= MAX_QUEUED_AUDIO
        ):
            self.dropped += 1  # ADK's queue is unbounded: the model is not reading
            return
        self._queue.send_realtime(types.Blob(data=pcm, mime_type=MODEL_INPUT_MIME))
        self.sent_queued += 1

    def _give_audio_to_adk(self) -> None:
        self._via_adk = True
        while self._held:
            self._queue_audio(self._held.popleft())

    def attach(self, connection: BaseLlmConnection, connect_s: float | None = None) -> None:
        """ADK opened a live connection for this call (in ``connect_s``): tap it, or leave it
        to ADK."""
        if connect_s is not None:
            self.connect_s.append(connect_s)
        self._connection = connection
        self._current_ended = False
        self._socket = None
        self.tapped = False
        self.connections += 1
        if self._via_adk:
            return
        found = internals.live_socket(connection)
        if found is None:
            logger.info("call %s: a live connection the direct line cannot use", self._label)
            self._give_audio_to_adk()
            return
        self._messages = AudioMessages(audio_field=found.audio_field)
        self.final_input_transcripts = found.final_input_transcripts
        tap = _ServerTap(found.socket, self._on_message, self._on_receipt, self._closing)
        found.replace_socket(tap)
        self._socket = found.socket
        self.tapped = True

    async def _closing(self, socket: Any) -> None:
        """ADK is closing the connection (a hand-over to another agent, say): hold caller audio
        for the next one rather than wait on a socket that is going away."""
        if self._socket is socket:
            self._socket = None
            await self._ended()

    async def detach(self, connection: BaseLlmConnection) -> None:
        """The connection ended: the call plays ADK's events until the next one is attached.

        The call hears of it (``on_ended``) once per connection, at its close or its end.
        """
        if self._connection is connection:
            self._connection = None
            self._socket = None
            self.tapped = False
            await self._ended()

    async def _ended(self) -> None:
        if not self._current_ended:
            self._current_ended = True
            await self._on_ended()


def current_link() -> ModelLink | None:
    """The link of the call whose task is running."""
    slot = _current.get()
    return None if slot is None else slot.link


class _ServerTap:
    """Stands in for google-genai's socket and reads every server message first."""

    def __init__(
        self,
        socket: Any,
        on_message: MessageHandler,
        on_receipt: ReceiptHandler = lambda: None,
        on_close: Callable[[Any], Awaitable[None]] | None = None,
    ) -> None:
        self._socket = socket
        self._on_message = on_message
        self._on_receipt = on_receipt
        self._on_close = on_close

    def __getattr__(self, name: str) -> Any:
        return getattr(self._socket, name)

    async def close(self, *args: Any, **kwargs: Any) -> None:
        """Close the socket, reading (and dropping) what the server still sends meanwhile.

        ADK closes a connection without reading it any more (when it hands the call to another
        agent, after a pause). A model that is still speaking fills the socket's buffers, its
        closing handshake waits behind them, and the close would take the full close timeout
        (10 s) with the caller in silence. Its messages are moot: ADK has left the connection.
        """
        if self._on_close is not None:
            await self._on_close(self._socket)
        async with alongside(self._drain()):
            await self._socket.close(*args, **kwargs)

    async def _drain(self) -> None:
        # Someone else reading already (ADK's receive loop, at the end of a call) drains it.
        with contextlib.suppress(ConnectionClosed, ConcurrencyError):
            while True:
                await self._socket.recv()

    async def recv(self, *args: Any, **kwargs: Any) -> Any:
        while True:
            raw = await self._socket.recv(*args, **kwargs)
            self._on_receipt()
            message, rest = split_server_message(raw)
            if message is not None:
                await self._on_message(message)
            if rest is not None:
                return rest
