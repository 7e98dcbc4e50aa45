"""Tools as a voice model uses them: a spoken preamble, a patient wait for slow tools, calls
cancelled when the caller barges in; and the receptionist's conversation script through ADK."""

import asyncio
from typing import Any

import pytest

from tests.test_gemini_live_server import (
    MODEL_3X,
    MODEL_25,
    Message,
    RawClient,
    audio_messages,
    is_turn_complete,
    raw_client,
)
from twins.gemini_live import (
    DuringToolCall,
    EmulatorConfig,
    Interruptions,
    LiveEmulator,
    Pacing,
    Tools,
)
from twins.speech import speech_like

OPENING_HOURS = {"functionDeclarations": [{"name": "opening_hours", "parameters": {}}]}
PREAMBLES = Tools(speak_preambles=True, preamble="One moment.", cancel_on_barge_in=True)
FRAME = 640


def said(received: list[Message]) -> str:
    return "".join(
        m["serverContent"]["outputTranscription"]["text"]
        for m in received
        if "outputTranscription" in m.get("serverContent", {})
    )


async def speak(client: RawClient, seconds: float = 1.2, silence_s: float = 0.8) -> None:
    pcm = speech_like(seconds, 16000, seed=5).astype("<i2").tobytes()
    pcm += bytes(2 * round(silence_s * 16000))
    for start in range(0, len(pcm), FRAME):
        await client.audio(pcm[start : start + FRAME])


async def answer(client: RawClient, call: dict[str, Any], result: str) -> None:
    response = {"id": call["id"], "name": call["name"], "response": {"result": result}}
    await client.send({"tool_response": {"functionResponses": [response]}})


def config(**overrides: Any) -> EmulatorConfig:
    return EmulatorConfig.idealised(
        pacing=Pacing.unpaced(),
        tools=PREAMBLES,
        interruptions=Interruptions(turn_complete_after_interrupted=True),
        **overrides,
    )


@pytest.mark.parametrize("model", [MODEL_25, MODEL_3X], ids=["2.5", "3.x"])
async def test_the_model_says_a_preamble_then_calls_the_tool_and_speaks_its_result(
    model: str,
) -> None:
    async with LiveEmulator(config()) as emulator, raw_client(emulator) as client:
        await client.setup(model, tools=[OPENING_HOURS], outputAudioTranscription={})
        await speak(client)  # "Hello, are you open on Saturday?"
        before = await client.recv_until(lambda m: "toolCall" in m)
        [call] = before[-1]["toolCall"]["functionCalls"]
        await answer(client, call, "On Saturday the clinic is 9 am to 1 pm.")
        after = await client.recv_until(
            lambda m: is_turn_complete(m) and bool(m.get("usageMetadata"))
        )

    assert audio_messages(before)
    assert said(before) == "Let me check."  # the exchange's own preamble
    assert (call["name"], call["args"]) == ("opening_hours", {"day": "saturday"})
    assert said(after) == "On Saturday the clinic is 9 am to 1 pm. Anything else?"
    assert emulator.record.last.tool_calls == ["opening_hours"]


async def test_a_scripted_call_gets_the_configured_preamble() -> None:
    async with LiveEmulator(config()) as emulator, raw_client(emulator) as client:
        emulator.script.call_tool("opening_hours", {"day": "monday"})
        await client.setup(MODEL_25, tools=[OPENING_HOURS], outputAudioTranscription={})
        await client.say("[The call has just been connected.]")
        before = await client.recv_until(lambda m: "toolCall" in m)

    assert said(before) == "One moment."


async def test_without_preambles_the_call_comes_first() -> None:
    quiet = EmulatorConfig.idealised(pacing=Pacing.unpaced())
    async with LiveEmulator(quiet) as emulator, raw_client(emulator) as client:
        await client.setup(MODEL_25, tools=[OPENING_HOURS])
        await speak(client)
        first = await client.recv()

    assert "toolCall" in first


async def test_a_tool_the_client_did_not_declare_is_never_called() -> None:
    async with LiveEmulator(config()) as emulator, raw_client(emulator) as client:
        await client.setup(MODEL_25, outputAudioTranscription={})
        await speak(client)
        received = await client.recv_until(is_turn_complete)

    assert not any("toolCall" in m for m in received)
    assert said(received) == "On Saturday we are open from nine to one. Anything else?"


@pytest.mark.parametrize(("model", "open_turn"), [(MODEL_25, False), (MODEL_3X, True)])
async def test_barging_in_on_a_pending_call_cancels_it(model: str, open_turn: bool) -> None:
    async with LiveEmulator(config()) as emulator, raw_client(emulator) as client:
        await client.setup(model, tools=[OPENING_HOURS])
        await speak(client)
        [call] = (await client.recv_until(lambda m: "toolCall" in m))[-1]["toolCall"][
            "functionCalls"
        ]
        if not open_turn:
            assert is_turn_complete(await client.recv())
        await speak(client, 0.6, silence_s=0.0)  # the caller talks while the tool runs
        cancelled = await client.recv_until(lambda m: "toolCallCancellation" in m)
        rest = [await client.recv(), await client.recv()] if open_turn else []
        await answer(client, call, "too late")  # the response to a cancelled call is ignored
        await emulator.record.wait_for(lambda r: len(r.last.tool_responses) == 1)

    assert cancelled[-1] == {"toolCallCancellation": {"ids": [call["id"]]}}
    if open_turn:  # the 3.x turn was still open: it ends as an interrupted turn
        assert [list(m["serverContent"]) for m in rest] == [["interrupted"], ["turnComplete"]]
    assert emulator.record.last.tool_cancellations == [call["id"]]
    assert emulator.record.last.turns_completed == 0


async def test_the_model_waits_for_a_slow_tool() -> None:
    async with LiveEmulator(config()) as emulator, raw_client(emulator) as client:
        await client.setup(MODEL_3X, tools=[OPENING_HOURS], sessionResumption={})
        await speak(client)
        [call] = (await client.recv_until(lambda m: "toolCall" in m))[-1]["toolCall"][
            "functionCalls"
        ]
        await asyncio.sleep(0.5)  # the tool takes its time; the model says nothing meanwhile
        assert emulator.record.last.turns_completed == 0
        await answer(client, call, "Open nine to one.")
        after = await client.recv_until(is_turn_complete)

    assert audio_messages(after)
    assert emulator.record.last.turns_completed == 1


async def test_the_script_can_act_during_a_tool_call() -> None:
    async with LiveEmulator(config()) as emulator, raw_client(emulator) as client:
        emulator.script.go_away(time_left_s=0.2, when=DuringToolCall())
        await client.setup(MODEL_3X, tools=[OPENING_HOURS])
        await speak(client)
        received, closed = await client.rest()

    assert "toolCall" in received[-2]
    assert "goAway" in received[-1]
    assert closed.rcvd is not None
    assert closed.rcvd.code == 1011
