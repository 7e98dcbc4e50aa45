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
    """The caller's utterance being transcribed, and the last one closed but not yet stored.

    The last fragment of an utterance can arrive after the model moved on (after
    ``generationComplete``, even after its reply began to play): transcriptions have no ordering
    guarantee with the model's turn. So a closed utterance stays open to amendment until it is
    taken for the transcript (``take``: when the reply that answers it is stored, when the caller
    barges in, at the end of the call) or until the caller starts speaking again
    (``caller_spoke``, from the call's own voice detection): fragments that come before either
    belong to it, not to a new utterance.
    """

    _fragments: list[str] = field(default_factory=list)
    _start_ms: int | None = None
    _end_ms: int | None = None
    _closed: Utterance | None = None
    _spoke_since_close: bool = False

    @property
    def speaking(self) -> bool:
        """An utterance has begun and is not closed yet."""
        return self._start_ms is not None

    @property
    def closed_text(self) -> str | None:
        """What the closed utterance said, while it waits to be taken."""
        return self._closed.text if self._closed is not None else None

    def caller_spoke(self) -> None:
        """The caller started speaking: a fragment from now on begins a new utterance."""
        self._spoke_since_close = True

    def heard(self, fragment: str, now_ms: int, *, may_amend: bool = True) -> Utterance | None:
        """A fragment of transcription arrived.

        Returns the closed utterance when this fragment begins a new one (store it now, before
        the new one); a late fragment of the closed utterance amends it instead (unless
        ``may_amend`` is false: whole transcriptions are never late parts of another).
        """
        closed = self._closed
        late = self._start_ms is None and may_amend and not self._spoke_since_close
        if late and closed is not None:
            text = (closed.text + fragment).strip() if fragment.strip() else closed.text
            self._closed = Utterance(text, closed.start_ms, now_ms)
            return None
        ready = None
        if self._start_ms is None:
            ready, self._closed = self._closed, None
            self._start_ms = now_ms
        self._fragments.append(fragment)
        self._end_ms = now_ms
        return ready

    def close(self, now_ms: int) -> None:
        """End the utterance being transcribed; it waits (amendable) until taken."""
        if self._start_ms is None:
            return
        text = "".join(self._fragments).strip()
        utterance = Utterance(text, self._start_ms, self._end_ms or now_ms)
        self._fragments.clear()
        self._start_ms = self._end_ms = None
        if text:
            self._closed = utterance
            self._spoke_since_close = False

    def take(self, now_ms: int, *, close: bool = False) -> Utterance | None:
        """The closed utterance, for the transcript (None when there is none); with ``close``,
        the one being transcribed is closed first (the end of the call, a barge-in)."""
        if close:
            self.close(now_ms)
        utterance, self._closed = self._closed, None
        return utterance
