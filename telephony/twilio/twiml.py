"""TwiML the server answers with (built with the twilio library, no I/O).

The twilio library escapes markup but writes any character it is given, and XML 1.0 cannot carry
most control characters, U+FFFE or U+FFFF: one of them in a ``<Parameter>`` value makes the whole
document malformed and Twilio fails the call. Every value is cleaned here, whoever built it.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from twilio.twiml.voice_response import Connect, VoiceResponse

from telephony.twilio.destinations import Onward

SAFETY_NET_MESSAGE = (
    "Sorry, we could not continue this call right now. Please call again a little later. Goodbye."
)

MAX_PARAMETER_CHARS = 499
"""Twilio's limit on a ``<Parameter>``: its name and value together, under 500 characters."""

MAX_SAY_CHARS = 4096
"""Twilio's limit on the text of one ``<Say>``."""

_NOT_TEXT = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
"""C0 and C1 controls (tab and newline included: no caller id holds one), lone surrogates and
the two non-characters XML 1.0 excludes."""


def clean_text(value: str, max_chars: int) -> str:
    """``value`` without the characters `_NOT_TEXT` names, cut to ``max_chars`` characters."""
    return _NOT_TEXT.sub("", value)[:max_chars]


def connect_stream(
    stream_url: str, parameters: Mapping[str, str], *, fallback: Onward | None = None
) -> str:
    """A bidirectional media stream to ``stream_url`` carrying ``parameters``, then a safety net
    (``fallback``: the route's; else an apology and a hang-up).

    Each parameter value is cleaned with `clean_text` and cut to fit Twilio's limit; the names
    are the server's own. Twilio runs what follows ``</Connect>`` only when the stream ends while
    the caller is still on the line (a model failure, say): never leave them in dead air.
    """
    response = VoiceResponse()
    connect = Connect()
    stream = connect.stream(url=stream_url)
    for name, value in parameters.items():
        if clean_text(name, MAX_PARAMETER_CHARS) != name:
            raise ValueError("a parameter name must be plain text")
        stream.parameter(name=name, value=clean_text(value, MAX_PARAMETER_CHARS - len(name)))
    response.append(connect)
    if fallback is not None:
        fallback.append_to(response)
    else:
        _append_safety_net(response)
    return str(response)


def safety_net() -> str:
    """The safety net alone: an apology and a hang-up, for a call that gets no stream."""
    response = VoiceResponse()
    _append_safety_net(response)
    return str(response)


@dataclass(frozen=True, slots=True)
class Overflow:
    """Where a call goes that this process cannot take: ``message`` is said, then the caller
    is dialled through to ``dial`` (another number, a SIP address), or put in the queue named
    ``enqueue``, or, with neither, hung up on."""

    message: str
    dial: str | None = None
    enqueue: str | None = None


def overflow(target: Overflow) -> str:
    """The TwiML of ``target``: no stream, no token; the caller is never left in silence."""
    response = VoiceResponse()
    if target.message:
        response.say(clean_text(target.message, MAX_SAY_CHARS))
    if target.dial:
        response.dial(clean_text(target.dial, MAX_SAY_CHARS))
    elif target.enqueue:
        response.enqueue(clean_text(target.enqueue, MAX_SAY_CHARS))
    else:
        response.hangup()
    return str(response)


def _append_safety_net(response: VoiceResponse) -> None:
    response.say(SAFETY_NET_MESSAGE)
    response.hangup()
