"""Client connections of one server process: how long a client may take to send a request, how
many connections the process holds, and a reserve that keeps health checks answering.

uvicorn bounds none of this by itself. Its keep-alive timer starts only after a response and
stops at the next byte, so a connection that sends nothing, half a request line, or its headers
a byte at a time holds a file descriptor for as long as the client likes; its
``limit_concurrency`` answers 503 to health checks too, and still accepts every connection. With
the descriptors gone, ``accept`` fails and ``/healthz`` stops answering. Here, in the server's
HTTP protocol:

- a request must arrive whole (head and body) within ``request_read_timeout_s``: on a new
  connection counted from the connect, on a kept-alive one from the request's first byte. A
  WebSocket upgrade needs only its head: once upgraded, the stream is the app's (a call lasts
  many minutes). A head larger than ``max_head_bytes`` is refused (uvicorn bounds it only with
  h11, ``h11_max_incomplete_event_size``; httptools reads any size);
- a kept-alive connection that does not begin a request within ``keep_alive_s`` of its
  response is closed, whatever bytes it trickles meanwhile;
- beyond ``max_connections`` open connections (media streams included), only health checks
  are served; any other request gets a 503 and the connection is closed;
- beyond ``max_connections + health_reserve``, room is made by closing the connection that has
  waited longest for a request (an idle or a slow one), or, if none waits, the new one.

The one module that touches uvicorn's HTTP protocol internals. ``LimitedHttpProtocol``
subclasses ``uvicorn.protocols.http.httptools_impl.HttpToolsProtocol`` and relies on its
callbacks and hooks ``connection_made``, ``connection_lost``, ``data_received``,
``on_message_begin``, ``on_headers_complete``, ``on_message_complete``, ``on_response_complete``,
``handle_websocket_upgrade``; its attributes ``app``, ``connections`` (the server's open
connections, WebSocket ones included), ``cycle`` (a ``RequestResponseCycle``: its
``response_complete``), ``loop``, ``parser``, ``pipeline``, ``transport``, ``url``; and
``flow_control.service_unavailable``.
``http_protocol`` checks the hooks when the server is configured and, if one moved, falls back
to uvicorn's own protocol with ``limit_concurrency`` (no reserve, no read deadline).
"""

import asyncio
import enum
import functools
import logging
import math
import resource
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from http import HTTPStatus
from typing import Any

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.flow_control import service_unavailable
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

logger = logging.getLogger(__name__)

MAX_CONNECTIONS = 1000
"""Open client connections per process. A process carries about 40 calls (one media stream
each) and a webhook or two per call: 1000 is 25 times what real traffic holds, so only a flood
reaches it, and it fits the usual 1024 open-file limit. Lowered at start to fit a smaller one."""
HEALTH_RESERVE = 16
"""Connections beyond ``max_connections`` kept for health checks: probes come a few at a time
from a load balancer or an orchestrator; 16 outnumbers them and costs nothing."""
REQUEST_READ_TIMEOUT_S = 10.0
"""Seconds to send a whole request. Our clients (Twilio, a proxy in front of us, probes) send a
request in one burst, in milliseconds; 10 s still lets a request through three lost segments
(TCP retransmits after 1, 2 and 4 s) while an idle flood is cleared in seconds."""
KEEP_ALIVE_S = 5
"""Seconds a kept-alive connection may wait before its next request begins: uvicorn's own
default. Behind a proxy that reuses its connections to the server, make it longer than the
proxy's idle timeout, or the proxy may send a request on a connection just being closed."""
MAX_HEAD_BYTES = 16 * 1024
"""Bytes a request's head (request line and headers) may take, as h11 and Node.js allow by
default. Twilio's, with its signature, take about 1-2 KiB."""
FDS_BESIDES_CONNECTIONS = 128
"""File descriptors a process keeps for itself when ``max_connections`` is fitted to its
open-file limit: about 20 of its own (measured offline at rest: the event loop, the listening
sockets, SQLite and its journal, log files), up to 15 database connections (SQLAlchemy's
default pool and overflow), and the model connection of each of the 40 or so calls a process
carries (two descriptors offline, where the emulator's end is in the process too)."""
HEALTH_PATHS = frozenset({b"/healthz", b"/readyz"})
"""The paths a health check asks for (``GET`` or ``HEAD``); served even beyond the limit."""
REPORT_INTERVAL_S = 60.0
"""Connections closed by these limits are logged in one line at most this often: a flood must
not flood the log too."""


EVENT_STREAM_SUFFIX = "/events"
"""Paths of Server-Sent Events streams (``routes/events.py``), closed at once at shutdown."""


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """The numbers one server process enforces (see the constants for why each is what it is)."""

    max_connections: int = MAX_CONNECTIONS
    health_reserve: int = HEALTH_RESERVE
    request_read_timeout_s: float = REQUEST_READ_TIMEOUT_S
    keep_alive_s: int = KEEP_ALIVE_S
    max_head_bytes: int = MAX_HEAD_BYTES

    @property
    def hard_cap(self) -> int:
        """Connections open at once, at most: the limit plus the reserve for health checks."""
        return self.max_connections + self.health_reserve


