"""A real google-adk ``Runner.run_live`` against the Live emulator over loopback TLS.

Every test runs with a 2.5-style and a 3.x-style model name, because ADK speaks a different wire
form to each (``mediaChunks`` vs ``realtime_input.audio``, text as content vs realtime text).
"""

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from types import TracebackType
from typing import Any, Self

import pytest
from google.adk.agents import Agent
from google.adk.agents.live_request_queue import LiveRequestQueue
from google.adk.agents.run_config import RunConfig
from google.adk.events import Event
from google.adk.runners import Runner
from google.adk.sessions import InMemorySessionService
from google.genai import errors, types

from twins.gemini_live import (
    AfterFirstHandle,
    AfterTurns,
    BeforeFirstHandle,
    EmulatorConfig,
    LiveEmulator,
    ModelStyle,
    Pacing,
)
from twins.gemini_live.conversation import RECEPTIONIST
from twins.speech import speech_like

MODEL_25 = "gemini-2.5-flash-native-audio-preview-09-2025"
MODEL_3X = "gemini-3.1-flash-live-preview"
TIMEOUT = 15.0  # only against hangs

IDEALISED_FAST = EmulatorConfig.idealised(pacing=Pacing(speed=20.0))
"""These tests pin the idealised behaviour, whatever the default profile is."""


@pytest.fixture
async def live_emulator() -> AsyncIterator[LiveEmulator]:
    """The idealised emulator, replying at 20x real time."""
    async with LiveEmulator(IDEALISED_FAST) as emulator:
        yield emulator


pytestmark = [
    pytest.mark.parametrize("model", [MODEL_25, MODEL_3X], ids=["2.5", "3.x"]),
    # ADK 2.13 sends text content to 2.5-style models with the deprecated session.send().
    pytest.mark.filterwarnings("ignore:The `session.send` method is deprecated:DeprecationWarning"),
]

orders_looked_up: list[str] = []


def lookup_order(order_id: str) -> dict[str, str]:
    """Look up the delivery status of an order."""
    orders_looked_up.append(order_id)
    return {"order_id": order_id, "status": "shipped"}


class LiveRun:
    """One ``run_live`` on a fresh ADK session; its events are collected in the background."""

    def __init__(
        self,
        emulator: LiveEmulator,
        model: str,
        *,
        via_environment: bool = False,
        tools: Sequence[Callable[..., Any]] = (lookup_order,),
    ) -> None:
        self.agent = Agent(
            name="receptionist",
            model=model if via_environment else emulator.adk_model(model),
            instruction="You answer the phone for a shop.",
            tools=list(tools),
        )
        self.queue = LiveRequestQueue()
        self.events: list[Event] = []
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._surfaced = False

    async def __aenter__(self) -> Self:
        sessions = InMemorySessionService()
        runner = Runner(app_name="shop", agent=self.agent, session_service=sessions)
        await sessions.create_session(app_name="shop", user_id="caller", session_id="call")
        run_config = RunConfig(
            response_modalities=[types.Modality.AUDIO],
            input_audio_transcription=types.AudioTranscriptionConfig(),
            output_audio_transcription=types.AudioTranscriptionConfig(),
            session_resumption=types.SessionResumptionConfig(),
        )
        events = runner.run_live(
            user_id="caller",
            session_id="call",
            live_request_queue=self.queue,
            run_config=run_config,
        )
        self._task = asyncio.create_task(self._collect(events))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.queue.close()
        assert self._task is not None
        if self._surfaced:
            return  # run_live's error was already raised to the test
        try:
            async with asyncio.timeout(TIMEOUT):
                await self._task
        finally:
            self._task.cancel()

    async def _collect(self, events: AsyncIterator[Event]) -> None:
        try:
            async for event in events:
                self.events.append(event)
                self._changed.set()
        finally:
            self._changed.set()

    async def until(self, condition: Callable[[], object]) -> None:
        """Wait until ``condition()`` holds; re-raise what ``run_live`` raised if it ended."""
        assert self._task is not None
        async with asyncio.timeout(TIMEOUT):
            while not condition():
                if self._task.done():
                    self._surfaced = True
                    self._task.result()
                    raise AssertionError("run_live ended before the condition was met")
                self._changed.clear()
                await self._changed.wait()

    async def event(self, condition: Callable[[Event], object]) -> Event:
        """The first event meeting ``condition``, waiting for it if needed."""
        await self.until(lambda: any(condition(e) for e in self.events))
        return next(e for e in self.events if condition(e))

    async def turns(self, count: int) -> None:
        """Wait for ``count`` turn_complete events."""
        await self.until(lambda: sum(bool(e.turn_complete) for e in self.events) >= count)

    def say(self, text: str) -> None:
        self.queue.send_content(types.Content(role="user", parts=[types.Part(text=text)]))

    async def speak(self, seconds: float, *, silence_after: float = 0.7, seed: int = 1) -> None:
        """Send caller speech then silence in 20 ms chunks, at about 10x real time."""
        pcm = speech_like(seconds, 16000, seed=seed).astype("<i2").tobytes()
        pcm += bytes(2 * round(silence_after * 16000))
        for start in range(0, len(pcm), 640):
            blob = types.Blob(data=pcm[start : start + 640], mime_type="audio/pcm;rate=16000")
            self.queue.send_realtime(blob)
            await asyncio.sleep(0.002)

    def output_text(self) -> list[str]:
        return [
            e.output_transcription.text or ""
            for e in self.events
            if e.output_transcription and e.output_transcription.finished
        ]


def audio_parts(events: list[Event]) -> list[types.Blob]:
    return [
        part.inline_data
        for event in events
        if event.content and event.content.parts
        for part in event.content.parts
        if part.inline_data
    ]


