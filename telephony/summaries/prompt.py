"""What the text model is asked about a finished call, and how its answer is read.

The prompt holds the call's transcript as the caller heard it (an agent turn that was cut
short is given as the words heard), how the call ended, and, when the route asks for
structured fields, their JSON schema. The model answers with one JSON object; anything else is
a `SummaryError`, never a guess.
"""

import json
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from telephony.transcripts import Speaker, Transcript


class Outcome(StrEnum):
    RESOLVED = "resolved"
    TRANSFERRED = "transferred"
    MESSAGE_TAKEN = "message_taken"
    VOICEMAIL = "voicemail"
    ABANDONED = "abandoned"


class SummaryError(ValueError):
    """The model's answer is not a summary."""


class CallSummary(BaseModel):
    """What the model made of a call."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    summary: str = Field(max_length=4000, repr=False)
    outcome: Outcome
    follow_ups: list[str] = Field(default_factory=list, max_length=20, repr=False)
    fields: dict[str, Any] = Field(default_factory=dict, repr=False)


_INSTRUCTIONS = """\
You summarise a phone call between a caller and a voice agent for the business's CRM.
Answer with one JSON object and nothing else, with these keys:
- "summary": two or three sentences on what the caller wanted and what happened.
- "outcome": one of "resolved", "transferred", "message_taken", "voicemail", "abandoned".
- "follow_ups": a list of short actions someone must take (empty if none).
- "fields": an object with the fields described by the JSON schema below (null when unknown).
<fields_schema>{schema}</fields_schema>
"""


def build_prompt(transcript: Transcript, fields_schema: dict[str, Any] | None) -> str:
    """The whole request: instructions, how the call ended, then its turns in order."""
    call = transcript.call
    lines = [_INSTRUCTIONS.format(schema=json.dumps(fields_schema or {"properties": {}}))]
    lines.append(f"Agent: {call.agent or 'unknown'}")
    lines.append(f"Call ended: {call.end_reason or 'unknown'}")
    lines.append("Transcript:")
    for turn in transcript.turns:
        words = turn.text
        note = ""
        if turn.speaker is Speaker.AGENT and turn.interrupted:
            words = turn.heard_text or ""
            note = " (interrupted by the caller)"
        seconds = f"{turn.start_ms / 1000:.1f}-{turn.end_ms / 1000:.1f} s"
        lines.append(f"[{seconds}] {turn.speaker.value}: {words}{note}")
    return "\n".join(lines)


def parse_answer(text: str | None) -> CallSummary:
    """The model's answer as a `CallSummary` (a ```json fence around it is tolerated)."""
    if not text:
        raise SummaryError("the model gave no answer")
    body = text.strip()
    if body.startswith("```"):
        body = body.strip("`").removeprefix("json").strip()
    try:
        return CallSummary.model_validate_json(body)
    except ValidationError as exc:
        raise SummaryError(
            f"the model's answer is not a summary ({exc.error_count()} errors)"
        ) from exc
