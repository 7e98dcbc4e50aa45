"""When the caller's utterance ends, and what it said (pure rules)."""

import pytest

from telephony.caller_turns import CallerTurns, Utterance, utterance_ends
from telephony.live.wire import ModelMessage


def test_fragments_make_one_utterance_timed_from_first_to_last() -> None:
    turns = CallerTurns()
    assert turns.heard("I'd like", 100)  # begins an utterance
    assert not turns.heard(" to book", 250)
    assert turns.speaking
    assert turns.close(900) == Utterance("I'd like to book", 100, 250)
    assert not turns.speaking


def test_closing_with_nothing_said_stores_nothing() -> None:
    turns = CallerTurns()
    assert turns.close(10) is None
    turns.heard("   ", 20)
    assert turns.close(30) is None
    assert not turns.speaking


def test_after_a_close_the_next_fragment_begins_a_new_utterance() -> None:
    turns = CallerTurns()
    turns.heard("Yes.", 10)
    turns.close(20)
    assert turns.heard("No.", 30)
    assert turns.close(40) == Utterance("No.", 30, 30)


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
