"""The simulator's side of the Media Streams protocol: what it sends, and how strictly it reads."""

import base64
import json

import pytest

from twins.twilio import protocol
from twins.twilio.protocol import (
    OutboundClear,
    OutboundMark,
    OutboundMedia,
    Violation,
    ViolationKind,
    parse_server_message,
)

SID = "MZ" + "0" * 32


def dumps(message: object) -> str:
    return json.dumps(message)


def test_valid_messages_are_decoded() -> None:
    payload = bytes(range(160))
    media = {
        "event": "media",
        "streamSid": SID,
        "media": {"payload": base64.b64encode(payload).decode()},
    }
    assert parse_server_message(dumps(media), SID) == OutboundMedia(payload)
    mark = {"event": "mark", "streamSid": SID, "mark": {"name": "turn-1:3"}}
    assert parse_server_message(dumps(mark), SID) == OutboundMark("turn-1:3")
    assert parse_server_message(dumps({"event": "clear", "streamSid": SID}), SID) == OutboundClear()


@pytest.mark.parametrize(
    ("frame", "kind"),
    [
        (b'{"event":"clear"}', ViolationKind.BINARY_FRAME),
        ("{not json", ViolationKind.BAD_JSON),
        ('["event", "clear"]', ViolationKind.BAD_JSON),
        (dumps({"event": "stop", "streamSid": SID}), ViolationKind.UNKNOWN_EVENT),
        (dumps({"streamSid": SID}), ViolationKind.UNKNOWN_EVENT),
        (dumps({"event": "media", "streamSid": SID}), ViolationKind.MISSING_FIELD),
        (dumps({"event": "media", "media": {"payload": ""}}), ViolationKind.MISSING_FIELD),
        (dumps({"event": "mark", "streamSid": SID, "mark": {}}), ViolationKind.MISSING_FIELD),
        (
            dumps({"event": "clear", "streamSid": SID, "sequenceNumber": "3"}),
            ViolationKind.EXTRA_FIELD,
        ),
        (
            dumps(
                {
                    "event": "media",
                    "streamSid": SID,
                    "media": {"payload": "//8=", "track": "outbound"},
                }
            ),
            ViolationKind.EXTRA_FIELD,
        ),
        (dumps({"event": "mark", "streamSid": SID, "mark": {"name": 7}}), ViolationKind.BAD_VALUE),
        (dumps({"event": "media", "streamSid": SID, "media": "//8="}), ViolationKind.BAD_VALUE),
        (
            dumps({"event": "media", "streamSid": SID, "media": {"payload": "not base64!"}}),
            ViolationKind.BAD_PAYLOAD,
        ),
        (
            dumps({"event": "media", "streamSid": SID, "media": {"payload": "_-8="}}),
            ViolationKind.BAD_PAYLOAD,
        ),
        (dumps({"event": "clear", "streamSid": "MZ" + "1" * 32}), ViolationKind.WRONG_STREAM_SID),
    ],
)
def test_each_violation_is_categorised(frame: str | bytes, kind: ViolationKind) -> None:
    result = parse_server_message(frame, SID)
    assert isinstance(result, Violation)
    assert result.kind is kind


def test_start_message_carries_the_call_and_the_parameters() -> None:
    message = json.loads(
        protocol.start_message(
            sequence_number=1,
            stream_sid=SID,
            account_sid="AC" + "1" * 32,
            call_sid="CA" + "2" * 32,
            custom_parameters={"token": "abc"},
        )
    )
    assert message["event"] == "start"
    assert message["sequenceNumber"] == "1"
    assert message["streamSid"] == SID
    start = message["start"]
    assert start["callSid"] == "CA" + "2" * 32
    assert start["accountSid"] == "AC" + "1" * 32
    assert start["tracks"] == ["inbound"]
    assert start["customParameters"] == {"token": "abc"}
    assert start["mediaFormat"] == {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}


def test_media_message_uses_strings_for_numbers() -> None:
    message = json.loads(
        protocol.media_message(
            sequence_number=4, stream_sid=SID, chunk=3, timestamp_ms=40, payload=b"\xff" * 160
        )
    )
    assert message["sequenceNumber"] == "4"
    assert message["media"]["chunk"] == "3"
    assert message["media"]["timestamp"] == "40"
    assert message["media"]["track"] == "inbound"
    assert base64.b64decode(message["media"]["payload"]) == b"\xff" * 160


@pytest.mark.parametrize("stream_sid", [SID, 'MZ"quoted\\slash\u00e9'])
def test_media_message_text_is_what_json_writes(stream_sid: str) -> None:
    payload = bytes(range(160))
    expected = json.dumps(
        {
            "event": "media",
            "sequenceNumber": "12",
            "media": {
                "track": "inbound",
                "chunk": "11",
                "timestamp": "200",
                "payload": base64.b64encode(payload).decode("ascii"),
            },
            "streamSid": stream_sid,
        },
        separators=(",", ":"),
    )

    text = protocol.media_message(
        sequence_number=12, stream_sid=stream_sid, chunk=11, timestamp_ms=200, payload=payload
    )

    assert text == expected


def test_dtmf_mark_and_stop_messages() -> None:
    dtmf = json.loads(protocol.dtmf_message(sequence_number=5, stream_sid=SID, digit="#"))
    assert dtmf["dtmf"] == {"track": "inbound_track", "digit": "#"}
    mark = json.loads(protocol.mark_message(sequence_number=6, stream_sid=SID, name="x"))
    assert mark == {"event": "mark", "streamSid": SID, "sequenceNumber": "6", "mark": {"name": "x"}}
    stop = json.loads(
        protocol.stop_message(sequence_number=7, stream_sid=SID, account_sid="AC1", call_sid="CA1")
    )
    assert stop["stop"] == {"accountSid": "AC1", "callSid": "CA1"}
    assert stop["sequenceNumber"] == "7"
