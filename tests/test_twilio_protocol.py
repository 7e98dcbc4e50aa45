"""Media Streams messages: parsing what Twilio sends, building exactly what Twilio accepts."""

import base64
import json

import pytest

from telephony.errors import ProtocolError
from telephony.twilio.protocol import (
    Connected,
    Dtmf,
    Mark,
    Media,
    OutboundEncoder,
    Start,
    Stop,
    Unknown,
    parse_inbound,
)

STREAM = "MZ" + "1" * 32
CALL = "CA" + "2" * 32
ACCOUNT = "AC" + "3" * 32


def message(**fields: object) -> str:
    return json.dumps(fields)


def test_connected() -> None:
    event = parse_inbound(message(event="connected", protocol="Call", version="1.0.0"))
    assert event == Connected("Call", "1.0.0")


def test_start_carries_ids_parameters_and_format() -> None:
    event = parse_inbound(
        message(
            event="start",
            sequenceNumber="1",
            streamSid=STREAM,
            start={
                "accountSid": ACCOUNT,
                "streamSid": STREAM,
                "callSid": CALL,
                "tracks": ["inbound"],
                "customParameters": {"token": "t", "agent": "receptionist"},
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            },
        )
    )
    assert event == Start(
        stream_sid=STREAM,
        call_sid=CALL,
        account_sid=ACCOUNT,
        custom_parameters={"token": "t", "agent": "receptionist"},
        tracks=("inbound",),
    )


def test_media_payload_is_decoded_bytes() -> None:
    payload = bytes(range(160))
    event = parse_inbound(
        message(
            event="media",
            sequenceNumber="4",
            streamSid=STREAM,
            media={
                "track": "inbound",
                "chunk": "2",
                "timestamp": "40",
                "payload": base64.b64encode(payload).decode(),
            },
        )
    )
    assert event == Media(STREAM, payload, 40)


def test_dtmf_mark_stop_and_unknown_events() -> None:
    dtmf = message(event="dtmf", streamSid=STREAM, dtmf={"track": "inbound_track", "digit": "7"})
    assert parse_inbound(dtmf) == Dtmf(STREAM, "7")
    assert parse_inbound(message(event="mark", streamSid=STREAM, mark={"name": "a1.2"})) == Mark(
        STREAM, "a1.2"
    )
    stop = message(event="stop", streamSid=STREAM, stop={"accountSid": ACCOUNT, "callSid": CALL})
    assert parse_inbound(stop) == Stop(STREAM, CALL, ACCOUNT)
    assert parse_inbound(message(event="something-new", streamSid=STREAM)) == Unknown(
        "something-new"
    )


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[1, 2]",
        message(streamSid=STREAM),
        message(event="media", streamSid=STREAM, media={"payload": "***"}),
        message(event="media", streamSid=STREAM, media={}),
        message(event="media", streamSid=7, media={"payload": ""}),
        message(event="start", start={"callSid": "nope", "accountSid": ACCOUNT}),
        message(event="mark", streamSid=STREAM),
    ],
    ids=[
        "not-json",
        "not-object",
        "no-event",
        "bad-base64",
        "no-payload",
        "sid-not-string",
        "bad-call-sid",
        "mark-without-name",
    ],
)
def test_malformed_messages_raise_protocol_error(text: str) -> None:
    with pytest.raises(ProtocolError):
        parse_inbound(text)


def test_outbound_messages_have_exactly_twilios_fields() -> None:
    encoder = OutboundEncoder(STREAM)
    audio = b"\xff\x7f\x00" * 50
    assert json.loads(encoder.media(audio)) == {
        "event": "media",
        "streamSid": STREAM,
        "media": {"payload": base64.b64encode(audio).decode()},
    }
    assert json.loads(encoder.mark('odd "name"')) == {
        "event": "mark",
        "streamSid": STREAM,
        "mark": {"name": 'odd "name"'},
    }
    assert json.loads(encoder.clear()) == {"event": "clear", "streamSid": STREAM}


def test_encoder_refuses_a_stream_sid_that_could_break_json() -> None:
    with pytest.raises(ProtocolError):
        OutboundEncoder('MZ"}')
