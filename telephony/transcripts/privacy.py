"""What the store keeps of personal data (`Privacy`): applied before anything is written.

- Turn text (and what the caller heard) is stored as said, or with personal data masked
  (``redaction``); so are the transcriptions in ADK's session events (``live.sessions``).
- The caller's number (``from`` of an inbound call, ``to`` of an outbound one; both when the
  direction is not known) is stored in full, as a keyed hash, or not at all. The hash is
  HMAC-SHA256 under the deployment's secret (the Twilio auth token), so it cannot be reversed
  by hashing every phone number, and one caller's calls still share one value.
"""

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from telephony.transcripts.redaction import Redaction, redact
from telephony.transcripts.values import CallDirection, TurnRecord

HASH_PREFIX = "hmac:"
_HASH_CHARS = 32


class NumberStorage(StrEnum):
    """How a caller's phone number is stored."""

    FULL = "full"
    HASHED = "hashed"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Privacy:
    """The privacy settings the store applies to what it writes."""

    redaction: Redaction = Redaction.OFF
    numbers: NumberStorage = NumberStorage.FULL
    key: bytes = b""
    """Keys the hash of numbers (``NumberStorage.HASHED``)."""

    @property
    def redact_text(self) -> Callable[[str], str] | None:
        """What to pass any other stored text through (ADK's session events); None when off."""
        return redact if self.redaction is Redaction.MASK else None

    def turn(self, record: TurnRecord) -> TurnRecord:
        """The turn as it may be stored."""
        if self.redaction is Redaction.OFF:
            return record
        heard = record.heard_text
        return record.model_copy(
            update={
                "text": redact(record.text),
                "heard_text": redact(heard) if heard is not None else None,
            }
        )

    def numbers_of(
        self, direction: CallDirection | None, from_number: str | None, to_number: str | None
    ) -> tuple[str | None, str | None]:
        """``(from, to)`` as they may be stored: the caller's number per ``numbers``."""
        if self.numbers is NumberStorage.FULL:
            return from_number, to_number
        if direction is CallDirection.INBOUND:
            return self.number(from_number), to_number
        if direction is not None:
            return from_number, self.number(to_number)
        return self.number(from_number), self.number(to_number)

    def number(self, number: str | None) -> str | None:
        """A caller's number as it may be stored."""
        if number is None or self.numbers is NumberStorage.FULL:
            return number
        if self.numbers is NumberStorage.NONE:
            return None
        digest = hmac.new(self.key, number.encode(), hashlib.sha256).hexdigest()
        return HASH_PREFIX + digest[:_HASH_CHARS]
