"""The direct line to the model's socket: what it writes, what it reads, when it steps aside."""

import json

import pytest
from google.adk.agents import Agent, LiveRequestQueue, RunConfig
from google.adk.models.gemini_llm_connection import GeminiLlmConnection
from google.adk.models.llm_request import LlmRequest
from google.adk.utils.variant_utils import GoogleLLMVariant
from google.genai import types
from google.genai.live import AsyncSession

from telephony.live import internals
from telephony.live.agents import direct_line_allowed
from telephony.live.internals import Internals
from telephony.live.link import ModelLink, _ServerTap
from telephony.live.models import LiveGemini, gemini_model
from telephony.live.warmup import SilentConnection
from telephony.live.wire import AudioMessages, ModelMessage
from twins.gemini_live import DEFAULT_API_KEY, LiveEmulator

MODEL_25 = "gemini-2.5-flash-native-audio-preview-12-2025"
MODEL_3X = "gemini-3.1-flash-live-preview"
AUDIO = bytes(range(256)) * 2 + b"\xfb\xff"  # exercises the URL-safe base64 characters


class SpySocket:
    """Captures what is written; stands in for the WebSocket only."""

    def __init__(self, incoming: list[str] | None = None) -> None:
        self.sent: list[str] = []
        self.incoming = list(incoming or [])

    async def send(self, message: str) -> None:
        self.sent.append(message)

    async def recv(self, decode: bool | None = None) -> bytes:
        return self.incoming.pop(0).encode()


ALL_INTERNALS = Internals(direct_line=True, queue_depth=True, session_events=True)


async def ignore(message: ModelMessage) -> None:
    del message


def connection_over(socket: SpySocket, model_name: str = MODEL_25) -> GeminiLlmConnection:
    """An ADK connection to the Gemini API whose socket is ``socket`` (public constructors)."""
    session = AsyncSession(api_client=None, websocket=socket)  # type: ignore[arg-type]
    return GeminiLlmConnection(
        session, api_backend=GoogleLLMVariant.GEMINI_API, model_version=model_name
    )


async def genai_connection(emulator: LiveEmulator, model_name: str) -> tuple[str, object]:
    """What google-genai itself writes for AUDIO, and the ADK connection that carried it."""
    model = gemini_model(
        model_name,
        api_key=DEFAULT_API_KEY,
        base_url=emulator.base_url,
        ssl_context=emulator.client_ssl_context(),
    )
    request = LlmRequest(model=model_name)
    request.live_connect_config = types.LiveConnectConfig(
        response_modalities=[types.Modality.AUDIO]
    )
    request.config = types.GenerateContentConfig(system_instruction="test")
    captured: list[str] = []
    async with model.connect(request) as connection:
        found = internals.live_socket(connection)
        assert found is not None
        socket = found.socket
        original = socket.send

        async def spy(message: str) -> None:
            captured.append(message)
            await original(message)

        socket.send = spy
        await connection.send_realtime(types.Blob(data=AUDIO, mime_type="audio/pcm;rate=16000"))
        return captured[0], connection


@pytest.mark.parametrize("model_name", [MODEL_25, MODEL_3X])
async def test_caller_audio_message_is_byte_identical_to_google_genai(
    live_emulator: LiveEmulator, model_name: str
) -> None:
    expected, _ = await genai_connection(live_emulator, model_name)
    queue = LiveRequestQueue()
    link = ModelLink(queue, ignore, internals=ALL_INTERNALS)
    spy = SpySocket()
    link.attach(connection_over(spy, model_name))
    assert link.tapped
    await link.send_audio(AUDIO)
    assert spy.sent == [expected]
    assert link.sent_direct == 1
    assert internals.queued_requests(queue) == 0


async def test_the_tap_hands_the_call_its_part_and_google_genai_the_rest() -> None:
    audio = {
        "serverContent": {
            "modelTurn": {
                "parts": [{"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": "AAE="}}]
            }
        }
    }
    words = {"serverContent": {"outputTranscription": {"text": "Hello"}}}
    tool = {"toolCall": {"functionCalls": [{"id": "1", "name": "f", "args": {}}]}}
    socket = SpySocket([json.dumps(m) for m in (audio, words, audio, tool)])
    seen: list[ModelMessage] = []

    async def record(message: ModelMessage) -> None:
        seen.append(message)

    tap = _ServerTap(socket, record)
    # The audio-only message is consumed; the call sees each message before google-genai does.
    assert json.loads(await tap.recv(decode=False)) == words
    assert [(s.audio, s.output_text) for s in seen] == [([b"\x00\x01"], ""), ([], "Hello")]
    assert json.loads(await tap.recv(decode=False)) == tool  # nothing for the call in a tool call
    assert [s.audio for s in seen] == [[b"\x00\x01"], [], [b"\x00\x01"]]
    await tap.send("passes through")
    assert socket.sent == ["passes through"]


