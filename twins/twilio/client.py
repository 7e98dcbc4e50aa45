"""Pointing the real ``twilio`` SDK at the REST simulator.

``twilio.rest.Client`` builds absolute URLs on Twilio's domains (``https://api.twilio.com/...``)
and hands every request to its ``http_client``. The client here is the SDK's own requests-based
client with one change: requests for any ``*.twilio.com`` host go to the simulator's origin
instead, path and query unchanged. Proxy settings from the environment are ignored, since the
simulator is on loopback.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client


class SimulatorHttpClient(TwilioHttpClient):  # type: ignore[misc]  # twilio ships no types
    """The SDK's HTTP client, sending Twilio API requests to ``base_url`` instead."""

    def __init__(self, base_url: str, *, timeout: float | None = 30.0) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")
        if self.session is not None:
            self.session.trust_env = False

    def rewrite(self, url: str) -> str:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if host != "twilio.com" and not host.endswith(".twilio.com"):
            return url
        base = urlsplit(self.base_url)
        return urlunsplit((base.scheme, base.netloc, base.path + parts.path, parts.query, ""))

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        return super().request(method, self.rewrite(url), *args, **kwargs)


def twilio_client(sim_url: str, account_sid: str, auth_token: str) -> Client:
    """A ``twilio.rest.Client`` whose API calls go to the simulator at ``sim_url``.

    Synchronous, like every ``twilio.rest.Client``: call it with ``asyncio.to_thread``.
    """
    return Client(account_sid, auth_token, http_client=SimulatorHttpClient(sim_url))
