"""When the caller's utterance ends, and what it said: pure rules, no I/O.

The model transcribes the caller in fragments while they speak, and never says plainly "the
caller has finished": the utterance is over when the model says its transcription is finished,
when every transcription is whole (Gemini 3.x Live sends one per utterance), or when the model
moves on: it interrupts itself (``interrupted``), finishes generating its reply
(``generationComplete``) or ends its turn (``turnComplete``). These are the rules ADK applies
to its own transcription events; the call applies them to every message, whichever way it came.
"""

from dataclasses import dataclass, field

from telephony.live.wire import ModelMessage


@dataclass(frozen=True, slots=True)
class Utterance:
    """One finished utterance of the caller, timed on the call's clock."""

    text: str
    start_ms: int
    end_ms: int


def utterance_ends(message: ModelMessage, *, whole_transcripts: bool) -> bool:
    """Whether ``message`` closes the caller's utterance (after its own fragment, if any)."""
    return (
        message.input_finished
        or (whole_transcripts and bool(message.input_text))
        or message.interrupted
        or message.generation_complete
        or message.turn_complete
    )


@dataclass(slots=True)
class CallerTurns:
    """The caller's utterance being transcribed."""

    _fragments: list[str] = field(default_factory=list)
    _start_ms: int | None = None
    _end_ms: int | None = None

    @property
    def speaking(self) -> bool:
        """An utterance has begun and is not closed yet."""
        return self._start_ms is not None

    def heard(self, fragment: str, now_ms: int) -> bool:
        """A fragment of transcription arrived; True when it begins a new utterance."""
        began = self._start_ms is None
        if began:
            self._start_ms = now_ms
        self._fragments.append(fragment)
        self._end_ms = now_ms
        return began

    def close(self, now_ms: int) -> Utterance | None:
        """End the utterance; None when nothing was said since the last one."""
        if self._start_ms is None:
            return None
        text = "".join(self._fragments).strip()
        utterance = Utterance(text, self._start_ms, self._end_ms or now_ms)
        self._fragments.clear()
        self._start_ms = self._end_ms = None
        return utterance if text else None