def fit_to_open_files(limits: ConnectionLimits, open_files: int | None = None) -> ConnectionLimits:
    """``limits`` with ``max_connections`` lowered, if need be, so that the hard cap leaves
    ``FDS_BESIDES_CONNECTIONS`` descriptors to the rest of the process: out of descriptors, a
    process cannot even accept the connection it would answer or refuse. ``open_files``
    defaults to the soft ``RLIMIT_NOFILE``, which worker processes inherit."""
    if open_files is None:
        open_files = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if open_files == resource.RLIM_INFINITY:
        return limits
    room = max(1, open_files - FDS_BESIDES_CONNECTIONS - limits.health_reserve)
    if room >= limits.max_connections:
        return limits
    logger.warning(
        "max_connections lowered from %d to %d to fit the open-file limit (%d)",
        limits.max_connections,
        room,
        open_files,
    )
    return replace(limits, max_connections=room)


class ConnectionGate:
    """One server's bookkeeping: its limits, the connections waiting for a request (longest
    waiting first) and the tally of connections the limits closed. A copy, the one a spawned
    worker process unpickles with its config, starts empty: the gate is per process."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self._waiting: dict[LimitedHttpProtocol, None] = {}
        self._closed: Counter[str] = Counter()
        self._reported_at = -math.inf

    def __reduce__(self) -> tuple[type["ConnectionGate"], tuple[ConnectionLimits]]:
        return ConnectionGate, (self.limits,)

    def waiting(self, connection: "LimitedHttpProtocol") -> None:
        """``connection`` waits for a request from now on (it may be evicted)."""
        self._waiting.pop(connection, None)
        self._waiting[connection] = None

    def not_waiting(self, connection: "LimitedHttpProtocol") -> None:
        self._waiting.pop(connection, None)

    def longest_waiting(self) -> "LimitedHttpProtocol | None":
        return next(iter(self._waiting), None)

    def closed(self, reason: str) -> None:
        """Count a connection closed by the limits; log the tally if the last was long ago."""
        self._closed[reason] += 1
        now = time.monotonic()
        if now - self._reported_at < REPORT_INTERVAL_S:
            return
        tally = ", ".join(f"{reason}: {count}" for reason, count in self._closed.items())
        logger.warning(
            "connection limits (max %d + %d for health checks) closed connections since the "
            "last report: %s",
            self.limits.max_connections,
            self.limits.health_reserve,
            tally,
        )
        self._closed.clear()
        self._reported_at = now


class _Phase(enum.Enum):
    IDLE = enum.auto()  # waiting for a request, none of its bytes parsed yet
    HEAD = enum.auto()  # a request's head is arriving
    BODY = enum.auto()  # the head is complete; the body is arriving
    BUSY = enum.auto()  # the request has arrived: the app's turn, no deadline
    UPGRADED = enum.auto()  # handed over to the WebSocket protocol


class LimitedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the read deadline, the head size cap and the
    connection limits of this module. Built by uvicorn, through ``http_protocol``."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        gate: ConnectionGate,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.gate = gate
        self.limits = gate.limits
        self._served_app = self.app
        self._phase = _Phase.IDLE
        self._first_request = True
        self._over_limit = False
        self._head_bytes = 0
        self._deadline: asyncio.TimerHandle | None = None

    # The connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._set_deadline(self.limits.request_read_timeout_s)
        self.gate.waiting(self)
        if len(self.connections) > self.limits.hard_cap:
            oldest = self.gate.longest_waiting()
            if oldest is not None and oldest is not self:
                oldest._close("evicted while waiting for a request")
            else:
                self._close("refused at the hard cap", HTTPStatus.SERVICE_UNAVAILABLE)

    def connection_lost(self, exc: Exception | None) -> None:
        self._set_deadline(None)
        self.gate.not_waiting(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return
        if self._phase is not _Phase.BODY:
            self._head_bytes += len(data)
        super().data_received(data)
        if (
            self._phase in (_Phase.IDLE, _Phase.HEAD, _Phase.BUSY)
            and self._head_bytes > self.limits.max_head_bytes
            and not self.transport.is_closing()
        ):
            self._close("request head too large", HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)

    # The request, as the parser reads it

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._phase is _Phase.BUSY or not self._first_request:
            # A kept-alive connection's (or a pipelined) request: its time starts now. The
            # first request's started at the connect.
            self._set_deadline(self.limits.request_read_timeout_s)
        self._phase = _Phase.HEAD

    def on_headers_complete(self) -> None:
        self._phase = _Phase.BODY
        self._head_bytes = 0
        self.gate.not_waiting(self)
        self._over_limit = len(self.connections) > self.limits.max_connections
        shed = self._over_limit and not self._is_health_check()
        if shed:
            self.gate.closed("answered 503 beyond the limit")
        # uvicorn starts the request with ``self.app``: the app, or a 503 that closes.
        self.app = service_unavailable if shed else self._served_app
        super().on_headers_complete()
        if self.pipeline:
            self._set_deadline(None)  # queued: uvicorn reads its body when its turn comes

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._phase = _Phase.BUSY
        self._first_request = False
        self._set_deadline(None)
        if not self.parser.should_upgrade():
            self._idle_if_answered()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._phase is _Phase.BODY and self._deadline is None:
            self._set_deadline(self.limits.request_read_timeout_s)  # a queued request's turn
        self._idle_if_answered()

    def handle_websocket_upgrade(self) -> None:
        """The upgrade request's head is complete: no deadline from here on, unless the process
        is beyond its limit, when the upgrade is refused with a 503."""
        self._set_deadline(None)
        self.gate.not_waiting(self)
        if self._over_limit:
            self._close(None, HTTPStatus.SERVICE_UNAVAILABLE)  # counted when its head came
            return
        self._phase = _Phase.UPGRADED
        super().handle_websocket_upgrade()

    def shutdown(self) -> None:
        """The server is stopping. An event stream (a path ending in ``EVENT_STREAM_SUFFIX``)
        never finishes by itself, so it is closed now rather than at the end of the graceful
        shutdown: its client reconnects to another instance and resumes after the last event
        it got (``Last-Event-ID``). Other requests finish first, as uvicorn does it."""
        cycle: RequestResponseCycle | None = self.cycle
        streaming = cycle is not None and not cycle.response_complete
        if streaming and str(cycle.scope["path"]).endswith(EVENT_STREAM_SUFFIX):  # type: ignore[union-attr]
            self.transport.close()
            return
        super().shutdown()

    # Helpers

    def _is_health_check(self) -> bool:
        if self.parser.get_method() not in (b"GET", b"HEAD"):
            return False
        try:
            path = httptools.parse_url(self.url).path
        except httptools.HttpParserInvalidURLError:
            return False
        return path in HEALTH_PATHS

    def _idle_if_answered(self) -> None:
        """After its response, a kept-alive connection waits for the next request: it may be
        evicted, and must begin one within ``keep_alive_s``."""
        answered = not self._answering() and not self.pipeline
        if self._phase is _Phase.BUSY and answered and not self.transport.is_closing():
            self._phase = _Phase.IDLE
            self._set_deadline(self.limits.keep_alive_s)
            self.gate.waiting(self)

    def _answering(self) -> bool:
        """Whether a response is on its way (uvicorn's cycle is None before the first request)."""
        cycle: RequestResponseCycle | None = self.cycle
        return cycle is not None and not cycle.response_complete

    def _set_deadline(self, seconds: float | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = None if seconds is None else self.loop.call_later(seconds, self._expired)

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._phase is _Phase.HEAD:
            self._close("request not sent in time", HTTPStatus.REQUEST_TIMEOUT)
        elif self._phase is _Phase.BODY:
            self._close("request not sent in time")  # the app sees a disconnect
        elif self._first_request:
            self._close("no request sent in time")
        else:
            self._close(None)  # keep-alive over: nothing to report

    def _close(self, reason: str | None, status: HTTPStatus | None = None) -> None:
        """Close now, with a short plain response if no other response is on the way. The
        connection stops counting at once, before the event loop reports it lost."""
        if reason is not None:
            self.gate.closed(reason)
        if status is not None and not self._answering():
            self.transport.write(_plain_response(status))
        self._set_deadline(None)
        self.gate.not_waiting(self)
        self.connections.discard(self)
        self.transport.close()


def _plain_response(status: HTTPStatus) -> bytes:
    """A whole response that ends the connection: the status, its phrase as the body."""
    body = status.phrase.encode()
    head = (
        f"HTTP/1.1 {status.value} {status.phrase}\r\n"
        f"content-type: text/plain; charset=utf-8\r\ncontent-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode() + body


_HOOKS = (
    "connection_made",
    "connection_lost",
    "data_received",
    "on_message_begin",
    "on_headers_complete",
    "on_message_complete",
    "on_response_complete",
    "handle_websocket_upgrade",
    "shutdown",
)


def http_protocol(limits: ConnectionLimits) -> Callable[..., asyncio.Protocol] | None:
    """What ``uvicorn.Config(http=...)`` builds each connection with: ``LimitedHttpProtocol``
    bound to a new gate (one per server); ``None``, logged, if uvicorn's protocol no longer has
    the hooks it overrides."""
    missing = [name for name in _HOOKS if not callable(getattr(HttpToolsProtocol, name, None))]
    if missing:
        logger.warning(
            "uvicorn's HTTP protocol lacks %s: no read deadline and no reserve for health "
            "checks; only uvicorn's limit_concurrency applies",
            ", ".join(missing),
        )
        return None
    return functools.partial(LimitedHttpProtocol, gate=ConnectionGate(limits))