async def test_audio_before_the_connection_is_held_and_goes_out_first_in_order() -> None:
    queue = LiveRequestQueue()
    link = ModelLink(queue, ignore, internals=ALL_INTERNALS)
    await link.send_audio(b"one")
    await link.send_audio(b"two")
    spy = SpySocket()
    link.attach(connection_over(spy))  # the connection is up
    await link.send_audio(b"three")
    messages = AudioMessages(audio_field=False)
    assert spy.sent == [messages.audio(b"one"), messages.audio(b"two"), messages.audio(b"three")]
    assert (link.sent_direct, link.sent_queued, link.dropped) == (3, 0, 0)
    assert internals.queued_requests(queue) == 0


async def test_only_the_freshest_half_second_is_held() -> None:
    link = ModelLink(LiveRequestQueue(), ignore, internals=ALL_INTERNALS)
    for number in range(30):
        await link.send_audio(bytes([number]))
    spy = SpySocket()
    link.attach(connection_over(spy))
    await link.send_audio(bytes([30]))
    messages = AudioMessages(audio_field=False)
    assert spy.sent == [messages.audio(bytes([n])) for n in range(5, 31)]
    assert link.dropped == 5


async def test_with_the_direct_line_off_adk_carries_the_audio() -> None:
    queue = LiveRequestQueue()
    link = ModelLink(queue, ignore, internals=ALL_INTERNALS, enabled=False)
    await link.send_audio(AUDIO)
    request = await queue.get()
    assert request.blob is not None
    assert request.blob.data == AUDIO
    assert request.blob.mime_type == "audio/pcm;rate=16000"
    for _ in range(150):  # ADK's queue is unbounded: the link bounds it
        await link.send_audio(b"\x00\x00")
    assert (link.sent_direct, link.sent_queued, link.dropped) == (0, 101, 50)


async def test_a_connection_it_cannot_use_hands_the_held_audio_to_adk_in_order() -> None:
    queue = LiveRequestQueue()
    link = ModelLink(queue, ignore, internals=ALL_INTERNALS)
    await link.send_audio(b"early")
    link.attach(SilentConnection())  # a kind of connection the direct line does not know
    await link.send_audio(b"late")
    assert not link.tapped
    assert [(await queue.get()).blob.data for _ in range(2)] == [b"early", b"late"]  # type: ignore[union-attr]
    assert (link.sent_direct, link.sent_queued) == (0, 2)


def test_the_direct_line_steps_aside_for_streaming_tools_and_blob_saving() -> None:
    model = gemini_model(MODEL_25, api_key=DEFAULT_API_KEY, base_url="https://127.0.0.1:9")
    assert isinstance(model, LiveGemini)

    async def monitor_audio(input_stream: LiveRequestQueue) -> None:
        """A streaming tool: it reads the caller's audio itself."""

    def lookup(order: str) -> str:
        """An ordinary tool."""
        return order

    plain = Agent(name="plain", model=model, tools=[lookup])
    streaming = Agent(name="streaming", model=model, tools=[monitor_audio])
    parent = Agent(name="parent", model=model, sub_agents=[streaming])
    config = RunConfig()
    assert direct_line_allowed(plain, config)
    assert not direct_line_allowed(streaming, config)
    assert not direct_line_allowed(parent, config)
    assert not direct_line_allowed(plain, RunConfig(save_live_blob=True))


async def test_a_connection_that_ends_resets_the_link_and_the_next_one_is_tapped() -> None:
    link = ModelLink(LiveRequestQueue(), ignore, internals=ALL_INTERNALS)
    first, second = SpySocket(), SpySocket()
    connection = connection_over(first)
    link.attach(connection)
    await link.send_audio(b"one")
    await link.detach(connection)
    # Until the next connection, ADK's events are the call's again.
    assert (link.tapped, link.final_input_transcripts) == (False, False)
    await link.send_audio(b"held")
    link.attach(connection_over(second, MODEL_3X))
    # Tapped again; this connection's model sends whole transcripts.
    assert (link.tapped, link.final_input_transcripts) == (True, True)
    await link.send_audio(b"two")
    assert first.sent == [AudioMessages(audio_field=False).audio(b"one")]
    after = AudioMessages(audio_field=True)
    assert second.sent == [after.audio(b"held"), after.audio(b"two")]
    assert link.connections == 2


async def test_without_the_internals_adk_carries_everything() -> None:
    queue = LiveRequestQueue()
    link = ModelLink(queue, ignore, internals=Internals.public_only())
    link.attach(connection_over(SpySocket()))
    assert not link.tapped
    await link.send_audio(b"pcm")
    request = await queue.get()
    assert request.blob is not None
    assert request.blob.data == b"pcm"
    assert link.connections == 1


async def test_the_call_hears_once_of_each_connection_that_ends() -> None:
    ended: list[int] = []

    async def on_ended() -> None:
        ended.append(link.connections)

    link = ModelLink(LiveRequestQueue(), ignore, on_ended=on_ended, internals=ALL_INTERNALS)
    first = connection_over(SpySocket())
    link.attach(first)
    await link.detach(first)
    second = connection_over(SpySocket())
    link.attach(second)
    third = connection_over(SpySocket())  # a hand-over: the second is still open around it
    link.attach(third)
    await link.detach(third)
    await link.detach(second)  # no longer the link's connection: nothing more to hear
    assert ended == [1, 3]
