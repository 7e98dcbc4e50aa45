"""Who may reach us: Twilio's request signatures and the one-time stream tokens.

Webhooks and the media stream upgrade are signed by Twilio with the account's auth token
(PROTOCOLS.md §3). As a second line of defence, the webhook hands out a stream token in a
``<Parameter>``: random, bound to the CallSid and the (signed) AccountSid of the webhook, valid
for a minute and good for one stream.

Tokens are stateless (an HMAC over CallSid, AccountSid, expiry and a 128-bit nonce) so that any
worker process sharing the auth token can check a token minted by another; single use is enforced
per process, and Twilio's one stream per call plus the CallSid binding cover the rest.
"""

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping, Sequence

from twilio.request_validator import RequestValidator

__all__ = ["SignatureChecker", "StreamTokens", "pseudonym"]

_NONCE_BYTES = 16  # 128 bits
_TOKEN_VERSION = "v1"


class SignatureChecker:
    """Checks ``X-Twilio-Signature`` against URLs rebuilt from the configured public origin."""

    def __init__(self, auth_token: str) -> None:
        self._validator = RequestValidator(auth_token)

    def webhook_valid(self, url: str, form: Mapping[str, object], signature: str | None) -> bool:
        """A signed form POST (``form`` may be a multi-dict with ``getlist``)."""
        if not signature:
            return False
        return bool(self._validator.validate(url, form, signature))

    def upgrade_valid(self, url: str, signature: str | None) -> bool:
        """A signed WebSocket upgrade: the URL as written in the TwiML, or with a trailing '/'."""
        if not signature:
            return False
        candidates: Sequence[str] = (url, url + "/") if not url.endswith("/") else (url,)
        return any(self._validator.validate(candidate, {}, signature) for candidate in candidates)


class StreamTokens:
    """Mints and redeems single-use stream tokens bound to a call and its account."""

    def __init__(
        self,
        secret: bytes,
        *,
        ttl_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = hmac.new(secret, b"telephony stream token", hashlib.sha256).digest()
        self._ttl_s = ttl_s
        self._clock = clock
        self._used: dict[str, float] = {}  # nonce -> expiry

    def mint(self, call_sid: str, account_sid: str) -> str:
        """A fresh token for the stream of ``call_sid`` in ``account_sid``."""
        expires = int(self._clock() + self._ttl_s) + 1
        nonce = _b64(secrets.token_bytes(_NONCE_BYTES))
        mac = self._mac(call_sid, account_sid, expires, nonce)
        return f"{_TOKEN_VERSION}.{expires}.{nonce}.{mac}"

    def redeem(self, token: str, call_sid: str, account_sid: str) -> bool:
        """True once for a valid, unexpired token minted for this call; False otherwise."""
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != _TOKEN_VERSION or not parts[1].isdigit():
            return False
        _, expires_text, nonce, mac = parts
        expires = int(expires_text)
        expected = self._mac(call_sid, account_sid, expires, nonce)
        if not hmac.compare_digest(expected.encode(), mac.encode()):
            return False
        now = self._clock()
        if expires <= now:
            return False
        self._forget_expired(now)
        if nonce in self._used:
            return False
        self._used[nonce] = expires
        return True

    def _mac(self, call_sid: str, account_sid: str, expires: int, nonce: str) -> str:
        message = f"{call_sid}.{account_sid}.{expires}.{nonce}".encode()
        return _b64(hmac.new(self._key, message, hashlib.sha256).digest())

    def _forget_expired(self, now: float) -> None:
        if len(self._used) > 64:
            self._used = {n: e for n, e in self._used.items() if e > now}


def pseudonym(secret: bytes, value: str) -> str:
    """A stable, non-reversible stand-in for personal data such as a phone number."""
    digest = hmac.new(secret, b"pseudonym:" + value.encode(), hashlib.sha256).digest()
    return _b64(digest[:15])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
