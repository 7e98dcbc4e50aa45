"""The uplink fast path writes exactly what google-genai writes, and steps aside when it must."""

import pytest
from google.adk.agents import Agent, LiveRequestQueue, RunConfig
from google.adk.models.llm_request import LlmRequest
from google.genai import types

from telephony.agents import gemini_model
from telephony.sim.gemini_live import DEFAULT_API_KEY, LiveEmulator
from telephony.uplink import AudioUplink, LiveGemini, fast_path_allowed

MODEL_25 = "gemini-2.5-flash-native-audio-preview-12-2025"
MODEL_3X = "gemini-3.1-flash-live-preview"
AUDIO = bytes(range(256)) * 2 + b"\xfb\xff"  # exercises the URL-safe base64 characters


class SpySocket:
    """Stands in for the socket only to capture the text the uplink writes."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, message: str) -> None:
        self.sent.append(message)


async def genai_message(emulator: LiveEmulator, model_name: str) -> tuple[str, object]:
    """What google-genai itself writes for AUDIO, and the ADK connection that carried it."""
    model = gemini_model(
        model_name,
        api_key=DEFAULT_API_KEY,
        base_url=emulator.base_url,
        ssl_context=emulator.client_ssl_context(),
    )
    request = LlmRequest(model=model_name)
    request.live_connect_config = types.LiveConnectConfig(response_modalities=["AUDIO"])
    request.config = types.GenerateContentConfig(system_instruction="test")
    captured: list[str] = []
    async with model.connect(request) as connection:
        socket = connection._gemini_session._ws  # type: ignore[attr-defined]
        original = socket.send

        async def spy(message: str) -> None:
            captured.append(message)
            await original(message)

        socket.send = spy
        await connection.send_realtime(types.Blob(data=AUDIO, mime_type="audio/pcm;rate=16000"))
        return captured[0], connection


@pytest.mark.parametrize("model_name", [MODEL_25, MODEL_3X])
async def test_fast_path_message_is_byte_identical_to_google_genai(
    live_emulator: LiveEmulator, model_name: str
) -> None:
    expected, connection = await genai_message(live_emulator, model_name)
    queue = LiveRequestQueue()
    uplink = AudioUplink(queue)
    uplink._attach(connection)  # type: ignore[arg-type]
    spy = SpySocket()
    uplink._socket = spy
    await uplink.send(AUDIO)
    assert spy.sent == [expected]
    assert uplink.sent_direct == 1
    assert queue._queue.qsize() == 0


async def test_without_a_connection_audio_goes_through_adk() -> None:
    queue = LiveRequestQueue()
    uplink = AudioUplink(queue)
    await uplink.send(AUDIO)
    request = await queue.get()
    assert request.blob is not None
    assert request.blob.data == AUDIO
    assert request.blob.mime_type == "audio/pcm;rate=16000"
    assert (uplink.sent_direct, uplink.sent_queued) == (0, 1)


async def test_audio_never_overtakes_audio_still_in_adks_queue() -> None:
    queue = LiveRequestQueue()
    uplink = AudioUplink(queue)
    await uplink.send(b"first")  # no connection yet: queued
    spy = SpySocket()
    uplink._socket = spy
    await uplink.send(b"second")  # the queue is not drained: this must queue too
    assert spy.sent == []
    assert uplink.sent_queued == 2
    await queue.get()
    await queue.get()
    await uplink.send(b"third")
    assert len(spy.sent) == 1


async def test_a_backed_up_queue_drops_new_audio_and_counts_it() -> None:
    queue = LiveRequestQueue()
    uplink = AudioUplink(queue)
    for _ in range(150):
        await uplink.send(b"\x00\x00")
    assert uplink.sent_queued == 100
    assert uplink.dropped == 50


@pytest.fixture
def agent_model() -> LiveGemini:
    model = gemini_model(MODEL_25, api_key=DEFAULT_API_KEY, base_url="https://127.0.0.1:9")
    assert isinstance(model, LiveGemini)
    return model


def test_fast_path_steps_aside_for_streaming_tools_and_blob_saving(agent_model: LiveGemini) -> None:
    async def monitor_audio(input_stream: LiveRequestQueue) -> None:
        """A streaming tool: it reads the caller's audio itself."""

    def lookup(order: str) -> str:
        """An ordinary tool."""
        return order

    plain = Agent(name="plain", model=agent_model, tools=[lookup])
    streaming = Agent(name="streaming", model=agent_model, tools=[monitor_audio])
    parent = Agent(name="parent", model=agent_model, sub_agents=[streaming])
    config = RunConfig()
    assert fast_path_allowed(plain, config)
    assert not fast_path_allowed(streaming, config)
    assert not fast_path_allowed(parent, config)
    assert not fast_path_allowed(plain, RunConfig(save_live_blob=True))
