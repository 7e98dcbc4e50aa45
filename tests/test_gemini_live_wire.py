"""The Live API wire format: client JSON -> typed events; server messages the SDK accepts."""

import base64
import json
from collections.abc import Mapping

import pytest
from google.genai import types
from hypothesis import given
from hypothesis import strategies as st

from twins.gemini_live import messages
from twins.gemini_live.events import (
    ActivityEnd,
    ActivityStart,
    AudioIn,
    AudioStreamEnd,
    ContentIn,
    ContextUpdateIn,
    FunctionResponse,
    JsonObject,
    MediaIn,
    ModelStyle,
    Setup,
    TextIn,
    ToolResponseIn,
    Turn,
    UnknownIn,
)
from twins.gemini_live.wire import WireError, decode_base64, parse_client_message, pcm_rate

PCM = bytes(range(256)) * 4  # contains bytes that differ between the base64 alphabets

# What google-genai 2.34 sends for an ADK agent with one tool and session resumption.
ADK_SETUP = {
    "setup": {
        "model": "models/gemini-2.5-flash-native-audio-preview-09-2025",
        "generationConfig": {"responseModalities": ["AUDIO"]},
        "systemInstruction": {"parts": [{"text": "Be brief."}], "role": "system"},
        "tools": [
            {
                "functionDeclarations": [
                    {
                        "description": "Look up an order.",
                        "name": "lookup_order",
                        "parameters_json_schema": {"type": "object"},
                    }
                ]
            }
        ],
        "sessionResumption": {},
        "inputAudioTranscription": {},
        "outputAudioTranscription": {},
    }
}


def parse_one(message: Mapping[str, object]) -> object:
    events = parse_client_message(json.dumps(message))
    assert len(events) == 1
    return events[0]


def test_setup_from_adk_is_parsed() -> None:
    setup = parse_one(ADK_SETUP)

    assert isinstance(setup, Setup)
    assert setup.model == "gemini-2.5-flash-native-audio-preview-09-2025"
    assert setup.style is ModelStyle.LIVE_25
    assert setup.system_instruction == "Be brief."
    assert setup.tool_names == ("lookup_order",)
    assert setup.response_modalities == ("AUDIO",)
    assert setup.resumption_requested
    assert setup.resumption_handle is None
    assert setup.input_transcription
    assert setup.output_transcription
    assert setup.automatic_activity_detection


def test_setup_with_handle_and_client_side_vad() -> None:
    setup = parse_one(
        {
            "setup": {
                "model": "models/gemini-3.1-flash-live-preview",
                "sessionResumption": {"handle": "h-1"},
                "realtimeInputConfig": {"automatic_activity_detection": {"disabled": True}},
            }
        }
    )

    assert isinstance(setup, Setup)
    assert setup.style is ModelStyle.LIVE_3X
    assert setup.resumption_handle == "h-1"
    assert not setup.automatic_activity_detection
    assert not setup.input_transcription


@pytest.mark.parametrize(
    ("model", "style"),
    [
        ("gemini-2.5-flash-native-audio-preview-09-2025", ModelStyle.LIVE_25),
        ("gemini-live-2.5-flash-preview", ModelStyle.LIVE_25),
        ("models/gemini-3.1-flash-live-preview", ModelStyle.LIVE_3X),
        ("gemini-3.0-live", ModelStyle.LIVE_3X),
        ("gemini-3.1-pro-preview", ModelStyle.LIVE_25),
    ],
)
def test_model_style_follows_the_name(model: str, style: ModelStyle) -> None:
    assert ModelStyle.of(model) is style


def test_media_chunks_in_url_safe_base64() -> None:
    data = base64.urlsafe_b64encode(PCM).decode()
    event = parse_one(
        {"realtime_input": {"mediaChunks": [{"data": data, "mime_type": "audio/pcm;rate=16000"}]}}
    )

    assert event == AudioIn(PCM, "audio/pcm;rate=16000", 16000, "mediaChunks")


def test_audio_in_standard_base64_with_camel_case_mime_type() -> None:
    data = base64.b64encode(PCM).decode()
    event = parse_one(
        {"realtimeInput": {"audio": {"data": data, "mimeType": "audio/pcm;rate=24000"}}}
    )

    assert event == AudioIn(PCM, "audio/pcm;rate=24000", 24000, "audio")


def test_several_media_chunks_and_an_image() -> None:
    data = base64.b64encode(b"\x00\x00").decode()
    events = parse_client_message(
        json.dumps(
            {
                "realtime_input": {
                    "mediaChunks": [
                        {"data": data, "mime_type": "audio/pcm"},
                        {"data": data, "mime_type": "image/jpeg"},
                    ]
                }
            }
        )
    )

    assert events == [
        AudioIn(b"\x00\x00", "audio/pcm", 16000, "mediaChunks"),
        MediaIn(2, "image/jpeg", "mediaChunks"),
    ]


@pytest.mark.parametrize(
    ("realtime_input", "event"),
    [
        ({"text": "hello"}, TextIn("hello")),
        ({"activityStart": {}}, ActivityStart()),
        ({"activityEnd": {}}, ActivityEnd()),
        ({"audioStreamEnd": True}, AudioStreamEnd()),
    ],
)
def test_realtime_signals(realtime_input: dict[str, object], event: object) -> None:
    assert parse_one({"realtime_input": realtime_input}) == event