def expected_form(model: str) -> str:
    return "audio" if ModelStyle.of(model) is ModelStyle.LIVE_3X else "mediaChunks"


async def test_caller_speech_gets_a_spoken_reply(live_emulator: LiveEmulator, model: str) -> None:
    live_emulator.script.next_transcription("Where is my order?")
    live_emulator.script.next_reply("It shipped yesterday.")
    async with LiveRun(live_emulator, model) as run:
        await run.speak(1.2, silence_after=0.7)
        await run.turns(1)

    heard = [e for e in run.events if e.input_transcription and e.input_transcription.finished]
    assert [e.input_transcription.text for e in heard if e.input_transcription] == [
        "Where is my order?"
    ]
    assert run.output_text() == ["It shipped yesterday."]
    audio = audio_parts(run.events)
    assert audio
    assert {blob.mime_type for blob in audio} == {"audio/pcm;rate=24000"}
    audio_s = sum(len(blob.data or b"") for blob in audio) / 2 / 24000
    assert audio_s == pytest.approx(3 / live_emulator.config.words_per_second, abs=0.01)
    connection = live_emulator.record.last
    assert connection.model == model
    assert connection.audio_ms == pytest.approx(1900.0)
    assert connection.audio_forms == {expected_form(model)}
    assert connection.caller_turns == 1
    assert connection.turns_completed == 1


async def test_text_turn_at_start_gets_the_greeting(
    live_emulator: LiveEmulator, model: str
) -> None:
    async with LiveRun(live_emulator, model) as run:
        run.say("A caller is on the line. Greet them.")
        await run.turns(1)

    assert run.output_text() == [RECEPTIONIST.greeting]
    assert any(e.usage_metadata for e in run.events)
    [text] = live_emulator.record.last.texts
    assert text.text == "A caller is on the line. Greet them."
    source = "realtime_input" if ModelStyle.of(model) is ModelStyle.LIVE_3X else "client_content"
    assert text.source == source


async def test_caller_speaking_over_a_reply_interrupts_it(model: str) -> None:
    config = EmulatorConfig.idealised(pacing=Pacing(speed=2.0, burst_ms=0))
    async with LiveEmulator(config) as emulator, LiveRun(emulator, model) as run:
        emulator.script.next_reply(words=40)
        emulator.script.next_reply("Sure.")
        run.say("Hello?")
        await run.event(lambda e: audio_parts([e]))
        await run.speak(0.6, silence_after=0.7)
        await run.event(lambda e: e.interrupted)
        await run.turns(1)  # the reply to what the caller said over it

    connection = emulator.record.last
    assert connection.interruptions == 1
    assert connection.caller_turns == 1
    interrupted_at = next(i for i, e in enumerate(run.events) if e.interrupted)
    assert not any(e.turn_complete for e in run.events[:interrupted_at])


async def test_scripted_tool_call_runs_the_agent_tool(
    live_emulator: LiveEmulator, model: str
) -> None:
    orders_looked_up.clear()
    live_emulator.script.call_tool("lookup_order", {"order_id": "A1"})
    async with LiveRun(live_emulator, model) as run:
        run.say("Where is order A1?")
        await run.event(lambda e: e.get_function_responses())
        await live_emulator.record.wait_for(lambda r: r.last.turns_completed == 1)

    assert orders_looked_up == ["A1"]
    connection = live_emulator.record.last
    assert connection.tool_calls == ["lookup_order"]
    [response] = connection.tool_responses
    assert response.name == "lookup_order"
    assert response.response == {"order_id": "A1", "status": "shipped"}


@pytest.mark.parametrize(
    "disconnect",
    ["go_away", "close_1011", "drop_1006"],
)
async def test_disconnect_after_a_handle_resumes_the_session(
    live_emulator: LiveEmulator, model: str, disconnect: str
) -> None:
    script = live_emulator.script
    if disconnect == "go_away":
        script.go_away(time_left_s=5.0, when=AfterTurns(1))
    else:
        script.close(1011 if disconnect == "close_1011" else 1006, when=AfterFirstHandle())
    async with LiveRun(live_emulator, model) as run:
        run.say("Hello?")
        await live_emulator.record.wait_for(lambda r: r.connection_count == 2 and r.last.setup)
        await run.speak(1.0)
        await live_emulator.record.wait_for(lambda r: r.last.turns_completed == 1)

    first, second = live_emulator.record.connections
    assert second.resumed_handle == first.handles_issued[-1]
    assert live_emulator.record.resumptions == [first.handles_issued[-1]]
    assert first.closed
    assert second.audio_ms > 0
    assert second.caller_turns == 1


async def test_close_with_1011_before_any_handle_raises(
    live_emulator: LiveEmulator, model: str
) -> None:
    live_emulator.script.close(1011, when=BeforeFirstHandle())
    async with LiveRun(live_emulator, model) as run:
        run.say("Hello?")
        with pytest.raises(errors.APIError) as raised:
            await run.until(lambda: False)

    assert type(raised.value) is errors.APIError
    assert raised.value.code == 1011
    assert live_emulator.record.connection_count == 1
    assert live_emulator.record.last.close_code == 1011


async def test_plain_model_name_through_the_environment(
    live_emulator: LiveEmulator, model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in live_emulator.client_env().items():
        monkeypatch.setenv(name, value)
    async with LiveRun(live_emulator, model, via_environment=True) as run:
        run.say("Hello?")
        await run.turns(1)

    assert run.output_text() == [RECEPTIONIST.greeting]
    assert live_emulator.record.last.model == model
