"""Caller audio to the live model: ADK's queue, or straight to the model's socket.

Through ADK, every 20 ms frame of caller audio becomes a ``LiveRequest`` on the call's
``LiveRequestQueue``; ADK's sender task picks it up and google-genai validates it into its
request model and serialises it: about 170 us of CPU per frame, 50 frames a second, the largest
single cost of a call. The fast path writes the very same JSON message google-genai would write,
straight to the live connection's WebSocket, for about 20 us.

How it finds the socket: ``LiveGemini`` is ADK's ``Gemini`` model with one addition. Each time
ADK opens a call's live connection (again after a ``goAway`` or a dropped connection), it hands
the connection to that call's ``AudioUplink``, found through a context variable the call sets
before it starts ``run_live``. ADK's tasks inherit the variable, so calls never mix.

The uplink falls back to ADK's queue whenever the fast path cannot be used: before the first
connection, while ADK reconnects and until the queue has drained (so audio never overtakes
audio), on Vertex AI (whose wire form this module does not write), or if the connection is not
one it knows. Only caller audio takes the fast path; text, tool responses and everything else go
through ADK as always. Agents with streaming tools (which read caller audio from the queue) or
a RunConfig with ``save_live_blob`` must not use it: see ``fast_path_allowed``.
"""

import base64
import contextlib
import contextvars
import inspect
import logging
from collections.abc import AsyncIterator
from typing import Any

from google.adk.agents import BaseAgent, LiveRequestQueue, LlmAgent, RunConfig
from google.adk.models import Gemini
from google.adk.models.base_llm_connection import BaseLlmConnection
from google.adk.models.gemini_llm_connection import GeminiLlmConnection
from google.adk.models.llm_request import LlmRequest
from google.adk.utils.variant_utils import GoogleLLMVariant
from google.genai import types
from websockets.exceptions import ConnectionClosed

logger = logging.getLogger(__name__)

MODEL_INPUT_MIME = "audio/pcm;rate=16000"
MAX_QUEUED_AUDIO = 100
"""Audio messages waiting in ADK's queue before new audio is dropped (2 s at 20 ms)."""

_uplink: contextvars.ContextVar["AudioUplink | None"] = contextvars.ContextVar(
    "telephony_audio_uplink", default=None
)


class AudioUplink:
    """Sends one call's caller audio to its live model session."""

    def __init__(self, queue: LiveRequestQueue, *, fast_path: bool = True) -> None:
        self._queue = queue
        self._fast_path = fast_path
        self._socket: Any = None
        self._connection: BaseLlmConnection | None = None
        self._prefix = self._suffix = ""
        self.sent_direct = 0
        self.sent_queued = 0
        self.dropped = 0

    @contextlib.contextmanager
    def bound(self) -> Any:
        """Make this the uplink of the live connections ADK opens inside the block."""
        token = _uplink.set(self if self._fast_path else None)
        try:
            yield
        finally:
            _uplink.reset(token)

    async def send(self, pcm: bytes) -> None:
        """Send 16 kHz PCM16 caller audio, the fastest way available."""
        socket = self._socket
        pending = self._queue._queue.qsize()  # ADK's queue is unbounded: watch it ourselves
        if socket is not None and not pending:
            data = base64.urlsafe_b64encode(pcm).decode()
            try:
                await socket.send(self._prefix + data + self._suffix)
            except ConnectionClosed:
                self._socket = None  # ADK is reconnecting; the queue carries on meanwhile
            else:
                self.sent_direct += 1
                return
        if pending >= MAX_QUEUED_AUDIO:
            self.dropped += 1
            return
        self._queue.send_realtime(types.Blob(data=pcm, mime_type=MODEL_INPUT_MIME))
        self.sent_queued += 1

    def _attach(self, connection: BaseLlmConnection) -> None:
        self._connection = connection
        self._socket = None
        if not isinstance(connection, GeminiLlmConnection):
            return
        if connection._api_backend != GoogleLLMVariant.GEMINI_API:
            return  # Vertex AI: its wire form is not the one written here
        socket = getattr(getattr(connection, "_gemini_session", None), "_ws", None)
        if socket is None or not callable(getattr(socket, "send", None)):
            logger.warning("live connection without a known socket: caller audio goes via ADK")
            return
        # The same message google-genai's send_realtime_input writes for this model.
        three_x = connection._is_gemini_3_x_live or connection._is_gemini_3_5_live_translate
        blob_end = f'", "mime_type": "{MODEL_INPUT_MIME}"}}'
        if three_x:
            self._prefix = '{"realtime_input": {"audio": {"data": "'
            self._suffix = blob_end + "}}"
        else:
            self._prefix = '{"realtime_input": {"mediaChunks": [{"data": "'
            self._suffix = blob_end + "]}}"
        self._socket = socket

    def _detach(self, connection: BaseLlmConnection) -> None:
        if self._connection is connection:
            self._connection = None
            self._socket = None


class LiveGemini(Gemini):
    """ADK's Gemini model, handing each live connection to the call's ``AudioUplink``."""

    @contextlib.asynccontextmanager
    async def connect(self, llm_request: LlmRequest) -> AsyncIterator[BaseLlmConnection]:
        uplink = _uplink.get()
        async with super().connect(llm_request) as connection:
            if uplink is not None:
                uplink._attach(connection)
            try:
                yield connection
            finally:
                if uplink is not None:
                    uplink._detach(connection)


def fast_path_allowed(agent: object, run_config: RunConfig) -> bool:
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
