"""The emulator's script queue and its record of what happened."""

from typing import Any

import pytest

from twins.gemini_live import (
    QUOTA_EXCEEDED,
    AfterGenerationComplete,
    AfterTurns,
    BeforeFirstHandle,
    DuringToolCall,
    Immediately,
    MidReply,
    NextTurn,
    OnSetup,
    Pacing,
    Record,
    Script,
    WhileCallerSpeaks,
)
from twins.gemini_live.script import CallTool, Close, GoAway, Moment


def test_actions_are_taken_once_at_their_moment() -> None:
    script = Script()
    script.close(1011, when=AfterTurns(2))

    assert script.take(AfterTurns(1), connection=0) == []
    assert script.take(AfterTurns(2), connection=0) == [Close(1011)]
    assert script.take(AfterTurns(2), connection=0) == []
    assert script.pending == ()


def test_a_moment_can_be_bound_to_one_connection() -> None:
    script = Script()
    script.go_away(2.0, when=BeforeFirstHandle(connection=1))

    assert script.take(BeforeFirstHandle(), connection=0) == []
    assert script.take(BeforeFirstHandle(), connection=1) == [GoAway(2.0)]


def test_actions_at_the_same_moment_keep_their_order() -> None:
    script = Script()
    script.go_away(1.0, when=MidReply(3))
    script.close(1000, "bye", when=MidReply(3))

    assert script.take(MidReply(3), connection=0) == [GoAway(1.0), Close(1000, "bye")]


def test_tool_calls_default_to_the_next_turn() -> None:
    script = Script()
    script.call_tool("transfer", {"to": "sales"})

    assert script.take(NextTurn(), connection=4) == [CallTool("transfer", {"to": "sales"})]


def test_tool_calls_only_happen_on_a_turn_or_immediately() -> None:
    with pytest.raises(ValueError, match="next turn or immediately"):
        Script().add(AfterTurns(1), CallTool("transfer"))


def test_immediate_actions_wake_the_listener() -> None:
    script = Script()
    woken: list[str] = []
    unsubscribe = script.subscribe(lambda: woken.append("woken"))

    script.close(1011)
    unsubscribe()
    script.close(1011)

    assert woken == ["woken"]
    assert script.take(Immediately(), connection=0) == [Close(1011), Close(1011)]


def test_reply_and_transcription_overrides_are_queued() -> None:
    script = Script()
    script.next_reply("First.")
    script.next_reply(words=7)
    script.next_transcription("Hello")

    first, second = script.take_reply(), script.take_reply()
    assert (first and first.text, second and second.words) == ("First.", 7)
    assert script.take_reply() is None
    assert script.take_transcription() == "Hello"
    assert script.take_transcription() is None


@pytest.mark.parametrize("kwargs", [{}, {"text": "x", "words": 2}, {"words": 0}])
def test_next_reply_needs_a_text_or_a_length(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="either a text or a positive number"):
        Script().next_reply(**kwargs)


async def test_waiting_on_the_record() -> None:
    record = Record()
    connection = record.open_connection("/ws", api_key_present=True)
    connection.turns_completed = 1
    record.changed()

    await record.wait_for(lambda r: r.last.turns_completed == 1)
    with pytest.raises(TimeoutError, match="turns=1"):
        await record.wait_for(lambda r: r.connection_count == 2, timeout=0.01)


@pytest.mark.parametrize("code", [999, 1005, 1015, 2000, 5000])
def test_close_codes_a_server_cannot_send_are_refused(code: int) -> None:
    with pytest.raises(ValueError, match="not a close code"):
        Script().close(code)


def test_single_decisions_are_queued_and_taken_once() -> None:
    script = Script()
    script.decide_late_interruption(True)
    script.decide_late_interruption(False)
    script.late_input_transcription()
    script.pace_next_reply(Pacing.unpaced())

    assert [script.take_late_interruption() for _ in range(3)] == [True, False, None]
    assert [script.take_late_input() for _ in range(2)] == [True, None]
    assert script.take_pacing() == Pacing.unpaced()
    assert script.take_pacing() is None


def test_a_refusal_closes_at_setup() -> None:
    script = Script()
    script.refuse_setup(QUOTA_EXCEEDED, connection=2)

    assert script.take(OnSetup(), connection=1) == []
    assert script.take(OnSetup(), connection=2) == [Close(1011, QUOTA_EXCEEDED.reason)]


@pytest.mark.parametrize(
    "moment", [AfterGenerationComplete(), DuringToolCall(), WhileCallerSpeaks()]
)
def test_new_moments_take_closes_and_go_aways(moment: Moment) -> None:
    script = Script()
    script.go_away(3.0, when=moment)

    assert script.take(moment, connection=0) == [GoAway(3.0)]
