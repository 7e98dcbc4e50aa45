"""What the TwiML runner needs of the call it runs on: its identity, clock, line and journey.

A :class:`Document` is TwiML with the URL it came from: Twilio resolves relative URLs in it
(``action``, ``<Redirect>``, ``waitUrl``) against that URL.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin

from twins.twilio.callbacks import Courier
from twins.twilio.callees import Callees
from twins.twilio.clock import AsyncClock
from twins.twilio.control import LineControl
from twins.twilio.durations import AfterStream
from twins.twilio.journey import Entry, Requested, RequestPurpose
from twins.twilio.switchboard import Switchboard
from twins.twilio.twiml import Twiml, TwimlError, parse_twiml


@dataclass(frozen=True)
class Document:
    twiml: Twiml
    url: str | None = None

    def resolve(self, url: str) -> str:
        return urljoin(self.url, url) if self.url else url


@dataclass
class CallContext:
    """One call, as the TwiML runner sees it."""

    call_sid: str
    account_sid: str
    options: AfterStream
    callees: Callees
    clock: AsyncClock
    origin: float
    """The call clock's zero (the timeline's origin)."""
    control: LineControl
    courier: Courier
    switchboard: Switchboard
    call_params: Callable[[], dict[str, str]]
    """The standard parameters of a request about this call, ``CallStatus`` as it is now."""
    answer: Callable[[], None]
    """Mark the call answered (``<Dial answerOnBridge>`` bridging a call still ringing)."""
    journey: list[Entry] = field(default_factory=list)
    reconnect: Callable[[Document], Awaitable[tuple[Document | None, bool]]] | None = None
    """Open a new media stream for a ``<Connect><Stream>`` in ``document``; returns what runs
    after it, and whether fetching that failed (as ``phase.continuation``)."""

    def t(self) -> float:
        """Seconds since the call started."""
        return self.clock.now() - self.origin

    def record(self, entry: Entry) -> None:
        self.journey.append(entry)

    async def fetch(
        self,
        url: str,
        purpose: RequestPurpose,
        extra: dict[str, str] | None = None,
        *,
        method: str = "POST",
        record: bool = True,
    ) -> Document | None:
        """Request TwiML (signed, with the call's parameters and ``extra``); record the request.

        None when there is none to run: no answer, an error status, not TwiML, or a URL the
        application does not serve (Twilio would then say an application error occurred).
        ``record=False`` leaves the request out of the journey (hold music, fetched in a loop).
        """
        t = self.t()
        params = self.call_params() | (extra or {})
        exchange = await self.courier.send(url, params, method=method)
        took = self.t() - t
        if exchange is None:
            if not record:
                return None
            self.record(
                Requested(
                    t=t, url=url, purpose=purpose, status=None, error="not the application's URL"
                )
            )
            return None
        if record:
            self.record(
                Requested(
                    t=t,
                    duration_s=took,
                    url=url,
                    purpose=purpose,
                    status=exchange.status,
                    error=exchange.error,
                )
            )
        if not exchange.ok:
            return None
        try:
            return Document(parse_twiml(exchange.body), url)
        except TwimlError:
            return None
