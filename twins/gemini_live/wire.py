"""Parse BidiGenerateContent client messages (JSON text frames) into the typed ``events``.

Pure translation, no sockets; server messages are built in ``messages``. The input is what
google-genai 2.x sends: one JSON object per frame with a single top-level key, ``setup`` first,
then ``realtime_input``, ``client_content`` or ``tool_response``. The SDK mixes spellings
(``turn_complete`` from the deprecated ``session.send``, ``turnComplete`` from
``send_client_content``; ``mime_type`` or ``mimeType``), so every field is looked up in both.
Audio is base64 in either alphabet (the SDK uses the URL-safe one).
"""

import base64
import binascii
import functools
import json
import re
from typing import Any

from telephony.errors import ProtocolError
from twins.gemini_live.events import (
    INPUT_RATE,
    ActivityDetection,
    ActivityEnd,
    ActivityStart,
    AudioIn,
    AudioStreamEnd,
    ClientEvent,
    ContentIn,
    ContextUpdateIn,
    FunctionResponse,
    InputForm,
    JsonObject,
    MediaIn,
    Setup,
    TextIn,
    ToolResponseIn,
    Turn,
    UnknownIn,
)

_RATE = re.compile(r"rate=(\d+)")
NO_INTERRUPTION = "NO_INTERRUPTION"


class WireError(ProtocolError):
    """A client message is not valid JSON or not shaped like the protocol."""


def parse_client_message(raw: str | bytes) -> list[ClientEvent]:
    """Parse one frame into events (a ``realtime_input`` can carry several chunks)."""
    try:
        message = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WireError("client message is not JSON") from exc
    message = _object(message, "message")
    events: list[ClientEvent] = []
    unknown: list[str] = []
    for key, value in message.items():
        name = _snake(key)
        if name == "setup":
            events.append(_setup(_object(value, key)))
        elif name == "realtime_input":
            events.extend(_realtime_input(_object(value, key)))
        elif name == "client_content":
            events.append(_client_content(_object(value, key)))
        elif name == "tool_response":
            events.append(_tool_response(_object(value, key)))
        elif name == "context_update":
            events.append(ContextUpdateIn(_object(value, key)))
        else:
            unknown.append(key)
    if unknown:
        events.append(UnknownIn(tuple(unknown)))
    return events


def decode_base64(text: str) -> bytes:
    """Decode standard or URL-safe base64, padded or not."""
    normal = text.replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(normal + "=" * (-len(normal) % 4), validate=True)
    except binascii.Error as exc:
        raise WireError("invalid base64 data") from exc


@functools.lru_cache(maxsize=256)
def pcm_rate(mime_type: str) -> int | None:
    """Sample rate of an ``audio/pcm`` MIME type (16 kHz when unstated); None for other types."""
    if not mime_type.lower().startswith("audio/pcm"):
        return None
    match = _RATE.search(mime_type)
    return int(match.group(1)) if match else INPUT_RATE


def _setup(setup: JsonObject) -> Setup:
    model = _field(setup, "model")
    if not isinstance(model, str) or not model:
        raise WireError("setup without a model")
    generation = _object_field(setup, "generation_config")
    instruction = _field(setup, "system_instruction")
    resumption = _field(setup, "session_resumption")
    realtime = _object_field(setup, "realtime_input_config")
    detection = _object_field(realtime, "automatic_activity_detection")
    handle = _field(resumption, "handle") if isinstance(resumption, dict) else None
    return Setup(
        model=model.removeprefix("models/"),
        system_instruction=_content_text(instruction) if isinstance(instruction, dict) else "",
        tool_names=tuple(
            str(_field(declaration, "name"))
            for tool in _list_field(setup, "tools")
            for declaration in _list_field(tool, "function_declarations")
        ),
        response_modalities=tuple(str(m) for m in _list_field(generation, "response_modalities")),
        resumption_requested=resumption is not None,
        resumption_handle=handle if isinstance(handle, str) and handle else None,
        input_transcription=_field(setup, "input_audio_transcription") is not None,
        output_transcription=_field(setup, "output_audio_transcription") is not None,
        activity=_activity(realtime, detection),
        raw=setup,
    )


