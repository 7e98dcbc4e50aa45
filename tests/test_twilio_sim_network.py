"""The network and the line: delay and jitter that keep order, and echo of the agent's voice."""

import asyncio
import itertools
from typing import Any

import numpy as np
import pytest
from twilio.twiml.voice_response import Connect, VoiceResponse

from telephony.audio import pcm16_to_ulaw, ulaw_to_pcm16
from twins.speech import speech_like
from twins.twilio import CallConfig, CallResult, Echo, EventKind, Network, Silence, SimulatedCall
from twins.twilio.appstub import AppStub, StreamLog, StreamPlan
from twins.twilio.clock import ManualClock
from twins.twilio.echo import mix_echo
from twins.twilio.network import DelayLine
from twins.twilio.protocol import FRAME_BYTES

TOKEN = "d" * 32
TIMEOUT = 30
SILENT_FRAME = b"\xff" * FRAME_BYTES
SPEECH = pcm16_to_ulaw(speech_like(1.0, 8000, seed=5).astype("<i2").tobytes())


async def test_a_delay_line_keeps_order_and_delays_every_item() -> None:
    clock = ManualClock(100.0)
    delivered: list[tuple[float, int]] = []

    async def deliver(item: int) -> None:
        delivered.append((clock.now(), item))

    line: DelayLine[int] = DelayLine(clock, delay_ms=50, jitter_ms=200, seed=3, deliver=deliver)
    put_at: dict[int, float] = {}
    dues = []
    for item in range(200):
        put_at[item] = clock.now()
        dues.append(line.put(item))
        clock.advance(0.02)
    await line.flush()

    assert [item for _, item in delivered] == list(range(200))
    assert dues == sorted(dues)
    assert all(t >= put_at[item] + 0.05 for t, item in delivered)
    held_back = sum(1 for a, b in itertools.pairwise(dues) if a == b)
    assert held_back > 0, "with this much jitter some items wait for the one before them"


def test_network_and_echo_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        Network(to_server_delay_ms=-1)
    with pytest.raises(ValueError, match="at least 20 ms"):
        Echo(delay_ms=10)
    assert Network().to_server_ideal and Network().from_server_ideal


def test_mixing_echo_into_silence_is_the_echo_at_its_level() -> None:
    heard = SPEECH[:FRAME_BYTES]
    gain = Echo(level_db=-20).gain
    mixed = mix_echo(SILENT_FRAME, heard, gain)
    expected = np.round(np.frombuffer(ulaw_to_pcm16(heard), "<i2") * gain).astype("<i2")
    assert mixed == pcm16_to_ulaw(expected.tobytes())
    assert mix_echo(SILENT_FRAME, SILENT_FRAME, gain) == SILENT_FRAME


def twiml(app: AppStub) -> str:
    response = VoiceResponse()
    connect = Connect()
    connect.stream(url=app.stream_url)
    response.append(connect)
    return str(response)


async def call(app: AppStub, **overrides: Any) -> tuple[CallResult, StreamLog]:
    app.voice = twiml(app)
    async with app.serving() as url:
        options: dict[str, Any] = {
            "server_url": url,
            "public_url": app.public_url,
            "auth_token": TOKEN,
            "script": (Silence(1.5),),
        }
        config = CallConfig(**options | overrides)
        result = await asyncio.wait_for(SimulatedCall(config).run(), TIMEOUT)
    [log] = app.streams
    return result, log


async def test_caller_audio_reaches_the_server_late_but_in_order() -> None:
    app = AppStub(TOKEN, voice="", stream=StreamPlan(close_after_s=None))
    network = Network(to_server_delay_ms=80, to_server_jitter_ms=60, seed=11)

    result, log = await call(app, network=network)

    messages = [message for _, message in log.received]
    numbered = [int(m["sequenceNumber"]) for m in messages if "sequenceNumber" in m]
    assert numbered == list(range(1, len(numbered) + 1)), "arrival order is sending order"
    assert messages[-1]["event"] == "stop", "stop comes after the audio in flight"
    sent = {int(e.data["chunk"] or 0): e.t for e in result.timeline.of(EventKind.FRAME_SENT)}
    arrivals = [(int(m["media"]["chunk"]), t) for t, m in log.received if m["event"] == "media"]
    assert len(arrivals) == len(sent)
    assert all(t - sent[chunk] >= 0.08 for chunk, t in arrivals), "each frame at least 80 ms late"


async def test_agent_audio_reaches_the_caller_late() -> None:
    app = AppStub(TOKEN, voice="", stream=StreamPlan(close_after_s=None, say_ulaw=SPEECH[:1600]))

    result, log = await call(app, network=Network(from_server_delay_ms=120))

    first_media = result.timeline.of(EventKind.MEDIA_RECEIVED)[0]
    assert first_media.t - log.sent_at[0] >= 0.12
    assert result.metrics.marks_echoed == 1
    assert SPEECH[:1600] in result.heard_ulaw


async def test_the_agents_voice_echoes_into_what_the_caller_sends() -> None:
    app = AppStub(TOKEN, voice="", stream=StreamPlan(close_after_s=None, say_ulaw=SPEECH))
    echo = Echo(level_db=-20, delay_ms=60)

    result, log = await call(app, echo=echo, script=(Silence(2.0),))

    heard, said = result.heard_ulaw, result.said_ulaw
    delay = 60 * 8
    echoed = 0
    # What the caller heard, shifted by the echo's delay (silence before the stream began).
    late = b"\xff" * delay + heard + SILENT_FRAME
    for k in range(len(said) // FRAME_BYTES):
        frame = said[k * FRAME_BYTES : (k + 1) * FRAME_BYTES]
        segment = late[k * FRAME_BYTES : (k + 1) * FRAME_BYTES]
        assert frame == mix_echo(SILENT_FRAME, segment, echo.gain)
        echoed += segment != SILENT_FRAME
    assert echoed >= 40, "a second of agent speech came back as echo"
    assert bytes(log.media) == said, "the server received exactly that"
    level_db = 10 * np.log10(_energy(said) / _energy(heard))
    assert level_db == pytest.approx(-20, abs=1.5), "all of the agent's voice, 20 dB down"


def _energy(ulaw: bytes) -> float:
    pcm = np.frombuffer(ulaw_to_pcm16(ulaw), "<i2").astype(float)
    return float(np.sum(pcm**2))
