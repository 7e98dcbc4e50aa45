"""Signed HTTP requests from Twilio to the application: voice webhooks and status callbacks."""

from __future__ import annotations

import functools
import logging
import ssl
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import httpx

from twins.twilio.endpoints import Endpoints
from twins.twilio.signing import SIGNATURE_HEADER, twilio_signature

logger = logging.getLogger(__name__)

USER_AGENT = "TwilioProxy/1.1"


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """httpx's default trust (``verify=True``), built once: building it takes ~25 ms of CPU,
    which would hold up every other call in the process each time a call starts."""
    return httpx.create_ssl_context(trust_env=False)


@dataclass(frozen=True)
class WebhookExchange:
    """One signed POST and its answer."""

    url: str
    """The public URL, as signed."""
    sent_to: str
    """Where the request actually went."""
    params: dict[str, str]
    signature: str
    status: int | None
    """The HTTP status, or None when no answer came (``error`` says why)."""
    content_type: str = ""
    body: str = ""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


async def post_signed(
    client: httpx.AsyncClient,
    endpoints: Endpoints,
    *,
    url: str,
    auth_token: str,
    params: dict[str, str],
    timeout_s: float,
    method: str = "POST",
) -> WebhookExchange:
    """POST ``params`` to public ``url`` (delivered to the actual server), signed like Twilio.

    With ``method="GET"`` the parameters go in the query string instead, and the signature
    covers the whole URL with no parameters, as Twilio signs a GET.
    """
    if method.upper() == "GET":
        query = urlencode(list(params.items()))
        url = url + ("&" if urlsplit(url).query else "?") + query if query else url
        signed: dict[str, str] = {}
    else:
        signed = params
    signature = twilio_signature(auth_token, url, signed)
    target = endpoints.actual(url)
    headers = {SIGNATURE_HEADER: signature, "User-Agent": USER_AGENT, "Accept": "*/*"}
    try:
        if signed:
            response = await client.post(target, data=params, headers=headers, timeout=timeout_s)
        elif method.upper() == "GET":
            response = await client.get(target, headers=headers, timeout=timeout_s)
        else:
            response = await client.post(target, headers=headers, timeout=timeout_s)
    except httpx.HTTPError as exc:
        logger.warning("webhook request failed: %s", type(exc).__name__)
        return WebhookExchange(url, target, params, signature, None, error=repr(exc))
    logger.debug("webhook answered with HTTP %d", response.status_code)
    return WebhookExchange(
        url,
        target,
        params,
        signature,
        response.status_code,
        response.headers.get("content-type", ""),
        response.text,
    )
