"""The Live emulator at the wire level: a plain WebSocket client, and google-genai's own client."""

import asyncio
import base64
import json
import signal
import socket
import ssl
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from google import genai
from google.genai import types
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from twins.gemini_live import (
    AfterTurns,
    EmulatorConfig,
    Immediately,
    LiveEmulator,
    MidReply,
    OnSetup,
    Pacing,
)
from twins.gemini_live.conversation import RECEPTIONIST
from twins.gemini_live.server import LIVE_PATH
from twins.speech import speech_like

MODEL_25 = "models/gemini-live-2.5-flash-preview"
MODEL_3X = "models/gemini-3.1-flash-live-preview"
TIMEOUT = 10.0  # only against hangs

IDEALISED_FAST = EmulatorConfig.idealised(pacing=Pacing(speed=20.0))
"""These tests pin the idealised behaviour, whatever the default profile is."""


@pytest.fixture
async def live_emulator() -> AsyncIterator[LiveEmulator]:
    """The idealised emulator, replying at 20x real time."""
    async with LiveEmulator(IDEALISED_FAST) as emulator:
        yield emulator


Message = dict[str, Any]


class RawClient:
    """A bare BidiGenerateContent client: JSON in, JSON out."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def send(self, message: Message) -> None:
        await self.ws.send(json.dumps(message))

    async def recv(self) -> Message:
        async with asyncio.timeout(TIMEOUT):
            message: Message = json.loads(await self.ws.recv())
            return message

    async def recv_until(self, condition: Callable[[Message], object]) -> list[Message]:
        """Messages up to and including the first meeting ``condition``."""
        received = [await self.recv()]
        while not condition(received[-1]):
            received.append(await self.recv())
        return received

    async def closed(self) -> ConnectionClosed:
        """Read until the server closes; return how."""
        return (await self.rest())[1]

    async def rest(self) -> tuple[list[Message], ConnectionClosed]:
        """Everything until the server closes, and how it closed."""
        received: list[Message] = []
        async with asyncio.timeout(TIMEOUT):
            try:
                while True:
                    received.append(json.loads(await self.ws.recv()))
            except ConnectionClosed as closed:
                return received, closed

    async def setup(self, model: str = MODEL_25, **fields: Any) -> Message:
        await self.send({"setup": {"model": model, **fields}})
        return await self.recv()

    async def say(self, text: str) -> None:
        turns = [{"role": "user", "parts": [{"text": text}]}]
        await self.send({"client_content": {"turns": turns, "turnComplete": True}})

    async def audio(self, pcm: bytes, *, rate: int = 16000, url_safe: bool = True) -> None:
        encode = base64.urlsafe_b64encode if url_safe else base64.b64encode
        blob = {"data": encode(pcm).decode(), "mime_type": f"audio/pcm;rate={rate}"}
        await self.send({"realtime_input": {"mediaChunks": [blob]}})


@asynccontextmanager
async def raw_client(
    emulator: LiveEmulator,
    *,
    api_key: str | None = "test-key",
    path: str = LIVE_PATH.format(version="v1alpha"),
) -> AsyncIterator[RawClient]:
    url = emulator.base_url.replace("https://", "wss://") + path
    headers = {"x-goog-api-key": api_key} if api_key else {}
    async with connect(
        url, ssl=emulator.client_ssl_context(), additional_headers=headers, proxy=None
    ) as ws:
        yield RawClient(ws)


def is_turn_complete(message: Message) -> bool:
    return bool(message.get("serverContent", {}).get("turnComplete"))


def audio_messages(received: list[Message]) -> list[Message]:
    return [m for m in received if "modelTurn" in m.get("serverContent", {})]


async def test_setup_is_acknowledged_on_both_api_versions(live_emulator: LiveEmulator) -> None:
    for version in ("v1alpha", "v1beta"):
        async with raw_client(live_emulator, path=LIVE_PATH.format(version=version)) as client:
            assert "setupComplete" in await client.setup()

    assert [c.model for c in live_emulator.record.connections] == [MODEL_25[7:]] * 2


async def test_an_unknown_path_is_not_found(live_emulator: LiveEmulator) -> None:
    with pytest.raises(InvalidStatus) as raised:
        async with raw_client(live_emulator, path="/ws/other"):
            pass

    assert raised.value.response.status_code == 404


async def test_a_missing_api_key_is_refused_with_1008(live_emulator: LiveEmulator) -> None:
    async with raw_client(live_emulator, api_key=None) as client:
        closed = await client.closed()

    assert closed.rcvd is not None
    assert closed.rcvd.code == 1008
    assert not live_emulator.record.last.api_key_present


async def test_an_unlisted_api_key_is_refused_with_1007() -> None:
    async with LiveEmulator(EmulatorConfig.idealised(api_keys=frozenset({"good"}))) as emulator:
        async with raw_client(emulator, api_key="bad") as client:
            closed = await client.closed()
        async with raw_client(emulator, api_key="good") as client:
            assert "setupComplete" in await client.setup()

    assert closed.rcvd is not None
    assert closed.rcvd.code == 1007


async def test_an_unknown_resumption_handle_is_refused_with_1007(
    live_emulator: LiveEmulator,
) -> None:
    async with raw_client(live_emulator) as client:
        await client.send({"setup": {"model": MODEL_25, "sessionResumption": {"handle": "nope"}}})
        closed = await client.closed()

    assert closed.rcvd is not None
    assert closed.rcvd.code == 1007
    assert live_emulator.record.resumptions == []


async def test_an_unknown_message_is_refused_with_1007(live_emulator: LiveEmulator) -> None:
    async with raw_client(live_emulator) as client:
        await client.setup()
        await client.send({"bogus_message": {}})
        closed = await client.closed()

    assert closed.rcvd is not None
    assert closed.rcvd.code == 1007
    assert live_emulator.record.last.unknown_messages == [("bogus_message",)]


async def test_unknown_messages_can_be_ignored() -> None:
    config = EmulatorConfig.idealised(reject_unknown_messages=False)
    async with LiveEmulator(config) as emulator, raw_client(emulator) as client:
        await client.setup()
        await client.send({"bogus_message": {}})
        await client.say("Hello?")
        await client.recv_until(is_turn_complete)

    assert emulator.record.last.unknown_messages == [("bogus_message",)]


async def test_audio_duration_follows_the_mime_rate_in_either_base64_alphabet(
    live_emulator: LiveEmulator,
) -> None:
    async with raw_client(live_emulator) as client:
        await client.setup()
        await client.audio(bytes(16000), rate=16000, url_safe=True)  # 500 ms
        await client.audio(bytes(8000), rate=8000, url_safe=False)  # 500 ms
        await live_emulator.record.wait_for(lambda r: r.last.audio_bytes == 24000)

    connection = live_emulator.record.last
    assert connection.audio_ms == pytest.approx(1000.0)
    assert [f.rate for f in connection.audio_formats] == [16000, 8000]


async def test_a_spoken_turn_with_the_2_5_wire_form(live_emulator: LiveEmulator) -> None:
    live_emulator.script.next_transcription("one two three four five")
    speech = speech_like(1.0, 16000).astype("<i2").tobytes() + bytes(2 * 16000)
    async with raw_client(live_emulator) as client:
        await client.setup(inputAudioTranscription={}, outputAudioTranscription={})
        for start in range(0, len(speech), 640):
            await client.audio(speech[start : start + 640])
        received = await client.recv_until(is_turn_complete)

    heard = [m["serverContent"]["inputTranscription"] for m in received[:2]]
    assert heard == [{"text": "one two three"}, {"text": " four five"}]
    said = "".join(
        m["serverContent"]["outputTranscription"]["text"]
        for m in received
        if "outputTranscription" in m.get("serverContent", {})
    )
    assert said == RECEPTIONIST.exchanges[0].answer(None)  # no tool declared: its fallback
    assert audio_messages(received)
    assert "generationComplete" in received[-2]["serverContent"]
    assert received[-1]["usageMetadata"]["totalTokenCount"] > 0


async def test_client_side_activity_signals_drive_the_turn(live_emulator: LiveEmulator) -> None:
    detection = {"automaticActivityDetection": {"disabled": True}}
    async with raw_client(live_emulator) as client:
        await client.setup(MODEL_3X, realtimeInputConfig=detection, inputAudioTranscription={})
        await client.send({"realtime_input": {"activityStart": {}}})
        await client.audio(bytes(3200))  # silence: only the signals count
        await client.send({"realtime_input": {"activityEnd": {}}})
        received = await client.recv_until(is_turn_complete)

    assert received[0]["serverContent"]["inputTranscription"]["finished"] is True
    assert live_emulator.record.last.signals == ["activityStart", "activityEnd"]


@pytest.mark.parametrize(("model", "turn_completes"), [(MODEL_25, True), (MODEL_3X, False)])
async def test_an_immediate_tool_call(
    live_emulator: LiveEmulator, model: str, turn_completes: bool
) -> None:
    async with raw_client(live_emulator) as client:
        await client.setup(model)
        live_emulator.script.call_tool("hang_up", {"reason": "done"}, when=Immediately())
        [call] = (await client.recv())["toolCall"]["functionCalls"]
        assert (call["name"], call["args"]) == ("hang_up", {"reason": "done"})
        if turn_completes:
            assert is_turn_complete(await client.recv())
        response = {"id": call["id"], "name": "hang_up", "response": {"ok": True}}
        await client.send({"tool_response": {"functionResponses": [response]}})
        received = await client.recv_until(is_turn_complete)

    assert audio_messages(received)
    assert live_emulator.record.last.tool_responses[0].response == {"ok": True}


async def test_close_mid_reply_after_three_chunks(live_emulator: LiveEmulator) -> None:
    live_emulator.script.close(1011, when=MidReply(after_chunks=3))
    async with raw_client(live_emulator) as client:
        await client.setup()
        await client.say("Hello?")
        received, closed = await client.rest()

    assert len(audio_messages(received)) == 3
    assert closed.rcvd is not None
    assert closed.rcvd.code == 1011


async def test_go_away_then_close_when_the_client_stays(live_emulator: LiveEmulator) -> None:
    live_emulator.script.go_away(time_left_s=0.2, when=AfterTurns(1))
    async with raw_client(live_emulator) as client:
        await client.setup(sessionResumption={})
        await client.say("Hello?")
        received = await client.recv_until(lambda m: "goAway" in m)
        closed = await client.closed()

    assert received[-1] == {"goAway": {"timeLeft": "0.2s"}}
    assert "sessionResumptionUpdate" in received[-2]
    assert closed.rcvd is not None
    assert closed.rcvd.code == 1011


async def test_resuming_a_handle_on_a_new_connection(live_emulator: LiveEmulator) -> None:
    async with raw_client(live_emulator) as client:
        await client.setup(sessionResumption={})
        await client.say("Hello?")
        update = (await client.recv_until(lambda m: "sessionResumptionUpdate" in m))[-1]
    handle = update["sessionResumptionUpdate"]["newHandle"]
    assert update["sessionResumptionUpdate"]["resumable"] is True

    async with raw_client(live_emulator) as client:
        assert "setupComplete" in await client.setup(sessionResumption={"handle": handle})

    assert live_emulator.record.resumptions == [handle]


async def test_close_before_setup_complete(live_emulator: LiveEmulator) -> None:
    live_emulator.script.close(1011, when=OnSetup())
    async with raw_client(live_emulator) as client:
        await client.send({"setup": {"model": MODEL_25}})
        closed = await client.closed()

    assert closed.rcvd is not None
    assert closed.rcvd.code == 1011
    assert live_emulator.script.pending == ()


async def test_stopping_the_emulator_closes_connections() -> None:
    emulator = LiveEmulator()
    await emulator.start()
    async with raw_client(emulator) as client:
        await client.setup()
        await emulator.stop()
        closed = await client.closed()

    assert closed.rcvd is not None
    assert closed.rcvd.code == 1001
    assert emulator.record.last.closed


async def test_google_genai_through_the_environment(
    live_emulator: LiveEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in live_emulator.client_env(api_key="env-key").items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    client = genai.Client()

    received = await _one_text_turn(client)

    assert any(m.server_content and m.server_content.model_turn for m in received)
    assert live_emulator.record.last.api_key_present


async def test_google_genai_with_explicit_http_options(live_emulator: LiveEmulator) -> None:
    client = genai.Client(api_key="explicit-key", http_options=live_emulator.http_options())

    received = await _one_text_turn(client)

    assert received[-1].server_content is not None
    assert received[-1].server_content.turn_complete


async def _one_text_turn(client: genai.Client) -> list[types.LiveServerMessage]:
    config = types.LiveConnectConfig(response_modalities=[types.Modality.AUDIO])
    async with client.aio.live.connect(model=MODEL_3X, config=config) as session:
        await session.send_realtime_input(text="Hello?")
        async with asyncio.timeout(TIMEOUT):
            return [message async for message in session.receive()]


async def test_adk_model_survives_a_deep_copy(live_emulator: LiveEmulator) -> None:
    model = live_emulator.adk_model(MODEL_3X)

    copied = model.model_copy(deep=True)

    assert copied.base_url == live_emulator.base_url


async def test_command_line_serves_on_the_given_port_until_sigterm() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "telephony",
        "emulator",
        "--port",
        str(port),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        env: dict[str, str] = {}
        async with asyncio.timeout(TIMEOUT):
            while not (line := (await process.stdout.readline()).decode()).startswith("Press"):
                if line.startswith("export "):
                    name, _, value = line.removeprefix("export ").strip().partition("=")
                    env[name] = value
        assert env["GOOGLE_GEMINI_BASE_URL"] == f"https://127.0.0.1:{port}"
        context = ssl.create_default_context(cafile=env["SSL_CERT_FILE"])
        url = env["GOOGLE_GEMINI_BASE_URL"].replace("https://", "wss://")
        path = LIVE_PATH.format(version="v1alpha")
        headers = {"x-goog-api-key": env["GOOGLE_API_KEY"]}
        async with connect(url + path, ssl=context, additional_headers=headers, proxy=None) as ws:
            assert "setupComplete" in await RawClient(ws).setup()
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(TIMEOUT):
            returncode = await process.wait()

    assert returncode == 0
    assert not await asyncio.to_thread(Path(env["SSL_CERT_FILE"]).exists)  # the CA is gone


async def test_context_updates_are_accepted(live_emulator: LiveEmulator) -> None:
    client = genai.Client(api_key="explicit-key", http_options=live_emulator.http_options())
    async with client.aio.live.connect(model=MODEL_3X) as session:
        await session.send_context_update(system_instruction="Be terse.")
        await live_emulator.record.wait_for(lambda r: r.last.context_updates == 1)

    assert live_emulator.record.last.unknown_messages == []
