"""ADK's events mean what the socket's messages mean (``AdkEventReader``)."""

from google.adk.events import Event
from google.genai import types

from telephony.live.events import AdkEventReader
from telephony.live.wire import ModelMessage


def event(**fields: object) -> Event:
    return Event(author="agent", invocation_id="i", **fields)  # type: ignore[arg-type]


def heard(text: str, *, finished: bool) -> Event:
    return event(input_transcription=types.Transcription(text=text, finished=finished))


def said(text: str, *, finished: bool) -> Event:
    return event(output_transcription=types.Transcription(text=text, finished=finished))


def test_audio_interruptions_and_turn_ends_come_through() -> None:
    audio = types.Part(inline_data=types.Blob(data=b"\x01\x02", mime_type="audio/pcm;rate=24000"))
    reader = AdkEventReader()
    found = reader.read(event(content=types.Content(role="model", parts=[audio])))
    assert found == ModelMessage(audio=[b"\x01\x02"])
    assert reader.read(event(interrupted=True)) == ModelMessage(interrupted=True)
    assert reader.read(event(turn_complete=True)) == ModelMessage(turn_complete=True)


def test_an_aggregate_after_fragments_only_ends_the_utterance() -> None:
    reader = AdkEventReader()
    assert reader.read(heard("I'd like", finished=False)) == ModelMessage(input_text="I'd like")
    assert reader.read(heard(" a visit", finished=False)) == ModelMessage(input_text=" a visit")
    # ADK repeats the whole utterance when it flushes: the call has the words already.
    ended = reader.read(heard("I'd like a visit", finished=True))
    assert ended == ModelMessage(input_finished=True)


def test_a_finished_transcription_without_fragments_is_the_utterance_itself() -> None:
    reader = AdkEventReader()  # Gemini 3.x Live: every input transcription comes whole
    found = reader.read(heard("Hello there.", finished=True))
    assert found == ModelMessage(input_text="Hello there.", input_finished=True)
    # The next utterance starts afresh.
    assert reader.read(heard("Bye.", finished=True)) == ModelMessage(
        input_text="Bye.", input_finished=True
    )


def test_the_agents_aggregate_is_dropped_after_its_fragments() -> None:
    reader = AdkEventReader()
    assert reader.read(said("Good", finished=False)) == ModelMessage(output_text="Good")
    assert reader.read(said("Good", finished=True)) is None
    assert reader.read(said("Whole.", finished=True)) == ModelMessage(output_text="Whole.")


def test_events_with_nothing_for_the_call_are_none() -> None:
    reader = AdkEventReader()
    call = types.Part(function_call=types.FunctionCall(name="opening_hours", args={}))
    assert reader.read(event(content=types.Content(role="model", parts=[call]))) is None
    assert reader.read(event()) is None
