"""Twilio Media Streams messages as typed values: inbound JSON in, outbound JSON out. No I/O.

Inbound messages become frozen dataclasses (``Connected``, ``Start``, ``Media``, ``Dtmf``,
``Mark``, ``Stop``, or ``Unknown`` for events this module does not know). Anything that is not
a well-formed message raises ``ProtocolError`` and nothing else, whatever the input; its message
names what was wrong, never what was sent (a bad message is counted and logged by that text).
Outbound messages carry exactly the fields Twilio accepts and nothing more (extra fields earn
Twilio warnings 31950/31951).

``message_too_large`` measures a received text frame the way its limit is stated: in bytes.
"""

import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telephony.errors import ProtocolError
from telephony.twilio.sids import ACCOUNT_SID, CALL_SID, STREAM_SID, SidKind

__all__ = [
    "Connected",
    "Dtmf",
    "InboundEvent",
    "Mark",
    "Media",
    "OutboundEncoder",
    "Start",
    "Stop",
    "Unknown",
    "message_too_large",
    "parse_inbound",
]

DTMF_KEYS = frozenset("0123456789*#ABCD")
"""The keys of a DTMF keypad: a ``dtmf`` message carries exactly one of them."""

_UTF8_MAX_BYTES_PER_CHAR = 4
_NUMBER = re.compile(r"[0-9]{1,15}")
"""A count or a time as Twilio writes it in a string (``"40"``): ASCII digits, a sane length."""

# What a malformed message can make the standard library raise while it is taken apart. JSON
# nested too deep raises RecursionError; ``Infinity`` is valid to ``json`` and overflows ``int``.
_MALFORMED = (KeyError, TypeError, ValueError, AttributeError, OverflowError, RecursionError)


@dataclass(frozen=True, slots=True)
class Connected:
    protocol: str
    version: str


@dataclass(frozen=True, slots=True)
class Start:
    stream_sid: str
    call_sid: str
    account_sid: str
    custom_parameters: dict[str, str] = field(default_factory=dict)
    tracks: tuple[str, ...] = ()
    encoding: str = "audio/x-mulaw"
    sample_rate: int = 8000
    channels: int = 1


@dataclass(frozen=True, slots=True)
class Media:
    stream_sid: str
    payload: bytes
    """Decoded mu-law bytes."""
    timestamp_ms: int
    """Milliseconds since the stream started, as Twilio stamps them."""


@dataclass(frozen=True, slots=True)
class Dtmf:
    stream_sid: str
    digit: str


@dataclass(frozen=True, slots=True)
class Mark:
    stream_sid: str
    name: str


@dataclass(frozen=True, slots=True)
class Stop:
    stream_sid: str
    call_sid: str
    account_sid: str


@dataclass(frozen=True, slots=True)
class Unknown:
    event: str


InboundEvent = Connected | Start | Media | Dtmf | Mark | Stop | Unknown


def message_too_large(text: str, max_bytes: int) -> bool:
    """True when ``text`` takes more than ``max_bytes`` bytes in UTF-8, the form it had on the
    wire. Cheap for the messages Twilio sends: an ASCII string is measured without encoding."""
    length = len(text)
    if length > max_bytes:
        return True  # at least one byte per character
    if text.isascii() or length * _UTF8_MAX_BYTES_PER_CHAR <= max_bytes:
        return False
    return len(text.encode("utf-8", "surrogatepass")) > max_bytes


def parse_inbound(text: str | bytes) -> InboundEvent:
    """Parse one inbound Media Streams message; raise ``ProtocolError`` if it is malformed."""
    try:
        message = json.loads(text)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise ProtocolError("message is not valid JSON") from exc
    if not isinstance(message, dict):
        raise ProtocolError("message is not a JSON object")
    event = message.get("event")
    if not isinstance(event, str):
        raise ProtocolError("message has no event name")
    try:
        if event == "media":  # first: 50 of these a second
            return _media(message)
        parse = _PARSERS.get(event)
        return Unknown(event) if parse is None else parse(message)
    except _MALFORMED as exc:
        raise ProtocolError(f"malformed {event} message") from exc


