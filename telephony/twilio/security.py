"""Who may reach us: Twilio's request signatures and the one-time stream tokens.

Webhooks and the media stream upgrade are signed by Twilio with the account's auth token
(PROTOCOLS.md §3). The upgrade's signature covers only the URL, so it is the same for every
stream and anyone who saw one can reuse it. As a second line of defence, the webhook hands out a
stream token in a ``<Parameter>``: random, bound to the CallSid and the (signed) AccountSid of
the webhook, valid for a minute and good for one stream.

Tokens are stateless here (an HMAC over CallSid, AccountSid, expiry and a 128-bit nonce) so that
any worker process sharing the auth token can check a token minted by another. `StreamTokens`
says whether a token is authentic, unexpired and bound to the call; that it is used once is for
the deployment's shared store to say (``telephony.transcripts.streams``), which records the
nonce each call was given and the stream that used it.
"""

import base64
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from twilio.request_validator import RequestValidator

from telephony.twilio.sids import ACCOUNT_SID, CALL_SID

__all__ = ["SignatureChecker", "StreamToken", "StreamTokens", "pseudonym"]

_NONCE_BYTES = 16  # 128 bits
_MAC_BYTES = 32  # HMAC-SHA256
_TOKEN_VERSION = "v1"
_EXPIRY_DIGITS = 12
"""Unix seconds fit in 11 digits until the year 5138; more is not a time but an attack."""


def _b64_chars(size: int) -> int:
    return (size * 8 + 5) // 6  # unpadded base64


_TOKEN = re.compile(
    rf"{_TOKEN_VERSION}\.([1-9][0-9]{{0,{_EXPIRY_DIGITS - 1}}})"
    rf"\.([A-Za-z0-9_-]{{{_b64_chars(_NONCE_BYTES)}}})"
    rf"\.([A-Za-z0-9_-]{{{_b64_chars(_MAC_BYTES)}}})"
)
"""A token as `StreamTokens.mint` writes it, and nothing else: ASCII only, fixed lengths."""


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


@dataclass(frozen=True, slots=True)
class StreamToken:
    """A freshly minted token: ``text`` goes in the TwiML, ``nonce`` to the shared store."""

    text: str
    nonce: str


class StreamTokens:
    """Mints stream tokens bound to a call and its account, and checks them (no state)."""

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

    def mint(self, call_sid: str, account_sid: str) -> StreamToken:
        """A fresh token for the stream of ``call_sid`` in ``account_sid`` (both real SIDs)."""
        if not (CALL_SID.matches(call_sid) and ACCOUNT_SID.matches(account_sid)):
            raise ValueError("a stream token is bound to a CallSid and an AccountSid")
        expires = int(self._clock() + self._ttl_s) + 1
        nonce = _b64(secrets.token_bytes(_NONCE_BYTES))
        mac = self._mac(call_sid, account_sid, expires, nonce)
        return StreamToken(f"{_TOKEN_VERSION}.{expires}.{nonce}.{mac}", nonce)

    def verify(self, token: object, call_sid: str, account_sid: str) -> str | None:
        """The token's nonce if it is authentic, unexpired and minted for this call and account;
        None for anything else, whatever ``token`` holds (it comes from the network)."""
        found = _TOKEN.fullmatch(token) if isinstance(token, str) else None
        if found is None or not (CALL_SID.matches(call_sid) and ACCOUNT_SID.matches(account_sid)):
            return None
        expires_text, nonce, mac = found.groups()
        expires = int(expires_text)
        expected = self._mac(call_sid, account_sid, expires, nonce)
        if not hmac.compare_digest(expected, mac):  # both ASCII
            return None
        if expires <= self._clock():
            return None
        return nonce

    def _mac(self, call_sid: str, account_sid: str, expires: int, nonce: str) -> str:
        message = f"{call_sid}.{account_sid}.{expires}.{nonce}".encode()
        return _b64(hmac.new(self._key, message, hashlib.sha256).digest())


def pseudonym(secret: bytes, value: str) -> str:
    """A stable, non-reversible stand-in for personal data such as a phone number."""
    digest = hmac.new(secret, b"pseudonym:" + value.encode(), hashlib.sha256).digest()
    return _b64(digest[:15])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
