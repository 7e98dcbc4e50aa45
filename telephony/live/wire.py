"""The Live API messages the call reads and writes itself, as pure translation (no I/O).

Outbound: caller audio as ``realtime_input``, exactly as google-genai writes it. Inbound: what a
server message holds for the call (``ModelMessage``: model audio, transcriptions,
``interrupted``, turn ends), and the same message with its audio taken out, for google-genai and
ADK to process as usual. See ``link.py`` for why the call does this itself.
"""

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

MODEL_INPUT_MIME = "audio/pcm;rate=16000"


class AudioMessages:
    """Builds the ``realtime_input`` message google-genai's ``send_realtime_input`` writes."""

    __slots__ = ("_prefix", "_suffix")

    def __init__(self, *, audio_field: bool) -> None:
        """``audio_field``: the form of Gemini 3.x Live models (``audio``), else ``mediaChunks``."""
        blob_end = f'", "mime_type": "{MODEL_INPUT_MIME}"}}'
        if audio_field:
            self._prefix = '{"realtime_input": {"audio": {"data": "'
            self._suffix = blob_end + "}}"
        else:
            self._prefix = '{"realtime_input": {"mediaChunks": [{"data": "'
            self._suffix = blob_end + "]}}"

    def audio(self, pcm: bytes) -> str:
        """The message carrying 16 kHz PCM16 ``pcm`` (URL-safe base64, as google-genai uses)."""
        return self._prefix + base64.urlsafe_b64encode(pcm).decode() + self._suffix


@dataclass(slots=True)
class ModelMessage:
    """What one message from the model holds for the call, in the order the call acts on it.

    The call receives these whichever way the message travelled: read off the model's socket
    (``split_server_message``) or translated from ADK's events (``events.py``).
    """

    interrupted: bool = False
    audio: list[bytes] = field(default_factory=list)
    """24 kHz PCM16 chunks of the agent's voice."""
    output_text: str = ""
    """A new fragment of the transcription of the agent's voice."""
    input_text: str = ""
    """A new fragment of the transcription of the caller's voice."""
    input_finished: bool = False
    """The model says the caller's utterance is complete."""
    generation_complete: bool = False
    turn_complete: bool = False


def split_server_message(raw: bytes | str) -> tuple[ModelMessage | None, bytes | str | None]:
    """Take the model's audio out of a raw server message.

    Returns what the message holds for the call (None if nothing) and the message google-genai
    should still see: ``raw`` itself when nothing was taken out, a smaller message when audio
    was, or None when nothing is left. Raises ``ValueError`` for a message that is not JSON.
    """
    marker: bytes | str = b'"serverContent"' if isinstance(raw, bytes) else '"serverContent"'
    if marker not in raw:  # type: ignore[operator]
        if _is_unresumable_update(raw):
            return None, None
        return None, raw  # setup, tool calls, usage, goAway, handles: not the call's business
    message = json.loads(raw)
    content = message.get("serverContent") if isinstance(message, dict) else None
    if not isinstance(content, dict):
        return None, raw
    found = ModelMessage(
        interrupted=content.get("interrupted") is True,
        generation_complete=content.get("generationComplete") is True,
        turn_complete=content.get("turnComplete") is True,
    )
    _read_transcriptions(content, found)
    took_audio = _take_audio(content, found)
    if not took_audio:
        return found, raw
    if not content:
        del message["serverContent"]
    return found, (json.dumps(message) if message else None)


def _is_unresumable_update(raw: bytes | str) -> bool:
    """True for a ``sessionResumptionUpdate`` that carries no handle to resume with.

    While the model generates or runs a tool, the service says ``resumable: false`` with no
    handle (proto3 JSON: often ``{}``). ADK stores every update's handle, the empty one too, so
    a connection that drops mid-reply would find no handle and could not resume at all. Such an
    update is kept from ADK: it keeps the last handle that can resume, as the service intends.
    """
    marker: bytes | str = (
        b'"sessionResumptionUpdate"' if isinstance(raw, bytes) else ('"sessionResumptionUpdate"')
    )
    if marker not in raw:  # type: ignore[operator]
        return False
    message = json.loads(raw)
    if not isinstance(message, dict) or set(message) != {"sessionResumptionUpdate"}:
        return False
    update = message["sessionResumptionUpdate"]
    if not isinstance(update, dict):
        return False
    return not (update.get("resumable") is True and update.get("newHandle"))


def _read_transcriptions(content: dict[str, Any], found: ModelMessage) -> None:
    output = content.get("outputTranscription")
    if isinstance(output, dict):
        found.output_text = str(output.get("text") or "")
    heard = content.get("inputTranscription")
    if isinstance(heard, dict):
        found.input_text = str(heard.get("text") or "")
        found.input_finished = heard.get("finished") is True


def _take_audio(content: dict[str, Any], found: ModelMessage) -> bool:
    """Move audio parts from ``content`` into ``found``; True if any were moved."""
    turn = content.get("modelTurn")
    if not isinstance(turn, dict):
        return False
    parts = turn.get("parts")
    if not isinstance(parts, list):
        return False
    kept = []
    for part in parts:
        blob = part.get("inlineData") if isinstance(part, dict) else None
        if isinstance(blob, dict) and str(blob.get("mimeType", "")).startswith("audio/"):
            found.audio.append(_decode(str(blob.get("data", ""))))
        else:
            kept.append(part)
    if len(kept) == len(parts):
        return False
    if kept:
        turn["parts"] = kept
    else:
        del content["modelTurn"]
    return True


def _decode(data: str) -> bytes:
    """Base64 in either alphabet, as the Live API may send it (standard first: no copy)."""
    try:
        return binascii.a2b_base64(data, strict_mode=True)
    except binascii.Error:
        pass
    try:
        return base64.b64decode(data, altchars=b"-_", validate=True)
    except binascii.Error as exc:
        raise ValueError("model audio is not valid base64") from exc