def _activity(realtime: JsonObject, detection: JsonObject) -> ActivityDetection:
    def milliseconds(name: str) -> int | None:
        value = _field(detection, name)  # an int32: a JSON number, or a string of digits
        if isinstance(value, bool) or not isinstance(value, int | str):
            return None
        return int(value) if str(value).isdigit() else None

    def name(value: object) -> str | None:
        return value.upper() if isinstance(value, str) and value else None

    return ActivityDetection(
        disabled=bool(_field(detection, "disabled")),
        start_sensitivity=name(_field(detection, "start_of_speech_sensitivity")),
        end_sensitivity=name(_field(detection, "end_of_speech_sensitivity")),
        prefix_padding_ms=milliseconds("prefix_padding_ms"),
        silence_duration_ms=milliseconds("silence_duration_ms"),
        interrupts=name(_field(realtime, "activity_handling")) != NO_INTERRUPTION,
    )


def _realtime_input(value: JsonObject) -> list[ClientEvent]:
    events: list[ClientEvent] = []
    for chunk in _list_field(value, "media_chunks"):
        events.append(_blob(_object(chunk, "mediaChunks[]"), "mediaChunks"))
    for form in ("audio", "video"):
        blob = _field(value, form)
        if blob is not None:
            events.append(_blob(_object(blob, form), form))
    text = _field(value, "text")
    if isinstance(text, str):
        events.append(TextIn(text))
    if _field(value, "activity_start") is not None:
        events.append(ActivityStart())
    if _field(value, "activity_end") is not None:
        events.append(ActivityEnd())
    if _field(value, "audio_stream_end"):
        events.append(AudioStreamEnd())
    return events


def _blob(blob: JsonObject, form: InputForm) -> AudioIn | MediaIn:
    mime_type = str(_field(blob, "mime_type") or "")
    data = _field(blob, "data")
    payload = decode_base64(data) if isinstance(data, str) else b""
    if mime_type.lower().startswith("audio/"):
        return AudioIn(payload, mime_type, pcm_rate(mime_type), form)
    return MediaIn(len(payload), mime_type, form)


def _client_content(value: JsonObject) -> ContentIn:
    turns = tuple(
        Turn(role=str(_field(turn, "role") or "user"), text=_content_text(turn))
        for turn in _list_field(value, "turns")
    )
    return ContentIn(turns, bool(_field(value, "turn_complete")))


def _tool_response(value: JsonObject) -> ToolResponseIn:
    responses = []
    for item in _list_field(value, "function_responses"):
        item = _object(item, "functionResponses[]")
        call_id = _field(item, "id")
        responses.append(
            FunctionResponse(
                id=str(call_id) if call_id is not None else None,
                name=str(_field(item, "name") or ""),
                response=_object_field(item, "response"),
            )
        )
    return ToolResponseIn(tuple(responses))


def _content_text(content: object) -> str:
    if not isinstance(content, dict):
        return ""
    parts = _list_field(content, "parts")
    return "".join(
        p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str)
    )


def _field(obj: object, snake_name: str) -> Any:
    """``obj[snake_name]`` or its camelCase spelling; None when absent or ``obj`` is no object."""
    if not isinstance(obj, dict):
        return None
    if snake_name in obj:
        return obj[snake_name]
    return obj.get(_camel(snake_name))


# Names repeat in every message: each spelling is worked out once (the caches are bounded,
# since clients choose the top-level keys).
@functools.lru_cache(maxsize=256)
def _camel(snake_name: str) -> str:
    head, *rest = snake_name.split("_")
    return head + "".join(word.capitalize() for word in rest)


@functools.lru_cache(maxsize=256)
def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _object_field(obj: JsonObject, snake_name: str) -> JsonObject:
    value = _field(obj, snake_name)
    return {} if value is None else _object(value, snake_name)


def _list_field(obj: JsonObject, snake_name: str) -> list[Any]:
    value = _field(obj, snake_name)
    return [] if value is None else _list(value, snake_name)


def _object(value: object, what: str) -> JsonObject:
    if not isinstance(value, dict):
        raise WireError(f"{what} is not a JSON object")
    return value


def _list(value: object, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise WireError(f"{what} is not a JSON array")
    return value
