"""Twilio's side of a call, driven by hand: signed webhooks and raw Media Streams messages.

The simulator (``twins.twilio``) plays well-behaved calls; these helpers send what a test needs
to send, including what Twilio never would, over real sockets to a `RunningServer`.
"""

import asyncio
import base64
import json
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from telephony.audio import ULAW_SILENCE
from tests.callserver import ACCOUNT_SID, RunningServer
from twins.twilio import StreamSpec, parse_twiml

CALL_SID = "CA" + "1" * 32
STREAM_SID = "MZ" + "2" * 32
FOREIGN_ACCOUNT = "AC" + "9" * 32
CALLER = "+12025550101"
CALLED = "+12025550123"


def voice_form(call_sid: str = CALL_SID, **fields: str) -> dict[str, str]:
    """The voice webhook's form for ``call_sid``; ``fields`` replace or add fields."""
    return {
        "CallSid": call_sid,
        "AccountSid": ACCOUNT_SID,
        "From": CALLER,
        "To": CALLED,
        "CallStatus": "ringing",
        "Direction": "inbound",
        **fields,
    }


async def post_voice(server: RunningServer, form: dict[str, str] | None = None) -> httpx.Response:
    """POST the voice webhook, signed as Twilio signs it."""
    form = voice_form() if form is None else form
    url = server.base_url + "/twilio/voice"
    async with httpx.AsyncClient() as client:
        return await client.post(
            url, data=form, headers={"X-Twilio-Signature": server.sign(url, form)}
        )


async def answer(server: RunningServer, form: dict[str, str] | None = None) -> StreamSpec:
    """POST the signed voice webhook; return the stream the TwiML asks Twilio to open."""
    response = await post_voice(server, form)
    assert response.status_code == 200
    stream = parse_twiml(response.text).stream
    assert stream is not None
    return stream


def open_stream(server: RunningServer, signature: str | None = None) -> Any:
    url = server.stream_url
    headers = {"x-twilio-signature": server.sign(url) if signature is None else signature}
    return connect(url, additional_headers=headers, open_timeout=5)


def start(
    parameters: dict[str, str],
    *,
    call_sid: str = CALL_SID,
    account_sid: str = ACCOUNT_SID,
    stream_sid: str = STREAM_SID,
) -> str:
    return json.dumps(
        {
            "event": "start",
            "sequenceNumber": "1",
            "streamSid": stream_sid,
            "start": {
                "accountSid": account_sid,
                "streamSid": stream_sid,
                "callSid": call_sid,
                "tracks": ["inbound"],
                "customParameters": parameters,
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            },
        },
        ensure_ascii=False,  # as Twilio sends it: UTF-8 on the wire
    )


def media(payload: bytes = bytes([ULAW_SILENCE]) * 160, stream_sid: str = STREAM_SID) -> str:
    return json.dumps(
        {
            "event": "media",
            "sequenceNumber": "3",
            "streamSid": stream_sid,
            "media": {
                "track": "inbound",
                "chunk": "1",
                "timestamp": "0",
                "payload": base64.b64encode(payload).decode(),
            },
        }
    )


def dtmf(digit: str, stream_sid: str = STREAM_SID) -> str:
    return json.dumps(
        {
            "event": "dtmf",
            "sequenceNumber": "5",
            "streamSid": stream_sid,
            "dtmf": {"track": "inbound_track", "digit": digit},
        }
    )


CONNECTED = json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"})
STOP = json.dumps(
    {
        "event": "stop",
        "sequenceNumber": "9",
        "streamSid": STREAM_SID,
        "stop": {"accountSid": ACCOUNT_SID, "callSid": CALL_SID},
    }
)


async def closed_by_server(ws: ClientConnection) -> int:
    """Read until the server closes; return its close code."""

    async def read_until_closed() -> None:
        async with asyncio.timeout(10):
            while True:
                await ws.recv()

    with pytest.raises(ConnectionClosed):
        await read_until_closed()
    assert ws.close_code is not None
    return ws.close_code
