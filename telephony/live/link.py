"""The call's direct line to its live model connection: caller audio out, model audio in.

Through ADK, every 20 ms frame of caller audio becomes a ``LiveRequest`` on the call's queue,
picked up by ADK's sender task and validated and serialised by google-genai: about 170 us of CPU
a frame. Every message from the model is parsed into google-genai's pydantic models and carried
through ADK's event pipeline to the call: about 300 us a message. Together they were most of the
server's CPU. So the call talks to the connection's WebSocket itself for the two things it has
in bulk, and leaves everything else to ADK:

- Out: caller audio is written to the socket as the very message google-genai would write
  (``live_wire.AudioMessages``), for about 20 us.
- In: each server message is read first by a tap standing in for google-genai's socket. The
  call gets what the message holds for it (model audio, transcriptions, ``interrupted``, turn
  ends; ``live_wire.split_server_message``) in wire order, before anything else; google-genai
  and ADK then get the message without its audio, so tools, session state, transcription events
  and resumption work as always.

How the call finds the socket: ``LiveGemini`` is ADK's ``Gemini`` model with one addition. Each
time ADK opens a call's live connection (again after a ``goAway`` or a dropped connection), it
hands the connection to that call's ``ModelLink``, found through a context variable the call
sets before it starts ``run_live``; ADK's tasks inherit the variable, so calls never mix.

Before the first connection and while ADK reconnects, the freshest half second of caller audio
is held and goes out first, in order. When the direct line cannot be used, ADK carries
everything: on Vertex AI (whose wire form is not the one handled here), with a connection of a
kind this module does not know (the call then plays ADK's events instead: ``ModelLink.tapped``),
and with agents that have streaming tools (they read caller audio from the queue) or a RunConfig
with ``save_live_blob``: see ``direct_line_allowed``.
"""

import contextlib
import contextvars
import inspect
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

from google.adk.agents import BaseAgent, LiveRequestQueue, LlmAgent, RunConfig
from google.adk.models import Gemini
from google.adk.models.base_llm_connection import BaseLlmConnection
from google.adk.models.gemini_llm_connection import GeminiLlmConnection
from google.adk.models.llm_request import LlmRequest
from google.adk.utils.variant_utils import GoogleLLMVariant
from google.genai import types
from websockets.exceptions import ConnectionClosed

from telephony.live_wire import MODEL_INPUT_MIME, AudioMessages, ServerSignals, split_server_message

logger = logging.getLogger(__name__)

MAX_QUEUED_AUDIO = 100
"""Audio messages waiting in ADK's queue before new audio is dropped (2 s at 20 ms)."""
HELD_AUDIO_MESSAGES = 25
"""Caller audio kept while the connection is not up (0.5 s at 20 ms); older audio is dropped."""

_link: contextvars.ContextVar["ModelLink | None"] = contextvars.ContextVar(
    "telephony_model_link", default=None
)

SignalHandler = Callable[[ServerSignals], Awaitable[None]]


