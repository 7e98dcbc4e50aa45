"""``LiveEmulator``: a local Gemini Live API (BidiGenerateContent) server over TLS.

Point a google-genai / google-adk client at it either through the environment
(``client_env()``: ``GOOGLE_GEMINI_BASE_URL``, ``GOOGLE_API_KEY``, ``SSL_CERT_FILE``, read when a
client is built) or, without touching the process environment, with ``adk_model(name)``: an ADK
``Gemini`` model whose client carries the base URL, an API key and an SSL context trusting the
emulator's throw-away CA. Several emulators can run in one process.
"""

import asyncio
import logging
import time
from http import HTTPStatus
from types import TracebackType
from typing import TYPE_CHECKING, Self
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from twins.gemini_live.brain import Brain
from twins.gemini_live.closes import INVALID_ARGUMENT, POLICY_VIOLATION
from twins.gemini_live.config import EmulatorConfig
from twins.gemini_live.record import Record
from twins.gemini_live.resumption import HandleStore
from twins.gemini_live.script import Script
from twins.gemini_live.session import Session, Shared
from twins.gemini_live.text import TextConfig, TextServer
from twins.gemini_live.tls import DEFAULT_HOSTS, TlsFiles, create_tls_files

if TYPE_CHECKING:
    import ssl

    from google.adk.models import Gemini
    from google.genai import types

logger = logging.getLogger(__name__)

API_VERSIONS = ("v1alpha", "v1beta")
LIVE_PATH = "/ws/google.ai.generativelanguage.{version}.GenerativeService.BidiGenerateContent"
DEFAULT_API_KEY = "emulator-api-key"
_MISSING_KEY_REASON = (
    "Method doesn't allow unregistered callers (callers without established identity)."
    " Please use API Key or other form of API consumer identity to call this API."
)
_INVALID_KEY_REASON = "API key not valid. Please pass a valid API key."
_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
_LIVE_PATHS = frozenset(LIVE_PATH.format(version=v).lstrip("/") for v in API_VERSIONS)


