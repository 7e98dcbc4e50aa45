"""ADK's events, translated into the ``ModelMessage`` the call acts on.

Used when the direct line does not carry the model's messages (see ``link.py``): the call then
plays ADK's events, and they must mean exactly what the socket's messages mean. Two differences
are ironed out here, so that one handler serves both paths:

- ADK sends each transcription twice: as partial fragments while they stream, then once more
  aggregated with ``finished=True``. The aggregate repeats the fragments, so it is dropped when
  fragments came before it; a finished transcription with no fragments before it (Gemini 3.x
  Live sends each input transcription whole) is a fragment in its own right.
- A finished input transcription ends the caller's utterance (``input_finished``).
"""

from google.adk.events import Event

from telephony.live.wire import ModelMessage


class AdkEventReader:
    """Translates one live session's ADK events, in order (it keeps the fragments' state)."""

    def __init__(self) -> None:
        self._input_fragments = False
        self._output_fragments = False

    def read(self, event: Event) -> ModelMessage | None:
        """What ``event`` holds for the call, or None (tool calls, usage, state: ADK's own)."""
        message = ModelMessage(
            interrupted=bool(event.interrupted), turn_complete=bool(event.turn_complete)
        )
        if event.content is not None and event.content.parts:
            for part in event.content.parts:
                blob = part.inline_data
                if blob is not None and blob.data and (blob.mime_type or "").startswith("audio/"):
                    message.audio.append(blob.data)
        if (out := event.output_transcription) is not None and out.text:
            message.output_text, self._output_fragments = _fragment(
                out.text, bool(out.finished), self._output_fragments
            )
        if (heard := event.input_transcription) is not None and heard.text:
            message.input_text, self._input_fragments = _fragment(
                heard.text, bool(heard.finished), self._input_fragments
            )
            message.input_finished = bool(heard.finished)
        if message == _NOTHING:
            return None
        return message


_NOTHING = ModelMessage()


def _fragment(text: str, finished: bool, after_fragments: bool) -> tuple[str, bool]:
    """The new text of a transcription event, and whether fragments are now pending."""
    if not finished:
        return text, True
    return ("" if after_fragments else text), False
