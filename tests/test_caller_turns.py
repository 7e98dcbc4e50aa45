"""When the caller's utterance ends, and what it said (pure rules)."""

import pytest

from telephony.caller_turns import CallerTurns, Utterance, utterance_ends
from telephony.live.wire import ModelMessage


def test_fragments_make_one_utterance_timed_from_first_to_last() -> None:
    turns = CallerTurns()
    assert turns.heard("I'd like", 100) is None
    assert turns.heard(" to book", 250) is None
    speaking_before = turns.speaking
    turns.close(900)
    assert (speaking_before, turns.speaking) == (True, False)
    assert turns.take(900) == Utterance("I'd like to book", 100, 250)
    assert turns.take(950) is None


def test_closing_with_nothing_said_stores_nothing() -> None:
    turns = CallerTurns()
    assert turns.take(10, close=True) is None
    turns.heard("   ", 20)
    assert turns.take(30, close=True) is None
    assert not turns.speaking


def test_a_late_fragment_amends_the_closed_utterance() -> None:
    # The model finished generating its reply before the caller's last words were transcribed.
    turns = CallerTurns()
    turns.heard("Are you open", 100)
    turns.close(600)
    assert turns.heard(" on Saturday?", 900) is None
    assert not turns.speaking
    assert turns.take(1500) == Utterance("Are you open on Saturday?", 100, 900)


def test_after_the_caller_speaks_again_a_fragment_begins_a_new_utterance() -> None:
    turns = CallerTurns()
    turns.heard("Yes.", 10)
    turns.close(20)
    turns.caller_spoke()
    assert turns.heard("No.", 30) == Utterance("Yes.", 10, 10)  # store this one first
    assert turns.take(40, close=True) == Utterance("No.", 30, 30)


def test_whole_transcriptions_never_amend_another() -> None:
    turns = CallerTurns()
    turns.heard("Hello.", 10)
    turns.close(10)
    assert turns.heard("Goodbye.", 30, may_amend=False) == Utterance("Hello.", 10, 10)
    assert turns.take(40, close=True) == Utterance("Goodbye.", 30, 30)


@pytest.mark.parametrize(
    "message",
    [
        ModelMessage(input_finished=True),
        ModelMessage(interrupted=True),
        ModelMessage(generation_complete=True),
        ModelMessage(turn_complete=True),
    ],
)
def test_the_utterance_ends_when_the_model_says_so_or_moves_on(message: ModelMessage) -> None:
    assert utterance_ends(message, whole_transcripts=False)


def test_fragments_and_agent_audio_do_not_end_it() -> None:
    assert not utterance_ends(ModelMessage(input_text="I'd"), whole_transcripts=False)
    assert not utterance_ends(ModelMessage(audio=[b"\x00\x00"]), whole_transcripts=False)
    assert not utterance_ends(ModelMessage(output_text="Sure"), whole_transcripts=False)


def test_with_whole_transcripts_each_one_is_an_utterance() -> None:
    assert utterance_ends(ModelMessage(input_text="Hello."), whole_transcripts=True)
    assert not utterance_ends(ModelMessage(output_text="Hi."), whole_transcripts=True)
