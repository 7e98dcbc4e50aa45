"""Live API messages the call reads itself: audio taken out, the rest left for google-genai."""

import base64
import json

import pytest

from telephony.live.wire import AudioMessages, split_server_message

PCM = bytes(range(256)) * 4


def audio_part(data: bytes, *, urlsafe: bool = False) -> dict[str, object]:
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    return {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": encode(data).decode()}}


def test_an_audio_only_message_is_consumed_whole() -> None:
    raw = json.dumps({"serverContent": {"modelTurn": {"parts": [audio_part(PCM)]}}}).encode()
    message, rest = split_server_message(raw)
    assert message is not None
    assert message.audio == [PCM]
    assert rest is None


@pytest.mark.parametrize("urlsafe", [False, True])
def test_both_base64_alphabets_are_read(urlsafe: bool) -> None:
    raw = json.dumps(
        {"serverContent": {"modelTurn": {"parts": [audio_part(PCM, urlsafe=urlsafe)]}}}
    )
    message, _ = split_server_message(raw)
    assert message is not None
    assert message.audio == [PCM]


def test_what_is_not_audio_stays_for_google_genai() -> None:
    message = {
        "serverContent": {
            "modelTurn": {"parts": [audio_part(PCM), {"text": "a thought"}]},
            "turnComplete": True,
        },
        "usageMetadata": {"totalTokenCount": 7},
    }
    found, rest = split_server_message(json.dumps(message))
    assert found is not None
    assert found.audio == [PCM]
    assert found.turn_complete
    assert rest is not None
    assert json.loads(rest) == {
        "serverContent": {"modelTurn": {"parts": [{"text": "a thought"}]}, "turnComplete": True},
        "usageMetadata": {"totalTokenCount": 7},
    }


def test_a_message_without_audio_passes_unchanged_with_its_signals() -> None:
    raw = json.dumps(
        {
            "serverContent": {
                "inputTranscription": {"text": "I'd like", "finished": True},
                "outputTranscription": {"text": "Sure"},
                "interrupted": True,
                "generationComplete": True,
            }
        }
    ).encode()
    message, rest = split_server_message(raw)
    assert rest is raw
    assert message is not None
    assert (message.input_text, message.input_finished) == ("I'd like", True)
    assert message.output_text == "Sure"
    assert message.interrupted
    assert message.generation_complete
    assert not message.turn_complete
    assert message.audio == []


@pytest.mark.parametrize(
    "message",
    [
        {"setupComplete": {}},
        {"toolCall": {"functionCalls": [{"id": "1", "name": "f", "args": {}}]}},
        {"sessionResumptionUpdate": {"newHandle": "h", "resumable": True}},
        {"goAway": {"timeLeft": "50s"}},
    ],
)
def test_other_messages_are_none_of_the_calls_business(message: dict[str, object]) -> None:
    raw = json.dumps(message)
    assert split_server_message(raw) == (None, raw)


def test_garbage_is_an_error() -> None:
    with pytest.raises(ValueError, match="Expecting value"):  # json's own error
        split_server_message('{"serverContent": ')
    bad_audio = {
        "serverContent": {
            "modelTurn": {"parts": [{"inlineData": {"mimeType": "audio/pcm", "data": "@@"}}]}
        }
    }
    with pytest.raises(ValueError, match="base64"):
        split_server_message(json.dumps(bad_audio))


@pytest.mark.parametrize(("audio_field", "key"), [(False, "mediaChunks"), (True, "audio")])
def test_caller_audio_messages_decode_to_the_pcm(audio_field: bool, key: str) -> None:
    message = json.loads(AudioMessages(audio_field=audio_field).audio(PCM))
    blob = message["realtime_input"][key]
    blob = blob[0] if isinstance(blob, list) else blob
    assert base64.urlsafe_b64decode(blob["data"]) == PCM
    assert blob["mime_type"] == "audio/pcm;rate=16000"


@pytest.mark.parametrize(
    "update",
    [{}, {"resumable": False}, {"newHandle": "", "resumable": True}, {"newHandle": "h"}],
)
def test_an_update_without_a_resumable_handle_is_kept_from_adk(update: dict[str, object]) -> None:
    # ADK would store its empty handle over the last good one and could not resume a drop.
    raw = json.dumps({"sessionResumptionUpdate": update})
    assert split_server_message(raw) == (None, None)
    assert split_server_message(raw.encode()) == (None, None)