def _media(message: dict[str, Any]) -> Media:
    media = message["media"]
    try:
        payload = binascii.a2b_base64(media["payload"], strict_mode=True)
    except binascii.Error as exc:
        raise ProtocolError("media payload is not valid base64") from exc
    return Media(_str(message, "streamSid"), payload, _number(media.get("timestamp", 0)))


def _start(message: dict[str, Any]) -> Start:
    start = message["start"]
    parameters = start.get("customParameters") or {}
    if not isinstance(parameters, dict) or not all(
        isinstance(value, str) for value in parameters.values()
    ):
        raise ProtocolError("customParameters is not an object of strings")
    tracks = start.get("tracks", [])
    if not isinstance(tracks, list) or not all(isinstance(track, str) for track in tracks):
        raise ProtocolError("tracks is not a list of strings")
    media_format = start.get("mediaFormat") or {}
    return Start(
        stream_sid=_sid(start.get("streamSid", message.get("streamSid")), STREAM_SID),
        call_sid=_sid(start["callSid"], CALL_SID),
        account_sid=_sid(start["accountSid"], ACCOUNT_SID),
        custom_parameters=dict(parameters),
        tracks=tuple(tracks),
        encoding=_str(media_format, "encoding", "audio/x-mulaw"),
        sample_rate=_number(media_format.get("sampleRate", 8000)),
        channels=_number(media_format.get("channels", 1)),
    )


def _connected(message: dict[str, Any]) -> Connected:
    return Connected(_str(message, "protocol", ""), _str(message, "version", ""))


def _dtmf(message: dict[str, Any]) -> Dtmf:
    digit = message["dtmf"]["digit"]
    if not isinstance(digit, str) or digit not in DTMF_KEYS:
        raise ProtocolError("dtmf digit is not one keypad key")
    return Dtmf(_str(message, "streamSid"), digit)


def _mark(message: dict[str, Any]) -> Mark:
    return Mark(_str(message, "streamSid"), _str(message["mark"], "name"))


def _stop(message: dict[str, Any]) -> Stop:
    stop = message.get("stop") or {}
    return Stop(_str(message, "streamSid"), _str(stop, "callSid", ""), _str(stop, "accountSid", ""))


_PARSERS: dict[str, Callable[[dict[str, Any]], InboundEvent]] = {
    "connected": _connected,
    "start": _start,
    "dtmf": _dtmf,
    "mark": _mark,
    "stop": _stop,
}


_REQUIRED = object()


def _str(message: dict[str, Any], key: str, default: object = _REQUIRED) -> str:
    """``message[key]``, which must be a string; ``default`` when it is absent, if given."""
    value = message[key] if default is _REQUIRED else message.get(key, default)
    if not isinstance(value, str):
        raise ProtocolError(f"{key} is not a string")
    return value


def _number(value: object) -> int:
    """A whole number of at least 0, as a JSON number or as a string of digits."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        return int(value)
    raise ProtocolError("a number field is not a whole number")


def _sid(value: object, kind: SidKind) -> str:
    if not kind.matches(value):
        raise ProtocolError(f"malformed {kind.prefix} SID")
    return value


class OutboundEncoder:
    """Builds the outbound messages of one stream.

    The JSON around the payload is fixed for a stream, so it is built once; base64 output needs
    no JSON escaping. The stream SID is checked to be a SID so it cannot break the JSON either.
    """

    __slots__ = ("_clear", "_mark_prefix", "_media_prefix")

    def __init__(self, stream_sid: str) -> None:
        sid = _sid(stream_sid, STREAM_SID)
        self._media_prefix = f'{{"event":"media","streamSid":"{sid}","media":{{"payload":"'
        self._mark_prefix = f'{{"event":"mark","streamSid":"{sid}","mark":{{"name":'
        self._clear = json.dumps({"event": "clear", "streamSid": sid}, separators=(",", ":"))

    def media(self, ulaw: bytes) -> str:
        """A ``media`` message playing ``ulaw`` (8 kHz mu-law, no header)."""
        return self._media_prefix + binascii.b2a_base64(ulaw, newline=False).decode() + '"}}'

    def mark(self, name: str) -> str:
        """A ``mark`` message; Twilio echoes it once the audio sent before it has played."""
        return self._mark_prefix + json.dumps(name) + "}}"

    def clear(self) -> str:
        """A ``clear`` message: Twilio drops its buffered audio and returns pending marks."""
        return self._clear
