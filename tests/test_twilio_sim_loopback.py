"""The simulator against a real server on loopback: webhook, signed stream, pacing, playback.

The server here is a few lines of Starlette that behave like a voice agent: it checks Twilio's
signatures, answers TwiML, greets, answers when the caller stops talking, clears its audio when
the caller talks over it, and breaks the protocol twice on purpose.
"""

import asyncio
import base64
import json
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Connect, VoiceResponse

from telephony.audio import pcm16_to_ulaw, ulaw_to_pcm16
from twins.speech import speech_like
from twins.twilio import (
    CallConfig,
    CallResult,
    Dtmf,
    EndReason,
    EventKind,
    Hangup,
    Interrupt,
    SimulatedCall,
    Speak,
    WaitForGreeting,
    WaitForReply,
)
from twins.twilio.asgi import serve_asgi

TOKEN = "f" * 32
PUBLIC = "https://voice.example.test"
STREAM_URL = "wss://voice.example.test/twilio/media"
GREETING = pcm16_to_ulaw(speech_like(1.0, 8000, seed=11).astype("<i2").tobytes())
REPLY = pcm16_to_ulaw(speech_like(1.5, 8000, seed=12).astype("<i2").tobytes())
TIMEOUT = 30


@dataclass
class AgentServer:
    """A tiny voice agent speaking Twilio's protocol; it records what it saw."""

    hang_up_after_greeting: bool = False
    stream_signed_url: str = STREAM_URL
    webhook_forms: list[dict[str, str]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    echoed_marks: list[str] = field(default_factory=list)
    clears_sent: int = 0
    media_times: list[float] = field(default_factory=list)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/twilio/voice", self.voice, methods=["POST"]),
                WebSocketRoute("/twilio/media", self.media),
            ]
        )

    async def voice(self, request: Request) -> Response:
        form = {key: str(value) for key, value in (await request.form()).items()}
        signature = request.headers.get("x-twilio-signature", "")
        if not RequestValidator(TOKEN).validate(PUBLIC + "/twilio/voice", form, signature):
            return Response(status_code=403)
        self.webhook_forms.append(form)
        response = VoiceResponse()
        connect = Connect()
        stream = connect.stream(url=STREAM_URL)
        stream.parameter(name="token", value="one-time-token")
        stream.parameter(name="caller", value=form["From"])
        response.append(connect)
        response.say("Sorry, we lost you.")
        response.hangup()
        return Response(str(response), media_type="text/xml")

    async def media(self, ws: WebSocket) -> None:
        signature = ws.headers.get("x-twilio-signature", "")
        if not RequestValidator(TOKEN).validate(self.stream_signed_url, {}, signature):
            await ws.close(code=1008)
            return
        await ws.accept()
        connected = json.loads(await ws.receive_text())
        start = json.loads(await ws.receive_text())
        self.messages += [connected, start]
        sid = start["streamSid"]
        await self.say(ws, sid, GREETING, "greeting")
        if self.hang_up_after_greeting:
            await asyncio.sleep(0.3)
            await ws.close()
            return
        # Two protocol errors the simulator must count and ignore.
        await ws.send_text(json.dumps({"event": "clear", "streamSid": sid, "extra": 1}))
        await ws.send_bytes(b"\x00\x01")
        pending: set[str] = {"greeting"}
        speaking, quiet, replies = False, 0, 0
        while True:
            message = json.loads(await ws.receive_text())
            self.messages.append(message)
            event = message["event"]
            if event == "mark":
                self.echoed_marks.append(message["mark"]["name"])
                pending.discard(message["mark"]["name"])
            elif event == "stop":
                return
            elif event == "media":
                self.media_times.append(asyncio.get_running_loop().time())
                pcm = np.frombuffer(
                    ulaw_to_pcm16(base64.b64decode(message["media"]["payload"])), "<i2"
                )
                loud = float(np.sqrt(np.mean(pcm.astype(float) ** 2))) > 300
                if loud and not speaking:
                    speaking = True
                    if pending:  # the caller talks over queued agent audio
                        await ws.send_text(json.dumps({"event": "clear", "streamSid": sid}))
                        self.clears_sent += 1
                quiet = 0 if loud else quiet + 1
                if speaking and quiet >= 10:
                    speaking = False
                    replies += 1
                    pending.add(f"reply-{replies}")
                    await self.say(ws, sid, REPLY, f"reply-{replies}")

    @staticmethod
    async def say(ws: WebSocket, sid: str, audio: bytes, mark: str) -> None:
        for offset in range(0, len(audio), 800):  # 100 ms per message
            payload = base64.b64encode(audio[offset : offset + 800]).decode()
            await ws.send_text(
                json.dumps({"event": "media", "streamSid": sid, "media": {"payload": payload}})
            )
        await ws.send_text(json.dumps({"event": "mark", "streamSid": sid, "mark": {"name": mark}}))


