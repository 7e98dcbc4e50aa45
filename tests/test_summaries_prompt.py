"""What the summary model is asked, and how its answer is read (pure: no model, no server)."""

from datetime import UTC, datetime

import pytest

from telephony.summaries.prompt import Outcome, SummaryError, build_prompt, parse_answer
from telephony.transcripts import Call, EndReason, Speaker, Transcript, Turn

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _turn(seq: int, speaker: Speaker, text: str, **extra: object) -> Turn:
    values: dict[str, object] = {
        "seq": seq,
        "speaker": speaker,
        "text": text,
        "heard_text": None,
        "interrupted": False,
        "start_ms": seq * 1000,
        "end_ms": seq * 1000 + 500,
        "created_at": NOW,
    }
    return Turn.model_validate(values | extra)


def _transcript(*turns: Turn) -> Transcript:
    call = Call(
        call_sid="CA" + "1" * 32,
        stream_sid=None,
        account_sid=None,
        from_number="+15550100",
        to_number=None,
        agent="receptionist",
        direction=None,
        started_at=NOW,
        ended_at=NOW,
        end_reason=EndReason.CALLER_HUNG_UP,
        status=None,
        status_at=None,
    )
    return Transcript(call=call, turns=turns)


def test_the_prompt_gives_what_the_caller_heard_of_an_interrupted_turn() -> None:
    prompt = build_prompt(
        _transcript(
            _turn(1, Speaker.CALLER, "Are you open?"),
            _turn(
                2,
                Speaker.AGENT,
                "Yes, from nine until one.",
                heard_text="Yes, from nine",
                interrupted=True,
            ),
        ),
        {"properties": {"callback": {"type": "string"}}},
    )
    assert "[1.0-1.5 s] caller: Are you open?" in prompt
    assert "[2.0-2.5 s] agent: Yes, from nine (interrupted by the caller)" in prompt
    assert "until one" not in prompt
    assert "Call ended: caller_hung_up" in prompt
    assert '"callback"' in prompt
    assert "+15550100" not in prompt, "the caller's number is not the model's business"


def test_answers_are_read_strictly() -> None:
    answer = '```json\n{"summary": "Asked the hours.", "outcome": "resolved"}\n```'
    parsed = parse_answer(answer)
    assert parsed.outcome is Outcome.RESOLVED
    assert parsed.follow_ups == [] and parsed.fields == {}
    for bad in (None, "", "not json", '{"summary": "x", "outcome": "maybe"}'):
        with pytest.raises(SummaryError):
            parse_answer(bad)