class ModelLink:
    """One call's direct line to its live connection (see the module docstring)."""

    def __init__(
        self, queue: LiveRequestQueue, on_signals: SignalHandler, *, enabled: bool = True
    ) -> None:
        self._queue = queue
        self._on_signals = on_signals
        self._enabled = enabled
        self._connection: BaseLlmConnection | None = None
        self._socket: Any = None
        self._via_adk = not enabled
        self._held: deque[bytes] = deque(maxlen=HELD_AUDIO_MESSAGES)
        self._messages = AudioMessages(audio_field=False)
        self.tapped = False
        """True while the model's messages reach the call through the tap, not ADK's events."""
        self.final_input_transcripts = False
        """True for models that send each input transcription whole (Gemini 3.x Live)."""
        self.sent_direct = 0
        self.sent_queued = 0
        self.dropped = 0

    @contextlib.contextmanager
    def bound(self) -> Iterator[None]:
        """Make this the link of the live connections ADK opens inside the block."""
        token = _link.set(self if self._enabled else None)
        try:
            yield
        finally:
            _link.reset(token)

    async def send_audio(self, pcm: bytes) -> None:
        """Send 16 kHz PCM16 caller audio, the fastest way available."""
        if self._via_adk:
            self._queue_audio(pcm)
            return
        socket = self._socket
        if socket is None:  # not connected yet, or ADK is reconnecting
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

    def _hold(self, pcm: bytes) -> None:
        """Keep the freshest caller audio until there is a connection: stale audio would reach
        the model seconds late and push everything after it back."""
        if len(self._held) == self._held.maxlen:
            self.dropped += 1
        self._held.append(pcm)

    def _queue_audio(self, pcm: bytes) -> None:
        if self._queue._queue.qsize() >= MAX_QUEUED_AUDIO:  # ADK's queue is unbounded
            self.dropped += 1
            return
        self._queue.send_realtime(types.Blob(data=pcm, mime_type=MODEL_INPUT_MIME))
        self.sent_queued += 1

    def _give_audio_to_adk(self) -> None:
        self._via_adk = True
        while self._held:
            self._queue_audio(self._held.popleft())

    def _attach(self, connection: BaseLlmConnection) -> None:
        self._connection = connection
        self._socket = None
        self.tapped = False
        if not isinstance(connection, GeminiLlmConnection):
            self._give_audio_to_adk()
            return
        if connection._api_backend != GoogleLLMVariant.GEMINI_API:
            self._give_audio_to_adk()
            return
        session = getattr(connection, "_gemini_session", None)
        socket = getattr(session, "_ws", None)
        if (
            session is None
            or socket is None
            or not all(callable(getattr(socket, name, None)) for name in ("send", "recv"))
        ):
            logger.warning("live connection without a known socket: ADK carries all audio")
            self._give_audio_to_adk()
            return
        three_x = connection._is_gemini_3_x_live or connection._is_gemini_3_5_live_translate
        self._messages = AudioMessages(audio_field=three_x)
        self.final_input_transcripts = connection._is_gemini_3_x_live
        self._socket = socket
        session._ws = _ServerTap(socket, self._on_signals)
        self.tapped = True

    def _detach(self, connection: BaseLlmConnection) -> None:
        if self._connection is connection:
            self._connection = None
            self._socket = None


class _ServerTap:
    """Stands in for google-genai's socket and reads every server message first."""

    def __init__(self, socket: Any, on_signals: SignalHandler) -> None:
        self._socket = socket
        self._on_signals = on_signals

    def __getattr__(self, name: str) -> Any:
        return getattr(self._socket, name)

    async def recv(self, *args: Any, **kwargs: Any) -> Any:
        while True:
            raw = await self._socket.recv(*args, **kwargs)
            signals, rest = split_server_message(raw)
            if signals is not None:
                await self._on_signals(signals)
            if rest is not None:
                return rest


class LiveGemini(Gemini):
    """ADK's Gemini model, handing each live connection to the call's ``ModelLink``."""

    @contextlib.asynccontextmanager
    async def connect(self, llm_request: LlmRequest) -> AsyncIterator[BaseLlmConnection]:
        link = _link.get()
        async with super().connect(llm_request) as connection:
            if link is not None:
                link._attach(connection)
            try:
                yield connection
            finally:
                if link is not None:
                    link._detach(connection)


def direct_line_allowed(agent: object, run_config: RunConfig) -> bool:
    """False when something in ADK must see the caller audio: streaming tools, or blob saving."""
    if run_config.save_live_blob:
        return False
    if not isinstance(agent, BaseAgent):
        return False  # a workflow node: leave its audio to ADK
    agents = [agent]
    while agents:
        current = agents.pop()
        agents.extend(current.sub_agents)
        if isinstance(current, LlmAgent) and any(_streams_input(t) for t in current.tools):
            return False
    return True


def _streams_input(tool: object) -> bool:
    function = getattr(tool, "func", tool)
    if not callable(function):
        return False
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.annotation in (LiveRequestQueue, "LiveRequestQueue") for p in parameters)
