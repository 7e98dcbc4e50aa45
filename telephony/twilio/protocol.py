"""Twilio Media Streams messages as typed values: inbound JSON in, outbound JSON out. No I/O.

Inbound messages become frozen dataclasses (``Connected``, ``Start``, ``Media``, ``Dtmf``,
``Mark``, ``Stop``, or ``Unknown`` for events this module does not know). Anything that is not
a well-formed message raises ``ProtocolError``. Outbound messages carry exactly the fields Twilio
accepts and nothing more (extra fields earn Twilio warnings 31950/31951).
"""

import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telephony.errors import ProtocolError

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
    "parse_inbound",
]

_SID = re.compile(r"^[A-Za-z]{2}[0-9a-fA-F]{32}$")


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


def parse_inbound(text: str | bytes) -> InboundEvent:
    """Parse one inbound Media Streams message; raise ``ProtocolError`` if it is malformed."""
    try:
        message = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
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
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ProtocolError(f"malformed {event!r} message") from exc


def _media(message: dict[str, Any]) -> Media:
    media = message["media"]
    try:
        payload = binascii.a2b_base64(media["payload"], strict_mode=True)
    except binascii.Error as exc:
        raise ProtocolError("media payload is not valid base64") from exc
    return Media(_str(message, "streamSid"), payload, int(media.get("timestamp", 0)))


def _start(message: dict[str, Any]) -> Start:
    start = message["start"]
    parameters = start.get("customParameters") or {}
    if not isinstance(parameters, dict):
        raise ProtocolError("customParameters is not an object")
    media_format = start.get("mediaFormat") or {}
    return Start(
        stream_sid=_sid(start.get("streamSid", message.get("streamSid"))),
        call_sid=_sid(start["callSid"]),
        account_sid=_sid(start["accountSid"]),
        custom_parameters={str(k): str(v) for k, v in parameters.items()},
        tracks=tuple(str(t) for t in start.get("tracks", ())),
        encoding=str(media_format.get("encoding", "audio/x-mulaw")),
        sample_rate=int(media_format.get("sampleRate", 8000)),
        channels=int(media_format.get("channels", 1)),
    )


def _connected(message: dict[str, Any]) -> Connected:
    return Connected(str(message.get("protocol", "")), str(message.get("version", "")))


def _dtmf(message: dict[str, Any]) -> Dtmf:
    return Dtmf(_str(message, "streamSid"), str(message["dtmf"]["digit"]))


def _mark(message: dict[str, Any]) -> Mark:
    return Mark(_str(message, "streamSid"), str(message["mark"]["name"]))


def _stop(message: dict[str, Any]) -> Stop:
    stop = message.get("stop") or {}
    return Stop(
        _str(message, "streamSid"),
        str(stop.get("callSid", "")),
        str(stop.get("accountSid", "")),
    )


_PARSERS: dict[str, Callable[[dict[str, Any]], InboundEvent]] = {
    "connected": _connected,
    "start": _start,
    "dtmf": _dtmf,
    "mark": _mark,
    "stop": _stop,
}


def _str(message: dict[str, Any], key: str) -> str:
    value = message[key]
    if not isinstance(value, str):
        raise ProtocolError(f"{key} is not a string")
    return value


def _sid(value: object) -> str:
    if not isinstance(value, str) or not _SID.match(value):
        raise ProtocolError("malformed SID")
    return value


class OutboundEncoder:
    """Builds the outbound messages of one stream.

    The JSON around the payload is fixed for a stream, so it is built once; base64 output needs
    no JSON escaping. The stream SID is checked to be a SID so it cannot break the JSON either.
    """

    __slots__ = ("_clear", "_mark_prefix", "_media_prefix")

    def __init__(self, stream_sid: str) -> None:
        sid = _sid(stream_sid)
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
