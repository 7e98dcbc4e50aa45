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


def encode(message: JsonObject) -> str:
    """Serialise a message for one WebSocket text frame."""
    return json.dumps(message, separators=(",", ":"))


def setup_complete(session_id: str) -> JsonObject:
    return {"setupComplete": {"sessionId": session_id}}


def model_audio(pcm: bytes, mime_type: str = OUTPUT_MIME_TYPE) -> JsonObject:
    """One chunk of the model's spoken reply."""
    data = base64.b64encode(pcm).decode("ascii")
    part = {"inlineData": {"mimeType": mime_type, "data": data}}
    return {"serverContent": {"modelTurn": {"parts": [part]}}}


def input_transcription(text: str, *, finished: bool | None = None) -> JsonObject:
    """What the model heard the caller say (a piece of it, or all of it when ``finished``)."""
    return {"serverContent": {"inputTranscription": _transcription(text, finished)}}


def output_transcription(text: str, *, finished: bool | None = None) -> JsonObject:
    """The text of the audio the model is sending."""
    return {"serverContent": {"outputTranscription": _transcription(text, finished)}}


def generation_complete() -> JsonObject:
    return {"serverContent": {"generationComplete": True}}


def turn_complete(usage: Usage | None = None) -> JsonObject:
    """End of the model's turn, with the turn's token counts when given."""
    message: JsonObject = {"serverContent": {"turnComplete": True}}
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


def session_resumption_update(handle: str, *, resumable: bool = True) -> JsonObject:
    return {"sessionResumptionUpdate": {"newHandle": handle, "resumable": resumable}}


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
