"""Callbacks Twilio sends about a call: call progress events and media stream events.

All are signed like every Twilio request (``X-Twilio-Signature`` over the URL and the sorted
parameters) and sent only to URLs the application serves (see :meth:`Endpoints.serves`). Their
answers change nothing on the call: Twilio only logs a failed callback (warning 15003).

Call progress events (https://www.twilio.com/docs/voice/api/call-resource#statuscallbackevent):
``initiated``, ``ringing``, ``answered``, ``completed``; a call's ``StatusCallback`` gets only
``completed`` unless ``StatusCallbackEvent`` names others. Each carries the standard call
parameters with ``CallStatus`` (``initiated``, ``ringing``, ``in-progress``, then the final
status: completed, busy, no-answer, failed, canceled; twilio-java issue 321 shows ``answered``
arriving as ``in-progress``), plus ``CallbackSource=call-progress-events``, ``SequenceNumber``
(0, 1, ... per call) and ``Timestamp`` (RFC 2822); ``completed`` adds ``CallDuration`` (seconds,
answered calls) and ``Duration`` (billed minutes).

``<Stream statusCallback>`` (https://www.twilio.com/docs/voice/twiml/stream, "statusCallback"):
``AccountSid``, ``CallSid``, ``StreamSid``, ``StreamName`` (the ``name`` attribute, else the
StreamSid), ``StreamEvent`` (``stream-started``, ``stream-stopped``, ``stream-error``),
``StreamError`` (on errors) and ``Timestamp`` (ISO 8601). Handshake failures are Twilio errors
31920 (non-101 answer), 31901 (timeout), 31902 (refused), 31910 (TLS)
(https://www.twilio.com/docs/api/errors/31920 and neighbours); the exact ``StreamError`` text
is not documented: the simulator sends ``"<code>: <title>"`` and the detail.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx

from twins.twilio.endpoints import Endpoints
from twins.twilio.webhook import WebhookExchange, post_signed

logger = logging.getLogger(__name__)

CALL_PROGRESS_EVENTS = ("initiated", "ringing", "answered", "completed")
DEFAULT_STATUS_EVENTS = ("completed",)
"""What a ``StatusCallback`` receives when ``StatusCallbackEvent`` is not given."""
STREAM_HANDSHAKE_ERROR = 31920
STREAM_CONNECTION_TIMEOUT = 31901
STREAM_CONNECTION_REFUSED = 31902
STREAM_TLS_ERROR = 31910
STREAM_ERROR_TITLES = {
    STREAM_HANDSHAKE_ERROR: "Stream - WebSocket - Handshake Error",
    STREAM_CONNECTION_TIMEOUT: "Stream - WebSocket - Connection Timeout",
    STREAM_CONNECTION_REFUSED: "Stream - WebSocket - Connection Refused",
    STREAM_TLS_ERROR: "Stream - WebSocket - SSL Protocol Error",
}


def rfc2822_now() -> str:
    return format_datetime(datetime.now(UTC))


def iso8601_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Courier:
    """Sends one call's signed requests to the application and keeps every exchange."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        endpoints: Endpoints,
        *,
        auth_token: str,
        timeout_s: float,
    ) -> None:
        self.client = client
        self.endpoints = endpoints
        self.auth_token = auth_token
        self.timeout_s = timeout_s
        self.exchanges: list[WebhookExchange] = []

    async def send(
        self, url: str, params: Mapping[str, str], *, method: str = "POST"
    ) -> WebhookExchange | None:
        """Request ``url``; None (nothing sent) when the application does not serve it."""
        if not self.endpoints.serves(url):
            logger.info("not requesting a URL outside the application")
            return None
        exchange = await post_signed(
            self.client,
            self.endpoints,
            url=url,
            auth_token=self.auth_token,
            params=dict(params),
            timeout_s=self.timeout_s,
            method=method,
        )
        self.exchanges.append(exchange)
        if not exchange.ok:
            logger.warning("a Twilio request was answered with %s", exchange.status or "nothing")
        return exchange


class StatusCallbacks:
    """The call progress events of one call."""

    def __init__(
        self,
        courier: Courier,
        url: str | None,
        events: Sequence[str] = DEFAULT_STATUS_EVENTS,
        *,
        method: str = "POST",
    ) -> None:
        unknown = set(events) - set(CALL_PROGRESS_EVENTS)
        if unknown:
            raise ValueError(f"unknown call progress events: {sorted(unknown)}")
        self._courier, self._url, self._method = courier, url, method
        self._events = frozenset(events or DEFAULT_STATUS_EVENTS)
        self._sequence = 0
        self.sent: list[tuple[str, dict[str, str]]] = []

    async def send(self, event: str, params: Mapping[str, str]) -> None:
        """Send ``event`` if subscribed; ``params`` are the call's, ``CallStatus`` included."""
        if not self._url or event not in self._events:
            return
        full = dict(params) | {
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(self._sequence),
            "Timestamp": rfc2822_now(),
        }
        self._sequence += 1
        self.sent.append((event, full))
        await self._courier.send(self._url, full, method=self._method)


async def send_stream_event(
    courier: Courier,
    url: str,
    *,
    account_sid: str,
    call_sid: str,
    stream_sid: str,
    name: str | None,
    event: str,
    error: str | None = None,
    method: str = "POST",
) -> None:
    """One ``<Stream statusCallback>`` request."""
    params = {
        "AccountSid": account_sid,
        "CallSid": call_sid,
        "StreamSid": stream_sid,
        "StreamName": name or stream_sid,
        "StreamEvent": event,
        "Timestamp": iso8601_now(),
    }
    if error is not None:
        params["StreamError"] = error
    await courier.send(url, params, method=method)


def stream_error_text(code: int, detail: str) -> str:
    return f"{code}: {STREAM_ERROR_TITLES[code]} ({detail})"
