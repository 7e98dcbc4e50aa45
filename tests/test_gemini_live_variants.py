"""Valid message shapes beyond one field per message, as the emulator sends them on request;
every message received is checked with google-genai's own parser."""

import pytest
from google.genai import types

from tests.test_gemini_live_server import (
    MODEL_3X,
    MODEL_25,
    Message,
    audio_messages,
    is_turn_complete,
    raw_client,
)
from twins.gemini_live import EmulatorConfig, LiveEmulator, Pacing, WireVariants
from twins.gemini_live.messages import (
    IDLE,
    Usage,
    encode,
    model_turn,
    session_resumption_update,
    tool_call_cancellation,
)

ALL = WireVariants(audio_parts=3, flags_with_last_audio=True, usage_with_audio=True)
PCM = bytes(range(256)) * 4
BURSTS = Pacing(speed=50.0, burst_ms=200, burst_range_ms=(200, 400))


def test_variants_mean_to_the_sdk_what_they_say() -> None:
    parsed = types.LiveServerMessage.model_validate_json(
        encode(
            model_turn(
                [PCM],
                generation_complete=True,
                turn_complete=True,
                usage=Usage(10, 96, 64),
                interaction_status=IDLE,
            )
        )
    )

    content = parsed.server_content
    assert content is not None
    assert content.model_turn is not None
    assert content.model_turn.parts is not None
    assert len(content.model_turn.parts) == 1
    assert (content.generation_complete, content.turn_complete) == (True, True)
    assert content.interaction_status is types.InteractionStatus.IDLE
    assert parsed.usage_metadata is not None
    cancellation = types.LiveServerMessage.model_validate_json(
        encode(tool_call_cancellation(["c1", "c2"]))
    ).tool_call_cancellation
    assert cancellation is not None
    assert cancellation.ids == ["c1", "c2"]
    update = types.LiveServerMessage.model_validate_json(
        encode(session_resumption_update(None))
    ).session_resumption_update
    assert update is not None
    assert (update.new_handle, update.resumable) == (None, None)


def parsed(received: list[Message]) -> list[types.LiveServerMessage]:
    return [types.LiveServerMessage.model_validate_json(encode(m)) for m in received]


async def one_turn(config: EmulatorConfig, model: str, words: int = 12) -> list[Message]:
    async with LiveEmulator(config) as emulator, raw_client(emulator) as client:
        emulator.script.next_reply(words=words)
        await client.setup(model, outputAudioTranscription={})
        await client.say("Hello?")
        return await client.recv_until(is_turn_complete)


@pytest.mark.parametrize("model", [MODEL_25, MODEL_3X], ids=["2.5", "3.x"])
async def test_the_end_of_the_turn_and_usage_ride_on_the_last_audio(model: str) -> None:
    config = EmulatorConfig.idealised(pacing=BURSTS, wire=ALL)
    received = await one_turn(config, model)

    messages = parsed(received)
    last = messages[-1]
    assert last.server_content is not None
    assert last.server_content.model_turn is not None
    assert last.server_content.generation_complete and last.server_content.turn_complete
    assert last.usage_metadata is not None
    assert max(len(m["serverContent"]["modelTurn"]["parts"]) for m in audio_messages(received)) > 1
    assert sum(m.usage_metadata is not None for m in messages) == 1


async def test_a_delayed_turn_complete_comes_on_its_own() -> None:
    pacing = Pacing(speed=50.0, burst_ms=200, turn_complete_after_playback=True)
    config = EmulatorConfig.idealised(pacing=pacing, wire=ALL)
    received = await one_turn(config, MODEL_25)

    messages = parsed(received)
    last_audio = messages[received.index(audio_messages(received)[-1])]
    assert last_audio.server_content is not None
    assert last_audio.server_content.generation_complete
    assert not last_audio.server_content.turn_complete
    assert last_audio.usage_metadata is not None  # usage with the audio, as asked
    assert list(received[-1]) == ["serverContent"]  # turnComplete alone


@pytest.mark.parametrize(("model", "status"), [(MODEL_25, None), (MODEL_3X, "IDLE")])
async def test_3x_models_report_the_interaction_status_with_turn_complete(
    model: str, status: str | None
) -> None:
    config = EmulatorConfig.idealised(
        pacing=Pacing.unpaced(), wire=WireVariants(interaction_status=True)
    )
    received = await one_turn(config, model)

    content = parsed(received)[-1].server_content
    assert content is not None
    assert content.turn_complete
    found = content.interaction_status
    assert (found.value if found is not None else None) == status


async def test_a_realistic_turn_parses_message_by_message() -> None:
    config = EmulatorConfig.realistic(pacing=Pacing.realistic(speed=50.0), reply_latency_ms=0)
    for model in (MODEL_25, MODEL_3X):
        received = await one_turn(config, model, words=3)
        assert all(m.model_dump(exclude_none=True) for m in parsed(received))