class LiveEmulator:
    """A Gemini Live API stand-in. ``async with LiveEmulator(config) as emulator: ...``"""

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self.script = Script()
        self.record = Record()
        self._shared = Shared(
            config=self.config,
            script=self.script,
            record=self.record,
            brain=Brain(self.config, self.script),
            handles=HandleStore(self.config.resumption.handle_validity_s),
        )
        self._server: Server | None = None
        self._tls: TlsFiles | None = None
        self._sessions: list[Session] = []
        self._host = "127.0.0.1"
        self._port = 0
        self.text = TextConfig()
        """The text models' ``generateContent`` (see ``text``): failures to inject, requests."""
        self._text_server = TextServer(self.text)
        self._text_port = 0
        self._unsubscribe = self.script.subscribe(self._wake_newest_session)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host``:``port`` (0 picks a free port) with a fresh certificate."""
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        wildcard = host in ("", "0.0.0.0", "::")
        self._tls = create_tls_files(DEFAULT_HOSTS if wildcard else (*DEFAULT_HOSTS, host))
        try:
            self._server = await serve(
                self._handle,
                host,
                port,
                ssl=self._tls.server_context(),
                process_request=_check_path,
                max_size=_MAX_MESSAGE_BYTES,
            )
        except BaseException:
            self._tls.remove()
            self._tls = None
            raise
        self._host = "127.0.0.1" if wildcard else host
        self._port = next(iter(self._server.sockets)).getsockname()[1]
        self._text_port = await self._text_server.start(host, self._tls.server_context())
        logger.info("Gemini Live emulator listening on %s", self.base_url)

    async def stop(self) -> None:
        """Close every connection (code 1001), stop listening and delete the certificate files."""
        server, self._server = self._server, None
        await self._text_server.stop()
        if server is not None:
            server.close(close_connections=True)
            await server.wait_closed()
            logger.info("Gemini Live emulator stopped")
        if self._tls is not None:
            self._tls.remove()
            self._tls = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        self._require_running()
        return self._port

    @property
    def base_url(self) -> str:
        """``https://HOST:PORT``: the value for ``GOOGLE_GEMINI_BASE_URL`` or ``base_url``."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"https://{host}:{self.port}"

    @property
    def text_base_url(self) -> str:
        """``https://HOST:PORT`` of ``generateContent`` (text models: see ``text``)."""
        self._require_running()
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"https://{host}:{self._text_port}"

    def text_http_options(self) -> "types.HttpOptions":
        """``HttpOptions`` for a ``google.genai.Client`` whose text requests the emulator
        answers (``client.aio.models.generate_content``)."""
        from google.genai import types  # heavy: imported only when asked

        return types.HttpOptions(
            base_url=self.text_base_url, async_client_args={"ssl": self.client_ssl_context()}
        )

    @property
    def ca_path(self) -> str:
        """PEM file of the CA that signed the emulator's certificate."""
        self._require_running()
        assert self._tls is not None
        return str(self._tls.ca_path)

    def client_ssl_context(self) -> "ssl.SSLContext":
        """A client context trusting only the emulator's CA."""
        self._require_running()
        assert self._tls is not None
        return self._tls.client_context()

    def client_env(self, api_key: str = DEFAULT_API_KEY) -> dict[str, str]:
        """Environment for a google-genai client built afterwards in this or another process."""
        return {
            "GOOGLE_GEMINI_BASE_URL": self.base_url,
            "GOOGLE_API_KEY": api_key,
            "GOOGLE_GENAI_USE_ENTERPRISE": "false",
            "SSL_CERT_FILE": self.ca_path,
            "NO_PROXY": ",".join(DEFAULT_HOSTS),
        }

    def http_options(self) -> "types.HttpOptions":
        """``HttpOptions`` for a ``google.genai.Client(api_key=..., http_options=...)``."""
        from google.genai import types  # heavy: imported only when asked

        return types.HttpOptions(
            base_url=self.base_url,
            api_version=API_VERSIONS[0],
            async_client_args={"ssl": self.client_ssl_context()},
        )

    def adk_model(self, model: str, *, api_key: str = DEFAULT_API_KEY) -> "Gemini":
        """An ADK model bound to this emulator, independent of the process environment."""
        from google.adk.models import Gemini  # heavy: imported only when asked
        from google.genai import types

        return Gemini(
            model=model,
            base_url=self.base_url,
            client_kwargs={
                "api_key": api_key,
                "vertexai": False,
                "http_options": types.HttpOptions(
                    async_client_args={"ssl": self.client_ssl_context()}
                ),
            },
        )

    async def prepare_replies(self) -> None:
        """Synthesize the audio of the configured greeting and replies now, off the event loop.

        Otherwise each reply is synthesized the first time it is spoken (tens of ms of CPU
        each), which a benchmark would see as the emulator's own delay.
        """
        await asyncio.to_thread(self._shared.brain.prepare)

    def _require_running(self) -> None:
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() first")

    def _wake_newest_session(self) -> None:
        for session in reversed(self._sessions):
            if session.ready:
                session.wake()
                return

    async def _handle(self, ws: ServerConnection) -> None:
        request = ws.request
        assert request is not None
        key = _api_key(request)
        conn = self.record.open_connection(
            request.path, api_key_present=bool(key), timings=self.config.record_timings
        )
        session = Session(ws, conn, self._shared)
        self._sessions.append(session)
        logger.info("live connection %d: opened", conn.index)
        try:
            if not key:
                await session.close(POLICY_VIOLATION, _MISSING_KEY_REASON)
            elif self.config.api_keys is not None and key not in self.config.api_keys:
                await session.close(INVALID_ARGUMENT, _INVALID_KEY_REASON)
            else:
                await session.run()
            await ws.wait_closed()
        finally:
            self._sessions.remove(session)
            conn.closed_at = time.monotonic()
            if not conn.closed_by_server:
                conn.close_code = ws.close_code
                conn.close_reason = ws.close_reason or ""
            self.record.changed()
            logger.info("live connection %d: closed with code %s", conn.index, conn.close_code)


def _check_path(connection: ServerConnection, request: Request) -> Response | None:
    if urlsplit(request.path).path.lstrip("/") in _LIVE_PATHS:
        return None
    return connection.respond(HTTPStatus.NOT_FOUND, "Not found\n")


def _api_key(request: Request) -> str:
    key = request.headers.get("x-goog-api-key")
    if key:
        return key.strip()
    values = parse_qs(urlsplit(request.path).query).get("key", [])
    return values[0].strip() if values else ""
