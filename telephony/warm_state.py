"""What a warm transfer is: its outcomes, its URLs, and what the process that started it holds
(``warm_transfer.py`` does the work; ``transcripts/warm.py`` keeps what every instance shares).
"""

import asyncio
import enum
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from telephony.routing import Route
from telephony.transcripts.warm import SharedTransfer
from telephony.twilio.destinations import Destination
from telephony.twilio.warm_twiml import room_name

WARM_PATH = "/twilio/warm"
"""Where Twilio's requests about a warm transfer arrive, per caller CallSid."""


class Outcome(enum.StrEnum):
    JOINED = "joined"
    BUSY = "busy"
    """Busy or declined: Twilio reports a decline on the handset as busy."""
    NO_ANSWER = "no-answer"
    FAILED = "failed"
    CANCELED = "canceled"
    HUNG_UP_DURING_BRIEFING = "hung-up-during-briefing"
    CALLER_LEFT = "caller-left"

    @property
    def returns_caller(self) -> bool:
        """Whether the caller goes back to the agent."""
        return self not in (Outcome.JOINED, Outcome.CALLER_LEFT)


PERSON_ENDED = {
    "busy": Outcome.BUSY,
    "no-answer": Outcome.NO_ANSWER,
    "failed": Outcome.FAILED,
    "canceled": Outcome.CANCELED,
    "completed": Outcome.HUNG_UP_DURING_BRIEFING,
}
"""The final ``CallStatus`` of a person's call that ended before they joined."""


def warm_url(origin: str, call_sid: str, step: str, **query: str) -> str:
    url = f"{origin}{WARM_PATH}/{call_sid}/{step}"
    return url + ("?" + urlencode(query, quote_via=quote) if query else "")


@dataclass
class WarmTransfer:
    """One caller's warm transfer to ``target``."""

    call_sid: str
    target: str
    reason: str
    destination: Destination
    origin: str
    """The server's public origin (Twilio's requests come back here)."""
    caller_id: str
    """The number the person sees."""
    route: Route
    caller_number: str | None = None
    """The caller's number, only if the route lets the agent (and so the briefing) know it."""
    person_sid: str | None = None
    outcome: Outcome | None = None
    briefing: str | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    settled: asyncio.Event = field(default_factory=asyncio.Event)
    transfer_id: str = field(default_factory=lambda: secrets.token_hex(8))
    """Names this transfer in Twilio's requests and in the shared database."""

    @property
    def room(self) -> str:
        return room_name(self.call_sid)

    @property
    def caller_gone(self) -> bool:
        return self.outcome is Outcome.CALLER_LEFT

    @property
    def shared(self) -> SharedTransfer:
        """What every instance may know of this transfer."""
        outcome = None if self.outcome is None else str(self.outcome)
        return SharedTransfer(
            self.transfer_id, self.call_sid, self.target, self.origin, self.person_sid, outcome
        )

    def url(self, step: str, **query: str) -> str:
        return warm_url(
            self.origin,
            self.call_sid,
            step,
            target=self.target,
            transfer=self.transfer_id,
            **query,
        )


Known = WarmTransfer | SharedTransfer
"""A transfer as a request finds it: this process's own, or the shared facts of another's."""
