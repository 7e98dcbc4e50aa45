"""Server -> client messages of the BidiGenerateContent protocol, as JSON text.

Pure builders. Keys are camelCase, bytes are standard base64, and only fields google-genai's
``LiveServerMessage`` models define appear: they forbid extra fields, so a stray key would break
the client rather than be ignored.
"""

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from twins.gemini_live.events import OUTPUT_MIME_TYPE, JsonObject


@dataclass(frozen=True)
class FunctionCall:
    id: str
    name: str
    args: Mapping[str, Any]


@dataclass(frozen=True)
class Usage:
    """Token counts of one turn, by modality."""

    prompt_text: int
    prompt_audio: int
    response_audio: int
    response_text: int = 0

    @property
    def prompt(self) -> int:
        return self.prompt_text + self.prompt_audio

    @property
    def response(self) -> int:
        return self.response_audio + self.response_text


IDLE = "IDLE"
"""``interactionStatus`` when the model has finished all processing (google-genai 2.34)."""


def encode(message: JsonObject) -> str:
    """Serialise a message for one WebSocket text frame."""
    return json.dumps(message, separators=(",", ":"))


def setup_complete(session_id: str) -> JsonObject:
    return {"setupComplete": {"sessionId": session_id}}


def model_audio(pcm: bytes, mime_type: str = OUTPUT_MIME_TYPE) -> JsonObject:
    """One chunk of the model's spoken reply."""
    return model_turn([pcm], mime_type=mime_type)


def model_turn(
    pcms: Sequence[bytes],
    *,
    generation_complete: bool = False,
    turn_complete: bool = False,
    usage: Usage | None = None,
    interaction_status: str | None = None,
    mime_type: str = OUTPUT_MIME_TYPE,
) -> JsonObject:
    """Audio chunks as the parts of one message, optionally with the turn's end flags and its
    usage: all valid together ("Can be set alongside content", google-genai ``turn_complete``)."""
    parts = [
        {"inlineData": {"mimeType": mime_type, "data": base64.b64encode(pcm).decode("ascii")}}
        for pcm in pcms
    ]
    content: JsonObject = {"modelTurn": {"parts": parts}}
    if generation_complete:
        content["generationComplete"] = True
    if turn_complete:
        content["turnComplete"] = True
        if interaction_status is not None:
            content["interactionStatus"] = interaction_status
    message: JsonObject = {"serverContent": content}
    if usage is not None:
        message["usageMetadata"] = usage_metadata(usage)
    return message


def input_transcription(text: str, *, finished: bool | None = None) -> JsonObject:
    """What the model heard the caller say (a piece of it, or all of it when ``finished``)."""
    return {"serverContent": {"inputTranscription": _transcription(text, finished)}}


def output_transcription(text: str, *, finished: bool | None = None) -> JsonObject:
    """The text of the audio the model is sending."""
    return {"serverContent": {"outputTranscription": _transcription(text, finished)}}


def generation_complete() -> JsonObject:
    return {"serverContent": {"generationComplete": True}}


def turn_complete(
    usage: Usage | None = None, *, interaction_status: str | None = None
) -> JsonObject:
    """End of the model's turn, with the turn's token counts and the session's interaction
    status (``IDLE``: nothing more is coming) when given."""
    content: JsonObject = {"turnComplete": True}
    if interaction_status is not None:
        content["interactionStatus"] = interaction_status
    message: JsonObject = {"serverContent": content}
    if usage is not None:
        message["usageMetadata"] = usage_metadata(usage)
    return message


def interrupted() -> JsonObject:
    """The caller spoke over the reply: the model stopped and drops what it had not sent."""
    return {"serverContent": {"interrupted": True}}


def tool_call(calls: Sequence[FunctionCall]) -> JsonObject:
    return {
        "toolCall": {
            "functionCalls": [
                {"id": call.id, "name": call.name, "args": dict(call.args)} for call in calls
            ]
        }
    }


def tool_call_cancellation(ids: Sequence[str]) -> JsonObject:
    """The calls with these ids should not have been made: the caller interrupted the turn."""
    return {"toolCallCancellation": {"ids": list(ids)}}


def usage_metadata(usage: Usage) -> JsonObject:
    response_details = [{"modality": "AUDIO", "tokenCount": usage.response_audio}]
    if usage.response_text:
        response_details.append({"modality": "TEXT", "tokenCount": usage.response_text})
    return {
        "promptTokenCount": usage.prompt,
        "responseTokenCount": usage.response,
        "totalTokenCount": usage.prompt + usage.response,
        "promptTokensDetails": [
            {"modality": "TEXT", "tokenCount": usage.prompt_text},
            {"modality": "AUDIO", "tokenCount": usage.prompt_audio},
        ],
        "responseTokensDetails": response_details,
    }


def session_resumption_update(handle: str | None) -> JsonObject:
    """A handle to resume the session with, or (None) word that it cannot be resumed now. The
    latter has no fields: proto3 JSON leaves out ``resumable: false`` and an empty handle."""
    if handle is None:
        return {"sessionResumptionUpdate": {}}
    return {"sessionResumptionUpdate": {"newHandle": handle, "resumable": True}}


def go_away(time_left_s: float) -> JsonObject:
    """Warning that the server will close the connection; ``timeLeft`` is a protobuf Duration."""
    return {"goAway": {"timeLeft": _duration(time_left_s)}}


def _transcription(text: str, finished: bool | None) -> JsonObject:
    body: JsonObject = {"text": text} if text else {}
    if finished is not None:
        body["finished"] = finished
    return body


def _duration(seconds: float) -> str:
    if seconds == int(seconds):
        return f"{int(seconds)}s"
    return f"{seconds:.3f}".rstrip("0") + "s"