@pytest.mark.parametrize("key", ["turn_complete", "turnComplete"])
def test_client_content_in_both_spellings(key: str) -> None:
    turns = [{"parts": [{"text": "Hi"}, {"text": " there"}], "role": "user"}]
    event = parse_one({"client_content": {"turns": turns, key: True}})

    assert event == ContentIn((Turn("user", "Hi there"),), turn_complete=True)


def test_client_content_without_turn_complete_is_not_complete() -> None:
    event = parse_one({"client_content": {"turns": [{"parts": [{"text": "x"}], "role": "model"}]}})

    assert event == ContentIn((Turn("model", "x"),), turn_complete=False)


def test_tool_response() -> None:
    event = parse_one(
        {
            "tool_response": {
                "functionResponses": [
                    {"id": "c1", "name": "lookup_order", "response": {"status": "shipped"}}
                ]
            }
        }
    )

    assert event == ToolResponseIn((FunctionResponse("c1", "lookup_order", {"status": "shipped"}),))


def test_context_update() -> None:
    update = {"systemInstruction": {"parts": [{"text": "Be terse."}]}}

    assert parse_one({"contextUpdate": update}) == ContextUpdateIn(update)


def test_unknown_top_level_key() -> None:
    assert parse_one({"bogus": {}}) == UnknownIn(("bogus",))


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[1, 2]",
        '{"setup": []}',
        '{"setup": {"model": ""}}',
        '{"realtime_input": {"audio": {"data": "@@@", "mimeType": "audio/pcm"}}}',
        '{"client_content": {"turns": {}}}',
    ],
)
def test_malformed_messages_are_wire_errors(raw: str) -> None:
    with pytest.raises(WireError):
        parse_client_message(raw)


@given(st.binary(max_size=300), st.booleans(), st.booleans())
def test_base64_in_either_alphabet_with_or_without_padding(
    data: bytes, url_safe: bool, padded: bool
) -> None:
    text = (base64.urlsafe_b64encode if url_safe else base64.b64encode)(data).decode()
    assert decode_base64(text if padded else text.rstrip("=")) == data


@pytest.mark.parametrize(
    ("mime_type", "rate"),
    [
        ("audio/pcm;rate=16000", 16000),
        ("audio/pcm; rate=8000", 8000),
        ("audio/pcm", 16000),
        ("audio/ogg", None),
    ],
)
def test_pcm_rate(mime_type: str, rate: int | None) -> None:
    assert pcm_rate(mime_type) == rate


# --- server messages ---------------------------------------------------------------------------

SERVER_MESSAGES = {
    "setup_complete": messages.setup_complete("s-1"),
    "model_audio": messages.model_audio(PCM),
    "input_transcription": messages.input_transcription(" my order"),
    "final_input_transcription": messages.input_transcription("my order", finished=True),
    "output_transcription": messages.output_transcription(" Sure"),
    "generation_complete": messages.generation_complete(),
    "turn_complete": messages.turn_complete(),
    "turn_complete_with_usage": messages.turn_complete(messages.Usage(10, 96, 64)),
    "interrupted": messages.interrupted(),
    "tool_call": messages.tool_call(
        [messages.FunctionCall("c1", "lookup_order", {"order_id": "A1"})]
    ),
    "session_resumption_update": messages.session_resumption_update("h-1"),
    "not_resumable": messages.session_resumption_update(None),
    "go_away": messages.go_away(1.5),
    "tool_call_cancellation": messages.tool_call_cancellation(["c1", "c2"]),
    "audio_parts": messages.model_turn([PCM, PCM, PCM]),
    "audio_with_the_end_of_the_turn": messages.model_turn(
        [PCM],
        generation_complete=True,
        turn_complete=True,
        usage=messages.Usage(10, 96, 64),
        interaction_status=messages.IDLE,
    ),
    "audio_with_usage": messages.model_turn([PCM], usage=messages.Usage(1, 2, 3)),
    "turn_complete_with_status": messages.turn_complete(interaction_status=messages.IDLE),
}


@pytest.mark.parametrize("message", SERVER_MESSAGES.values(), ids=SERVER_MESSAGES.keys())
def test_server_messages_are_valid_for_the_sdk(message: JsonObject) -> None:
    parsed = types.LiveServerMessage.model_validate_json(messages.encode(message))

    assert parsed.model_dump(exclude_none=True)  # the SDK forbids unknown fields


def test_model_audio_round_trips_through_the_sdk() -> None:
    parsed = types.LiveServerMessage.model_validate_json(messages.encode(messages.model_audio(PCM)))

    assert parsed.server_content is not None
    assert parsed.server_content.model_turn is not None
    assert parsed.server_content.model_turn.parts is not None
    blob = parsed.server_content.model_turn.parts[0].inline_data
    assert blob is not None
    assert blob.data == PCM
    assert blob.mime_type == "audio/pcm;rate=24000"


def test_usage_adds_up() -> None:
    parsed = types.LiveServerMessage.model_validate_json(
        messages.encode(messages.turn_complete(messages.Usage(10, 96, 64)))
    )

    usage = parsed.usage_metadata
    assert usage is not None
    assert (usage.prompt_token_count, usage.response_token_count) == (106, 64)
    assert usage.total_token_count == 170


@pytest.mark.parametrize(("seconds", "text"), [(10, "10s"), (1.5, "1.5s"), (0.25, "0.25s")])
def test_go_away_time_left_is_a_duration(seconds: float, text: str) -> None:
    assert messages.go_away(seconds) == {"goAway": {"timeLeft": text}}
