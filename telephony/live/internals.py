"""The one module that touches private parts of google-genai and ADK.

Everything else in the project uses the libraries' public API. The call path goes deeper in
three places, each for a measured reason, and each with a fallback to the public API:

- ADK's ``GeminiLlmConnection._gemini_session``, ``._api_backend``, ``._is_gemini_3_x_live``
  and ``._is_gemini_3_5_live_translate``: a live connection's google-genai session, whether it
  speaks the Gemini API's wire form, and which audio message form its model takes;
- google-genai's ``AsyncSession._ws``, read by ``AsyncSession._receive`` with ``recv()``: the
  socket itself. With these two, the direct line writes caller audio to the socket and reads
  the server's messages first, through a tap (``link.py``). Without them, ADK carries all audio.
- ADK's ``LiveRequestQueue._queue``: how many requests wait in ADK's unbounded queue, to bound
  it. Without it, the queue is not bounded (ADK's own behaviour).
- ``BaseSessionService.append_event`` called past ``DatabaseSessionService``'s override: keep a
  live call's short-lived events in memory only (``sessions.py``). Without it, every event is
  written, as ADK does.

``verify()`` checks each of them against the installed versions, once, when the app starts: it
builds the objects concerned (no network) and looks for the names and their types. A mismatch,
after an upgrade of google-adk or google-genai, turns the feature off with one warning; calls
keep working on the public API at a higher CPU cost. The versions the project is tested with are
pinned in ``requirements.txt`` (see the README's upgrade notes).
"""

import asyncio
import inspect
import logging
from dataclasses import dataclass, field
from typing import Any

from google.adk.agents import LiveRequestQueue
from google.adk.events import Event
from google.adk.models.base_llm_connection import BaseLlmConnection
from google.adk.models.gemini_llm_connection import GeminiLlmConnection
from google.adk.sessions import BaseSessionService, DatabaseSessionService, Session
from google.adk.utils.variant_utils import GoogleLLMVariant
from google.genai.live import AsyncSession

logger = logging.getLogger(__name__)

_PROBE_MODEL = "gemini-3.1-flash-live-preview"
"""A model name ADK treats as Gemini 3.x Live: the probe connection must report it as such."""


@dataclass(frozen=True, slots=True)
class Internals:
    """Which of the private paths work with the installed libraries (see the module docstring)."""

    direct_line: bool = False
    queue_depth: bool = False
    session_events: bool = False
    problems: tuple[str, ...] = field(default=())

    @classmethod
    def public_only(cls) -> "Internals":
        """Every feature off: the call path uses only the libraries' public API."""
        return cls()


PUBLIC_ONLY = Internals.public_only()


def verify() -> Internals:
    """Check every private name this module uses against the installed libraries.

    Logs one warning naming what did not match; never raises.
    """
    problems: list[str] = []
    direct_line = _check(_verify_direct_line, "direct line", problems)
    queue_depth = _check(_verify_queue_depth, "queue bound", problems)
    session_events = _check(_verify_session_events, "in-memory session events", problems)
    if problems:
        logger.warning(
            "google-adk or google-genai changed in a way this server did not expect (%s); "
            "the affected features fall back to the libraries' public API",
            "; ".join(problems),
        )
    return Internals(direct_line, queue_depth, session_events, tuple(problems))


def _check(verify_one: Any, name: str, problems: list[str]) -> bool:
    try:
        found: str | None = verify_one()
    except Exception as exc:  # noqa: BLE001 - any failure of a probe means "do not use it"
        found = f"{type(exc).__name__}: {exc}"
    if found is not None:
        problems.append(f"{name}: {found}")
        return False
    return True


