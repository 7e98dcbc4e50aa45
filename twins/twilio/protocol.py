"""Media Streams messages on Twilio's side of the socket.

Building what Twilio sends (``connected``, ``start``, ``media``, ``dtmf``, ``mark``, ``stop``) and
checking what the server sends strictly, the way Twilio holds it to the protocol: text frames of
JSON with exactly the documented fields, valid base64, and the stream's own ``streamSid``. A message
that breaks a rule is a :class:`Violation` and is otherwise ignored (Twilio logs warnings 31950 /
31951 for these and carries on).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

SAMPLE_RATE = 8000
FRAME_MS = 20
FRAME_BYTES = SAMPLE_RATE * FRAME_MS // 1000
"""One 20 ms frame of 8 kHz mu-law."""


# --- Twilio -> server ---------------------------------------------------------------------------


def connected_message() -> str:
    return _dump({"event": "connected", "protocol": "Call", "version": "1.0.0"})


def start_message(
    *,
    sequence_number: int,
    stream_sid: str,
    account_sid: str,
    call_sid: str,
    custom_parameters: dict[str, str],
) -> str:
    return _dump(
        {
            "event": "start",
            "sequenceNumber": str(sequence_number),
            "start": {
                "accountSid": account_sid,
                "streamSid": stream_sid,
                "callSid": call_sid,
                "tracks": ["inbound"],
                "customParameters": custom_parameters,
                "mediaFormat": {
                    "encoding": "audio/x-mulaw",
                    "sampleRate": SAMPLE_RATE,
                    "channels": 1,
                },
            },
            "streamSid": stream_sid,
        }
    )


def media_message(
    *, sequence_number: int, stream_sid: str, chunk: int, timestamp_ms: int, payload: bytes
) -> str:
    return encoded_media_message(
        sequence_number=sequence_number,
        stream_sid=stream_sid,
        chunk=chunk,
        timestamp_ms=timestamp_ms,
        payload=base64.b64encode(payload).decode("ascii"),
    )


def encoded_media_message(
    *, sequence_number: int, stream_sid: str, chunk: int, timestamp_ms: int, payload: str
) -> str:
    """``media_message`` with the payload already in base64: the text is filled in directly
    (50 of these a second per call), the same text ``json.dumps`` would write."""
    return (
        f'{{"event":"media","sequenceNumber":"{sequence_number}","media":{{"track":"inbound",'
        f'"chunk":"{chunk}","timestamp":"{timestamp_ms}","payload":"{payload}"}},'
        f'"streamSid":{_quoted(stream_sid)}}}'
    )


@functools.lru_cache(maxsize=1024)
def _quoted(text: str) -> str:
    return json.dumps(text)


def dtmf_message(*, sequence_number: int, stream_sid: str, digit: str) -> str:
    return _dump(
        {
            "event": "dtmf",
            "streamSid": stream_sid,
            "sequenceNumber": str(sequence_number),
            "dtmf": {"track": "inbound_track", "digit": digit},
        }
    )


def mark_message(*, sequence_number: int, stream_sid: str, name: str) -> str:
    return _dump(
        {
            "event": "mark",
            "streamSid": stream_sid,
            "sequenceNumber": str(sequence_number),
            "mark": {"name": name},
        }
    )


def stop_message(*, sequence_number: int, stream_sid: str, account_sid: str, call_sid: str) -> str:
    return _dump(
        {
            "event": "stop",
            "streamSid": stream_sid,
            "sequenceNumber": str(sequence_number),
            "stop": {"accountSid": account_sid, "callSid": call_sid},
        }
    )


def _dump(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


# --- server -> Twilio ---------------------------------------------------------------------------


class ViolationKind(StrEnum):
    """Why a message from the server was refused."""

    BINARY_FRAME = "binary_frame"
    BAD_JSON = "bad_json"
    UNKNOWN_EVENT = "unknown_event"
    MISSING_FIELD = "missing_field"
    EXTRA_FIELD = "extra_field"
    BAD_VALUE = "bad_value"
    BAD_PAYLOAD = "bad_payload"
    WRONG_STREAM_SID = "wrong_stream_sid"


@dataclass(frozen=True)
class Violation:
    kind: ViolationKind
    detail: str


@dataclass(frozen=True)
class OutboundMedia:
    payload: bytes


@dataclass(frozen=True)
class OutboundMark:
    name: str


@dataclass(frozen=True)
class OutboundClear:
    pass


ServerMessage = OutboundMedia | OutboundMark | OutboundClear

# The exact shape of each message: top-level fields, and the fields of its one nested object.
_SHAPES: dict[str, tuple[frozenset[str], str | None, frozenset[str]]] = {
    "media": (frozenset({"event", "streamSid", "media"}), "media", frozenset({"payload"})),
    "mark": (frozenset({"event", "streamSid", "mark"}), "mark", frozenset({"name"})),
    "clear": (frozenset({"event", "streamSid"}), None, frozenset()),
}


def parse_server_message(frame: str | bytes, stream_sid: str) -> ServerMessage | Violation:
    """Check one WebSocket frame from the server against the protocol and decode it."""
    if isinstance(frame, bytes):
        return Violation(ViolationKind.BINARY_FRAME, f"binary frame of {len(frame)} bytes")
    try:
        message = json.loads(frame)
    except ValueError as exc:
        return Violation(ViolationKind.BAD_JSON, f"not JSON: {exc}")
    if not isinstance(message, dict):
        return Violation(ViolationKind.BAD_JSON, f"JSON {type(message).__name__}, not an object")
    event = message.get("event")
    if not isinstance(event, str) or event not in _SHAPES:
        return Violation(ViolationKind.UNKNOWN_EVENT, f"event {event!r}")
    fields, nested_name, nested_fields = _SHAPES[event]
    problem = _shape_problem(message, fields, "")
    if problem is None and nested_name is not None:
        nested = message[nested_name]
        if not isinstance(nested, dict):
            return Violation(ViolationKind.BAD_VALUE, f"{nested_name} is not an object")
        problem = _shape_problem(nested, nested_fields, nested_name + ".")
    if problem is not None:
        return problem
    if message["streamSid"] != stream_sid:
        return Violation(ViolationKind.WRONG_STREAM_SID, "streamSid is not this stream's")
    if event == "clear":
        return OutboundClear()
    if event == "mark":
        name = message["mark"]["name"]
        if not isinstance(name, str):
            return Violation(ViolationKind.BAD_VALUE, "mark.name is not a string")
        return OutboundMark(name)
    payload = message["media"]["payload"]
    if not isinstance(payload, str):
        return Violation(ViolationKind.BAD_VALUE, "media.payload is not a string")
    try:
        return OutboundMedia(base64.b64decode(payload, validate=True))
    except (binascii.Error, ValueError) as exc:
        return Violation(ViolationKind.BAD_PAYLOAD, f"media.payload is not base64: {exc}")


def _shape_problem(obj: dict[str, Any], expected: frozenset[str], prefix: str) -> Violation | None:
    if obj.keys() == expected:  # the usual case, checked cheaply
        return None
    missing = expected - obj.keys()
    if missing:
        names = ", ".join(prefix + name for name in sorted(missing))
        return Violation(ViolationKind.MISSING_FIELD, f"missing {names}")
    extra = obj.keys() - expected
    if extra:
        names = ", ".join(prefix + name for name in sorted(extra))
        return Violation(ViolationKind.EXTRA_FIELD, f"unexpected {names}")
    return None
