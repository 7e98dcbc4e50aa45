"""Client -> server messages of the BidiGenerateContent protocol, as typed values.

``wire.parse_client_message`` produces them; the session reacts to them. ``ModelStyle`` names the
two generations of Live model whose clients use different wire forms.
"""

import enum
from dataclasses import dataclass
from typing import Any, Literal

JsonObject = dict[str, Any]

INPUT_RATE = 16000
OUTPUT_RATE = 24000
OUTPUT_MIME_TYPE = f"audio/pcm;rate={OUTPUT_RATE}"


class ModelStyle(enum.Enum):
    """Which generation of Live model a name denotes; the client's wire form depends on it."""

    LIVE_25 = "2.5"
    """``gemini-2.5-*``, ``gemini-live-2.5-*``: audio in ``mediaChunks``, text as content."""
    LIVE_3X = "3.x"
    """``gemini-3.*-live*``: ``realtime_input.audio`` and ``realtime_input.text``."""

    @classmethod
    def of(cls, model: str) -> "ModelStyle":
        """Classify a model name the way google-adk does (``models/`` prefix allowed)."""
        name = model.removeprefix("models/")
        live_3x = name.startswith("gemini-3.") and "-live" in name
        return cls.LIVE_3X if live_3x else cls.LIVE_25


InputForm = Literal["mediaChunks", "audio", "video"]


@dataclass(frozen=True)
class ActivityDetection:
    """``setup.realtimeInputConfig``: how the server detects the caller's speech.

    Sensitivities are the enum names (``START_SENSITIVITY_LOW``...); None where not given.
    ``interrupts``: False with ``activityHandling: NO_INTERRUPTION`` (speech does not barge in).
    """

    disabled: bool = False
    start_sensitivity: str | None = None
    end_sensitivity: str | None = None
    prefix_padding_ms: int | None = None
    silence_duration_ms: int | None = None
    interrupts: bool = True


@dataclass(frozen=True)
class Setup:
    """The first message: model, generation config, tools and session options."""

    model: str
    system_instruction: str
    tool_names: tuple[str, ...]
    response_modalities: tuple[str, ...]
    resumption_requested: bool
    resumption_handle: str | None
    input_transcription: bool
    output_transcription: bool
    activity: ActivityDetection
    raw: JsonObject

    @property
    def style(self) -> ModelStyle:
        return ModelStyle.of(self.model)

    @property
    def automatic_activity_detection(self) -> bool:
        return not self.activity.disabled


@dataclass(frozen=True)
class AudioIn:
    """A chunk of caller audio. ``rate`` is None when the MIME type is not PCM."""

    data: bytes
    mime_type: str
    rate: int | None
    form: InputForm


@dataclass(frozen=True)
class MediaIn:
    """A non-audio realtime blob (an image or video frame): kept only as a count."""

    size: int
    mime_type: str
    form: InputForm


@dataclass(frozen=True)
class TextIn:
    """``realtime_input.text``."""

    text: str


@dataclass(frozen=True)
class ActivityStart:
    """``realtime_input.activityStart``: the client's own VAD says speech began."""


@dataclass(frozen=True)
class ActivityEnd:
    """``realtime_input.activityEnd``."""


@dataclass(frozen=True)
class AudioStreamEnd:
    """``realtime_input.audioStreamEnd``: flush, no more audio for now."""


@dataclass(frozen=True)
class Turn:
    role: str
    text: str


@dataclass(frozen=True)
class ContentIn:
    """``client_content``: turns (their text only) and whether the client's turn is over."""

    turns: tuple[Turn, ...]
    turn_complete: bool


@dataclass(frozen=True)
class FunctionResponse:
    id: str | None
    name: str
    response: JsonObject


@dataclass(frozen=True)
class ToolResponseIn:
    """``tool_response``."""

    responses: tuple[FunctionResponse, ...]


@dataclass(frozen=True)
class ContextUpdateIn:
    """``context_update``: new system instruction or tools mid-session (recorded, no effect)."""

    raw: JsonObject


@dataclass(frozen=True)
class UnknownIn:
    """A message whose top-level keys the protocol does not define."""

    keys: tuple[str, ...]


ClientEvent = (
    Setup
    | AudioIn
    | MediaIn
    | TextIn
    | ActivityStart
    | ActivityEnd
    | AudioStreamEnd
    | ContentIn
    | ToolResponseIn
    | ContextUpdateIn
    | UnknownIn
)
