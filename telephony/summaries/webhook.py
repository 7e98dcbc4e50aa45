"""Delivery of a summary to the route's webhook: signed, retried with back-off, idempotent.

Each request carries:

- ``X-Telephony-Delivery``: the delivery id, the same on every attempt, so that a receiver that
  got a delivery whose answer was lost can recognise the retry and ignore it;
- ``X-Telephony-Signature: t=<unix seconds>,v1=<hex>``, where ``<hex>`` is
  HMAC-SHA256(secret, ``"<t>." + body``): a receiver checks it with the shared secret and
  refuses old timestamps (a replayed request), as Stripe's and Slack's webhooks work;
- ``X-Telephony-Event: call.summary``.

Any 2xx answer is a delivery. Anything else (another status, a network error, a timeout) is
retried after ``first_s``, doubling up to ``max_s``, ``max_attempts`` times in all.
"""

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Telephony-Signature"
DELIVERY_HEADER = "X-Telephony-Delivery"
EVENT_HEADER = "X-Telephony-Event"


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret, b"%d." % timestamp + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: bytes, header: str, body: bytes, *, now: float, tolerance_s: float) -> bool:
    """What a receiver does: the signature matches and its timestamp is recent."""
    try:
        parts = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 6
    first_s: float = 2.0
    max_s: float = 300.0
    timeout_s: float = 10.0


@dataclass(frozen=True, slots=True)
class Attempt:
    """How one attempt went: its number, and why it failed (None: delivered)."""

    number: int
    error: str | None


class WebhookSender:
    """Delivers JSON bodies to one URL, signed with one secret."""

    def __init__(
        self,
        url: str,
        secret: bytes,
        policy: RetryPolicy | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self._secret = secret
        self.policy = policy or RetryPolicy()
        self._clock = clock

    async def deliver(
        self,
        body: bytes,
        delivery_id: str,
        on_attempt: Callable[[Attempt], Awaitable[None]],
    ) -> bool:
        """Try until delivered or out of attempts; ``on_attempt`` hears of each. True if
        delivered."""
        policy = self.policy
        delay = policy.first_s
        async with httpx.AsyncClient(timeout=policy.timeout_s) as client:
            for number in range(1, policy.max_attempts + 1):
                error = await self._attempt(client, body, delivery_id)
                await on_attempt(Attempt(number, error))
                if error is None:
                    return True
                if number < policy.max_attempts:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, policy.max_s)
        return False

    async def _attempt(
        self, client: httpx.AsyncClient, body: bytes, delivery_id: str
    ) -> str | None:
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self._secret, int(self._clock()), body),
            DELIVERY_HEADER: delivery_id,
            EVENT_HEADER: "call.summary",
        }
        try:
            response = await client.post(self.url, content=body, headers=headers)
        except httpx.TimeoutException:
            return "timeout"
        except httpx.TransportError as exc:
            return f"network error ({type(exc).__name__})"
        if response.is_success:
            return None
        return f"HTTP {response.status_code}"