def _verify_direct_line() -> str | None:
    marker = object()
    session = AsyncSession(api_client=None, websocket=marker)  # type: ignore[arg-type]
    if getattr(session, "_ws", None) is not marker:
        return "AsyncSession keeps its socket elsewhere than _ws"
    receive = inspect.getsource(AsyncSession._receive)
    if "self._ws.recv(" not in receive:
        return "AsyncSession._receive no longer reads with self._ws.recv()"
    connection = GeminiLlmConnection(
        session, api_backend=GoogleLLMVariant.GEMINI_API, model_version=_PROBE_MODEL
    )
    if getattr(connection, "_gemini_session", None) is not session:
        return "GeminiLlmConnection keeps its session elsewhere than _gemini_session"
    if getattr(connection, "_api_backend", None) != GoogleLLMVariant.GEMINI_API:
        return "GeminiLlmConnection has no _api_backend"
    if getattr(connection, "_is_gemini_3_x_live", None) is not True:
        return "GeminiLlmConnection._is_gemini_3_x_live is missing or not a bool"
    if not isinstance(getattr(connection, "_is_gemini_3_5_live_translate", None), bool):
        return "GeminiLlmConnection._is_gemini_3_5_live_translate is missing or not a bool"
    return None


def _verify_queue_depth() -> str | None:
    queue = LiveRequestQueue()
    inner = getattr(queue, "_queue", None)
    if not isinstance(inner, asyncio.Queue):
        return "LiveRequestQueue._queue is not an asyncio.Queue"
    queue.close()
    if inner.qsize() != 1:
        return "LiveRequestQueue does not put its requests on _queue"
    return None


def _verify_session_events() -> str | None:
    base = BaseSessionService.__dict__.get("append_event")
    if not inspect.iscoroutinefunction(base):
        return "BaseSessionService.append_event is not a coroutine function"
    if list(inspect.signature(base).parameters) != ["self", "session", "event"]:
        return "BaseSessionService.append_event takes other arguments"
    if "append_event" not in DatabaseSessionService.__dict__:
        return "DatabaseSessionService no longer overrides append_event"
    return None


# -- the private paths, each usable only where ``verify()`` said so ---------------------------


@dataclass(frozen=True, slots=True)
class LiveSocket:
    """What the direct line needs of one live connection."""

    socket: Any
    """The connection's WebSocket (``send`` and ``recv``)."""
    audio_field: bool
    """The model takes caller audio as ``realtime_input.audio`` (3.x), not ``mediaChunks``."""
    final_input_transcripts: bool
    """The model sends each input transcription whole (Gemini 3.x Live)."""
    _session: Any

    def replace_socket(self, stand_in: Any) -> None:
        """Make google-genai read and write through ``stand_in`` from now on."""
        self._session._ws = stand_in


def live_socket(connection: BaseLlmConnection) -> LiveSocket | None:
    """The WebSocket under an ADK live connection to the Gemini API, or None (Vertex AI, a
    connection of another kind, or one whose socket does not look like a WebSocket)."""
    if not isinstance(connection, GeminiLlmConnection):
        return None
    if getattr(connection, "_api_backend", None) != GoogleLLMVariant.GEMINI_API:
        return None
    session = getattr(connection, "_gemini_session", None)
    socket = getattr(session, "_ws", None)
    if socket is None or not all(callable(getattr(socket, n, None)) for n in ("send", "recv")):
        return None
    three_x = bool(getattr(connection, "_is_gemini_3_x_live", False))
    translate = bool(getattr(connection, "_is_gemini_3_5_live_translate", False))
    return LiveSocket(socket, three_x or translate, three_x, session)


def queued_requests(queue: LiveRequestQueue) -> int:
    """How many requests wait in ADK's queue (only where ``Internals.queue_depth``)."""
    inner: asyncio.Queue[Any] = queue._queue
    return inner.qsize()


async def append_in_memory(service: BaseSessionService, session: Session, event: Event) -> Event:
    """Add ``event`` to the in-memory ``session`` without writing it to the database (only
    where ``Internals.session_events``)."""
    return await BaseSessionService.append_event(service, session, event)
