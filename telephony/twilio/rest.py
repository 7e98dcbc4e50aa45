"""Twilio's REST API, as call control and outbound calling use it, through the official SDK.

One ``RestClient`` per process wraps ``twilio.rest.Client``. The SDK is synchronous (requests),
so every call runs in a worker thread and the event loop never waits on the network.

``TWILIO_API_BASE_URL`` points the SDK somewhere other than Twilio (a local simulator in tests
and the demo, a recording proxy): requests for any ``*.twilio.com`` host go to that origin
instead, path and query unchanged.

Twilio answers a call that has already ended with 20404 (not found) or 21220 (not in progress);
both mean the same thing to a caller of this module and raise ``CallAlreadyEnded``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

ALREADY_ENDED_CODES = frozenset({20404, 21220})

T = TypeVar("T")


class RestError(Exception):
    """Twilio refused a request; ``code`` is Twilio's error code when it gave one."""

    def __init__(self, message: str, *, code: int | None = None, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.status = status


class CallAlreadyEnded(RestError):
    """The call is over (20404 or 21220): nothing to update, and not a failure."""


class NotConfigured(RestError):
    """No REST credentials: call control is not available on this deployment."""


@dataclass(frozen=True, slots=True)
class RestCredentials:
    """An account SID with either its auth token or an API key and secret."""

    account_sid: str
    auth_token: str | None = None
    api_key: str | None = None
    api_secret: str | None = None

    def client_args(self) -> tuple[str, str, str]:
        if self.api_key and self.api_secret:
            return self.api_key, self.api_secret, self.account_sid
        if self.auth_token:
            return self.account_sid, self.auth_token, self.account_sid
        raise NotConfigured("Twilio REST credentials are incomplete")


class _RedirectingHttpClient(TwilioHttpClient):  # type: ignore[misc]  # twilio ships no types
    """The SDK's HTTP client, sending requests for Twilio's hosts to ``base_url`` instead."""

    def __init__(self, base_url: str, *, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self._base = urlsplit(base_url.rstrip("/"))

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if host == "twilio.com" or host.endswith(".twilio.com"):
            url = urlunsplit(
                (
                    self._base.scheme,
                    self._base.netloc,
                    self._base.path + parts.path,
                    parts.query,
                    "",
                )
            )
        return super().request(method, url, *args, **kwargs)


class RestClient:
    """Asynchronous access to the handful of REST operations the product uses."""

    def __init__(
        self,
        credentials: RestCredentials,
        *,
        base_url: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        http = (
            _RedirectingHttpClient(base_url, timeout=timeout_s)
            if base_url
            else TwilioHttpClient(timeout=timeout_s)
        )
        username, password, account_sid = credentials.client_args()
        self.account_sid = account_sid
        self.sdk = Client(username, password, account_sid, http_client=http)

    async def run(self, operation: Callable[[Client], T]) -> T:
        """Run ``operation(sdk_client)`` in a thread, translating Twilio's errors."""
        try:
            return await asyncio.to_thread(operation, self.sdk)
        except TwilioRestException as exc:
            code = int(exc.code) if exc.code is not None else None
            error = CallAlreadyEnded if code in ALREADY_ENDED_CODES else RestError
            raise error(
                f"Twilio refused the request: {exc.msg}", code=code, status=exc.status
            ) from exc

    async def update_call(
        self,
        call_sid: str,
        *,
        twiml: str | None = None,
        url: str | None = None,
        status: str | None = None,
    ) -> None:
        """Redirect a live call to new TwiML (inline or by URL) or end it (``status="completed"``).

        Raises ``CallAlreadyEnded`` when the call is over.
        """
        fields: dict[str, Any] = {}
        if twiml is not None:
            fields["twiml"] = twiml
        if url is not None:
            fields["url"] = url
            fields["method"] = "POST"
        if status is not None:
            fields["status"] = status
        await self.run(lambda sdk: sdk.calls(call_sid).update(**fields))

    async def end_call(self, call_sid: str) -> bool:
        """End a live call. False when it had already ended (not an error)."""
        try:
            await self.update_call(call_sid, status="completed")
        except CallAlreadyEnded:
            return False
        return True

    async def create_call(self, **fields: Any) -> str:
        """Place a call (``to``, ``from_``, ``url``, AMD options, callbacks); returns its SID."""
        call = await self.run(lambda sdk: sdk.calls.create(**fields))
        return str(call.sid)

    async def add_participant(self, conference: str, **fields: Any) -> str:
        """Dial someone into a conference (by friendly name or SID); returns the call SID."""
        participant = await self.run(
            lambda sdk: sdk.conferences(conference).participants.create(**fields)
        )
        return str(participant.call_sid)

    async def start_recording(self, call_sid: str, **fields: Any) -> str:
        """Start Twilio's recording of a live call; returns the recording SID."""
        recording = await self.run(lambda sdk: sdk.calls(call_sid).recordings.create(**fields))
        return str(recording.sid)

    async def set_recording_status(self, call_sid: str, recording_sid: str, status: str) -> None:
        """Pause (``paused``), resume (``in-progress``) or stop (``stopped``) a recording."""
        await self.run(
            lambda sdk: sdk.calls(call_sid).recordings(recording_sid).update(status=status)
        )


def rest_client_from(
    account_sid: str | None,
    auth_token: str | None,
    api_key: str | None,
    api_secret: str | None,
    base_url: str | None,
) -> RestClient | None:
    """The process's client, or None when the credentials are missing (call control off)."""
    if not account_sid or not (auth_token or (api_key and api_secret)):
        return None
    credentials = RestCredentials(account_sid, auth_token, api_key, api_secret)
    return RestClient(credentials, base_url=base_url)