async def run_call(server: AgentServer, tmp_path: Path, **overrides: Any) -> CallResult:
    async with serve_asgi(server.app()) as url:
        options: dict[str, Any] = {
            "server_url": url,
            "public_url": PUBLIC,
            "auth_token": TOKEN,
            "heard_wav": tmp_path / "heard.wav",
            "said_wav": tmp_path / "said.wav",
            "script": [
                WaitForGreeting(timeout=10),
                Speak(0.6),
                WaitForReply(timeout=10),
                Speak(0.4),
                Interrupt(after_ms=300, speak_s=0.5, timeout=10),
                Dtmf("5"),
                WaitForReply(timeout=10),
                Hangup(),
            ],
        } | overrides
        return await asyncio.wait_for(SimulatedCall(CallConfig(**options)).run(), TIMEOUT)


async def test_a_whole_call_over_real_sockets(tmp_path: Path) -> None:
    server = AgentServer()
    result = await run_call(server, tmp_path)

    assert result.end_reason is EndReason.CALLER_HANGUP
    assert [step.outcome for step in result.steps] == ["done"] * 8

    # The webhook: Twilio's fields, signed over the public URL (the server checked).
    form = server.webhook_forms[0]
    assert form["CallSid"] == result.call_sid
    assert form["CallSid"].startswith("CA")
    assert len(form["CallSid"]) == 34
    assert form["AccountSid"].startswith("AC")
    assert len(form["AccountSid"]) == 34
    assert (form["CallStatus"], form["Direction"], form["ApiVersion"]) == (
        "ringing",
        "inbound",
        "2010-04-01",
    )
    assert form["Caller"] == form["From"]
    assert form["Called"] == form["To"]
    assert result.stream_url == STREAM_URL
    assert result.stream_connect_url is not None
    assert result.stream_connect_url.startswith("ws://127.0.0.1:")

    # connected, start with the <Parameter>s, then numbered media, dtmf and stop.
    connected, start = server.messages[:2]
    assert connected == {"event": "connected", "protocol": "Call", "version": "1.0.0"}
    assert start["start"]["customParameters"] == {
        "token": "one-time-token",
        "caller": form["From"],
    }
    assert start["start"]["callSid"] == result.call_sid
    assert start["streamSid"] == result.stream_sid
    sequence = [int(m["sequenceNumber"]) for m in server.messages[1:]]
    assert sequence == list(range(1, len(sequence) + 1))
    media = [m for m in server.messages if m["event"] == "media"]
    assert [int(m["media"]["chunk"]) for m in media] == list(range(1, len(media) + 1))
    assert [int(m["media"]["timestamp"]) for m in media] == [20 * i for i in range(len(media))]
    assert all(len(base64.b64decode(m["media"]["payload"])) == 160 for m in media)
    assert [m["dtmf"]["digit"] for m in server.messages if m["event"] == "dtmf"] == ["5"]
    assert server.messages[-1]["event"] == "stop"
    assert server.messages[-1]["stop"]["callSid"] == result.call_sid

    # Paced on an absolute schedule: no frame leaves before its 20 ms slot.
    timeline = result.timeline
    t0 = timeline.of(EventKind.START_SENT)[0].t
    frames = timeline.of(EventKind.FRAME_SENT)
    assert all(f.t >= t0 + i * 0.02 for i, f in enumerate(frames))
    received_span = server.media_times[-1] - server.media_times[0]
    assert received_span >= (len(server.media_times) - 1) * 0.02 - 0.05

    # Playback: the greeting and the first reply played, the marks came back, the clear worked.
    assert GREETING in result.heard_ulaw
    assert REPLY in result.heard_ulaw
    assert server.echoed_marks == ["greeting", "reply-1", "reply-2", "reply-3"]
    assert server.clears_sent == 1  # reply-2 came back because of it

    metrics = result.metrics
    assert metrics.frames_sent == len(media)
    assert metrics.speech_frames_sent == 30 + 20 + 25
    assert metrics.dtmf_sent == 1
    assert metrics.first_audio_ms is not None
    assert len(metrics.turns) == 3
    assert all(latency > 0 for latency in metrics.reply_latencies_ms)
    assert len(metrics.reply_latencies_ms) == 3
    assert len(metrics.barge_ins) == 1
    barge = metrics.barge_ins[0]
    assert barge.latency_ms is not None
    assert barge.latency_ms >= 0
    assert barge.discarded_ms is not None
    assert barge.discarded_ms > 0
    assert metrics.audio_discarded_ms == barge.discarded_ms
    assert metrics.clears_received == 1
    assert metrics.marks_echoed_after_clear == 1
    assert metrics.violations_by_kind == {"extra_field": 1, "binary_frame": 1}
    assert [v.kind for v in result.violations] == ["extra_field", "binary_frame"]

    # What the caller heard, as a WAV file: 8 kHz mono 16-bit, as long as the stream.
    assert result.heard_wav is not None
    with wave.open(str(result.heard_wav), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
        assert wav.getnframes() == len(result.heard_ulaw)
        heard = wav.readframes(wav.getnframes())
    assert heard == result.heard_pcm16
    assert result.said_wav is not None
    assert result.said_wav.exists()
    assert len(result.said_ulaw) == 160 * metrics.frames_sent


async def test_server_hang_up_leads_to_the_safety_net(tmp_path: Path) -> None:
    server = AgentServer(hang_up_after_greeting=True)
    result = await run_call(server, tmp_path, script=[WaitForGreeting(timeout=10), Speak(5.0)])
    assert result.end_reason is EndReason.SERVER_CLOSED
    assert [verb.name for verb in result.next_verbs] == ["Say", "Hangup"]
    assert not any(m["event"] == "stop" for m in server.messages)


async def test_a_wrong_token_is_refused_at_the_webhook(tmp_path: Path) -> None:
    server = AgentServer()
    result = await run_call(server, tmp_path, auth_token="0" * 32)
    assert result.end_reason is EndReason.WEBHOOK_FAILED
    assert result.webhook is not None
    assert result.webhook.status == 403
    assert server.webhook_forms == []


@pytest.mark.parametrize("signed_url", [STREAM_URL + "/", "ws://voice.example.test/twilio/media"])
async def test_an_upgrade_signed_over_another_url_is_refused(
    tmp_path: Path, signed_url: str
) -> None:
    server = AgentServer(stream_signed_url=signed_url)
    result = await run_call(server, tmp_path)
    assert result.end_reason is EndReason.STREAM_REJECTED
    assert result.stream_rejected_status == 403
    assert [verb.name for verb in result.next_verbs] == ["Say", "Hangup"]


async def test_the_public_url_defaults_to_the_server(tmp_path: Path) -> None:
    async def voice(request: Request) -> Response:
        form = {key: str(value) for key, value in (await request.form()).items()}
        url = str(request.url)
        valid = RequestValidator(TOKEN).validate(url, form, request.headers["x-twilio-signature"])
        return Response(
            "<Response><Say>Hi</Say><Hangup/></Response>" if valid else "",
            status_code=200 if valid else 403,
            media_type="text/xml",
        )

    app = Starlette(routes=[Route("/twilio/voice", voice, methods=["POST"])])
    async with serve_asgi(app) as url:
        config = CallConfig(server_url=url, auth_token=TOKEN)
        result = await asyncio.wait_for(SimulatedCall(config).run(), TIMEOUT)
    assert result.end_reason is EndReason.NO_STREAM
    assert [verb.name for verb in result.next_verbs] == ["Say", "Hangup"]
