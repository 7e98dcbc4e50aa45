"""Conversation scripts: the emulator follows one that fits the agent, tool calls included.

The default, ``RECEPTIONIST``, fits ``agents/receptionist``: its tool calls run the agent's own
tools through a real ADK ``run_live``, and their results are spoken in the replies.
"""

import inspect
from collections.abc import Callable

import pytest
from google.adk.tools.tool_context import ToolContext

from agents.receptionist.agent import opening_hours, take_message
from tests.test_gemini_live_adk import MODEL_3X, MODEL_25, LiveRun
from twins.gemini_live import (
    RECEPTIONIST,
    Conversation,
    EmulatorConfig,
    Exchange,
    LiveEmulator,
    Pacing,
    ToolStep,
)
from twins.gemini_live.conversation import result_text

AGENT_TOOLS: dict[str, Callable[..., object]] = {
    "opening_hours": opening_hours,
    "take_message": take_message,
}
DEMO_WORDS_PER_REPLY = 14
"""The demo's call lasts about 20 s: no reply may take much more than 5 s to say."""


def test_an_answer_fills_in_the_result_or_the_fallback() -> None:
    exchange = Exchange("Open today?", "{result} Bye.", ToolStep("hours", fallback="Yes."))

    assert exchange.answer("Open till six.") == "Open till six. Bye."
    assert exchange.answer(None) == "Yes. Bye."


def test_a_reply_may_only_use_the_result_field() -> None:
    with pytest.raises(ValueError, match="result"):
        Exchange("Hi", "Hello {name}")


def test_plain_lines_make_a_conversation_without_tools() -> None:
    conversation = Conversation.from_lines("Hi.", ("a", "b", "c"), ("1 {x}", "2"))

    assert [(e.caller, e.answer(None)) for e in conversation.exchanges] == [
        ("a", "1 {x}"),
        ("b", "2"),
        ("c", "1 {x}"),
    ]
    assert all(e.tool is None for e in conversation.exchanges)


def test_results_are_said_as_text() -> None:
    assert result_text({"result": "Open."}) == "Open."
    assert result_text({"status": "ok"}) == '{"status": "ok"}'


def test_the_receptionist_script_calls_the_receptionist_tools_as_declared() -> None:
    steps = [e.tool for e in RECEPTIONIST.exchanges if e.tool is not None]

    assert {step.name for step in steps} == set(AGENT_TOOLS)
    for step in steps:
        parameters = inspect.signature(AGENT_TOOLS[step.name]).parameters
        expected = {n for n, p in parameters.items() if p.annotation is not ToolContext}
        assert set(step.args) == expected


def test_the_receptionist_replies_are_short_enough_for_the_demo() -> None:
    assert all(len(text.split()) <= DEMO_WORDS_PER_REPLY for text in RECEPTIONIST.texts)
    assert RECEPTIONIST.greeting is not None


@pytest.mark.parametrize("model", [MODEL_25, MODEL_3X], ids=["2.5", "3.x"])
@pytest.mark.filterwarnings("ignore:The `session.send` method is deprecated:DeprecationWarning")
async def test_the_receptionist_looks_up_the_hours_and_says_them(model: str) -> None:
    config = EmulatorConfig.realistic(pacing=Pacing.realistic(speed=20.0), reply_latency_ms=0)
    tools = (opening_hours, take_message)
    async with LiveEmulator(config) as emulator, LiveRun(emulator, model, tools=tools) as run:
        emulator.script.decide_late_interruption(False)
        run.say("[The call has just been connected.]")
        await run.turns(1)
        await run.speak(1.6, silence_after=0.8)  # "Hello, are you open on Saturday?"
        await emulator.record.wait_for(lambda r: r.last.turns_completed == 2, timeout=15)

    [response] = [r for e in run.events for r in e.get_function_responses()]
    assert response.name == "opening_hours"
    assert response.response == {"result": opening_hours("saturday")}
    said = run.output_text()
    assert said[0] == RECEPTIONIST.greeting
    assert "Let me check." in said[1]
    assert f"{opening_hours('saturday')} Anything else?" in said[-1]
    assert emulator.record.last.tool_calls == ["opening_hours"]
