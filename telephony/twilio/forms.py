"""Twilio's webhook forms as typed values: the fields of a voice webhook or a status callback the
server uses. No I/O.

Every field comes from the network, signed or not, so each is checked or cleaned here once: the
SIDs must be exactly SIDs (they go into logs, tokens and the store), the caller ids and other
text lose the characters XML and log lines cannot carry (see ``twiml.clean_text``) and are cut to
a sane length. A form without a well-formed CallSid and AccountSid raises ``ProtocolError``, whose
message names the field, never its value; nothing else is raised, whatever the form holds.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from telephony.errors import ProtocolError
from telephony.twilio.sids import ACCOUNT_SID, CALL_SID, SidKind
from telephony.twilio.twiml import clean_text

__all__ = ["MAX_PARTY_CHARS", "MAX_WORD_CHARS", "CallForm", "parse_call_form"]

MAX_PARTY_CHARS = 256
"""A caller or called id: E.164 numbers have at most 16 characters, ``client:`` identities 128;
SIP URIs can be longer, but not usefully so."""
MAX_WORD_CHARS = 32
"""A value from a small vocabulary (``Direction``, ``CallStatus``)."""


@dataclass(frozen=True, slots=True)
class CallForm:
    """What a webhook says about its call. Text fields are ``""`` when the form lacks them."""

    call_sid: str
    account_sid: str
    from_number: str
    to_number: str
    direction: str
    call_status: str


def parse_call_form(form: Mapping[str, object]) -> CallForm:
    """The call a webhook is about; ``ProtocolError`` if its CallSid or AccountSid is malformed."""
    return CallForm(
        call_sid=_sid(form, "CallSid", CALL_SID),
        account_sid=_sid(form, "AccountSid", ACCOUNT_SID),
        from_number=_text(form, "From", MAX_PARTY_CHARS),
        to_number=_text(form, "To", MAX_PARTY_CHARS),
        direction=_text(form, "Direction", MAX_WORD_CHARS),
        call_status=_text(form, "CallStatus", MAX_WORD_CHARS),
    )


def _sid(form: Mapping[str, object], name: str, kind: SidKind) -> str:
    value = form.get(name)
    if not kind.matches(value):
        raise ProtocolError(f"missing or malformed {name}")
    return value


def _text(form: Mapping[str, object], name: str, max_chars: int) -> str:
    value = form.get(name)
    return clean_text(value, max_chars) if isinstance(value, str) else ""
