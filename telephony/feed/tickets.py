"""Short-lived signed tickets for event streams opened by a browser.

A browser's ``EventSource`` cannot send an ``Authorization`` header, and the API token must not
appear in a URL (URLs end up in logs and browser history). So a client holding the token asks
for a ticket (``POST /calls/events/ticket``) and opens the stream with ``?ticket=...``. A ticket
grants reading event streams only, for ``TICKET_TTL_S``; it is an HMAC over its expiry, keyed
by a key derived from the API token, so every process of a deployment accepts the others'
tickets and a new API token voids them all.
"""

import base64
import hashlib
import hmac
import time
from collections.abc import Callable

TICKET_TTL_S = 60.0
_SCOPE = b"call-events"


class EventTickets:
    """Issues and checks tickets for the holder of one API token."""

    def __init__(
        self,
        api_token: str,
        *,
        ttl_s: float = TICKET_TTL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = hmac.new(api_token.encode(), _SCOPE, hashlib.sha256).digest()
        self.ttl_s = ttl_s
        self._clock = clock

    def issue(self) -> tuple[str, int]:
        """A new ticket and when it expires (Unix seconds)."""
        expires = int(self._clock() + self.ttl_s)
        return f"{expires}.{self._sign(expires)}", expires

    def valid(self, ticket: str | None) -> bool:
        """Whether ``ticket`` was issued with this token and has not expired."""
        if not ticket or len(ticket) > 128:
            return False
        expires_text, _, signature = ticket.partition(".")
        if not expires_text.isascii() or not expires_text.isdigit():
            return False
        expires = int(expires_text)
        if not hmac.compare_digest(signature.encode(), self._sign(expires).encode()):
            return False
        return self._clock() <= expires

    def _sign(self, expires: int) -> str:
        mac = hmac.new(self._key, b"%d" % expires, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")
