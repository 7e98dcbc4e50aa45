"""Playback truth: what the caller actually heard of each agent turn.

Twilio plays agent audio from its own buffer at real time. After each chunk the call sends a
``mark``; Twilio echoes it when the audio before it has played, and echoes every pending mark at
once when the call sends ``clear``. So an echo means "played" unless a clear went out after the
mark was sent, in which case it means "flushed". This module keeps the marks in flight, the
transcript text each one covers, and turns that into finished turns with the heard text.

Heard text follows audio time. The output transcription carries no timing and no ordering with
the audio: it lags or leads it by hundreds of milliseconds, and the audio itself arrives in
bursts far ahead of playback. So the text is not tied to the marks it happened to arrive near.
A turn cut short is heard up to the share of its audio that played: of the text generated, the
whole words that fit in that share of its characters (speech runs at a near-even rate of
characters). A turn played to the end is heard in full.

Pure and synchronous; times are milliseconds from the start of the call, given by the caller.
"""

from collections import deque
from dataclasses import dataclass, field

__all__ = ["AgentTurnResult", "Playback"]


@dataclass(frozen=True, slots=True)
class AgentTurnResult:
    """A finished agent turn, ready for the transcript."""

    turn: int
    text: str
    """Everything the model generated for the turn (its output transcription)."""
    heard_text: str
    """The part the caller actually heard."""
    interrupted: bool
    start_ms: int
    end_ms: int
    audio_ms: float
    heard_ms: float


@dataclass(slots=True)
class _Turn:
    number: int
    fragments: list[str] = field(default_factory=list)
    start_ms: int | None = None
    audio_ms: float = 0.0
    heard_ms: float = 0.0
    pending_marks: int = 0
    generation_done: bool = False
    """The model said it has generated the whole turn (``generationComplete``)."""
    generated: bool = False
    """The model finished the turn (``turnComplete``); it may still be playing."""


@dataclass(frozen=True, slots=True)
class _MarkInFlight:
    name: str
    turn: _Turn
    audio_ms: float


class Playback:
    """Marks in flight and the agent turns they belong to, for one call."""

    def __init__(self) -> None:
        self._in_flight: deque[_MarkInFlight] = deque()
        self._names: set[str] = set()
        self._flushed: set[str] = set()
        self._current: _Turn | None = None
        self._turns = 0
        self._marks = 0
        self.settled = 0
        """Marks settled so far (echoed, or flushed by a clear): with ``sent``, tells whether
        everything sent before a moment has been heard (or cut)."""

    @property
    def sent(self) -> int:
        """Marks sent so far."""
        return self._marks

    @property
    def speaking(self) -> bool:
        """The model is producing a turn (its end, ``turnComplete``, has not come yet)."""
        return self._current is not None

    @property
    def playing(self) -> bool:
        """True while agent audio sent to Twilio may still be playing."""
        return bool(self._in_flight)

    @property
    def generating(self) -> bool:
        """True while the model is producing a turn: audio or text received, and neither the
        end of its generation nor the end of the turn yet."""
        return self._current is not None and not self._current.generation_done

    def generation_done(self) -> None:
        """The model has generated the whole turn (``generationComplete``); it still waits for
        the audio to play before it ends the turn."""
        if self._current is not None:
            self._current.generation_done = True

    def text(self, fragment: str) -> None:
        """A new fragment of output transcription for the turn being generated."""
        if fragment:
            self._turn().fragments.append(fragment)

    def audio(self, duration_ms: float, now_ms: int) -> str:
        """Agent audio is being sent; return the name of the mark to send right after it."""
        turn = self._turn()
        if turn.start_ms is None:
            turn.start_ms = now_ms
        turn.audio_ms += duration_ms
        return self._mark(turn, duration_ms)

    def generated(self, now_ms: int) -> tuple[str | None, AgentTurnResult | None]:
        """The model finished its turn.

        Returns the name of a closing mark to send (it covers transcription that came after the
        last audio) or, if nothing of the turn is still playing, the finished turn itself.
        """
        turn, self._current = self._current, None
        if turn is None:
            return None, None
        turn.generated = True
        if turn.pending_marks:
            return self._mark(turn, 0.0), None
        if not turn.fragments and turn.start_ms is None:
            return None, None  # an empty turn (a tool call, say): nothing to keep
        return None, _result(turn, interrupted=False, end_ms=now_ms)

    def echoed(self, name: str, now_ms: int) -> AgentTurnResult | None:
        """Twilio echoed a mark; return the turn it finished, if any."""
        if name in self._flushed:
            self._flushed.discard(name)
            return None
        if name not in self._names:
            return None  # not ours, or already settled
        # Twilio echoes in order: marks ahead of this one have played too.
        while self._in_flight:
            mark = self._in_flight.popleft()
            self._names.discard(mark.name)
            self.settled += 1
            turn = mark.turn
            turn.pending_marks -= 1
            turn.heard_ms += mark.audio_ms
            if mark.name == name:
                break
        if turn.generated and turn.pending_marks == 0:
            return _result(turn, interrupted=False, end_ms=now_ms)
        return None

    def clear(self, now_ms: int) -> list[AgentTurnResult]:
        """A ``clear`` is sent: everything in flight is flushed, not played.

        Returns the turns this cuts short (normally one), marked interrupted. A turn still
        being generated is closed too: what the model sends after an interruption is a new turn.
        """
        cut: dict[int, _Turn] = {}
        while self._in_flight:
            mark = self._in_flight.popleft()
            self.settled += 1
            self._flushed.add(mark.name)
            self._names.discard(mark.name)
            cut[mark.turn.number] = mark.turn
        if self._current is not None:
            cut.setdefault(self._current.number, self._current)
            self._current = None
        return [
            _result(turn, interrupted=True, end_ms=now_ms)
            for turn in cut.values()
            if turn.fragments or turn.start_ms is not None
        ]

    def unsettled(self) -> list[str]:
        """The text of the turns not settled yet (playing or being generated), oldest first."""
        turns = {mark.turn.number: mark.turn for mark in self._in_flight}
        if self._current is not None:
            turns.setdefault(self._current.number, self._current)
        ordered = (turns[number] for number in sorted(turns))
        return [text for turn in ordered if (text := "".join(turn.fragments).strip())]

    def finish(self, now_ms: int) -> list[AgentTurnResult]:
        """The call ended: close every turn still open with what was heard so far."""
        open_turns: dict[int, _Turn] = {mark.turn.number: mark.turn for mark in self._in_flight}
        if self._current is not None:
            open_turns.setdefault(self._current.number, self._current)
        self._in_flight.clear()
        self._names.clear()
        self._current = None
        results = []
        for turn in open_turns.values():
            if turn.fragments or turn.start_ms is not None:
                cut_short = not turn.generated or turn.heard_ms < turn.audio_ms
                results.append(_result(turn, interrupted=cut_short, end_ms=now_ms))
        return results

    def _turn(self) -> _Turn:
        if self._current is None:
            self._turns += 1
            self._current = _Turn(self._turns)
        return self._current

    def _mark(self, turn: _Turn, audio_ms: float) -> str:
        self._marks += 1
        name = f"a{turn.number}.{self._marks}"
        turn.pending_marks += 1
        self._in_flight.append(_MarkInFlight(name, turn, audio_ms))
        self._names.add(name)
        return name


def _result(turn: _Turn, *, interrupted: bool, end_ms: int) -> AgentTurnResult:
    text = "".join(turn.fragments).strip()
    return AgentTurnResult(
        turn=turn.number,
        text=text,
        heard_text=_heard_part(text, turn.heard_ms, turn.audio_ms) if interrupted else text,
        interrupted=interrupted,
        start_ms=turn.start_ms if turn.start_ms is not None else end_ms,
        end_ms=end_ms,
        audio_ms=turn.audio_ms,
        heard_ms=turn.heard_ms if interrupted else turn.audio_ms,
    )


def _heard_part(text: str, heard_ms: float, audio_ms: float) -> str:
    """The whole words of ``text`` that fit in the share ``heard_ms / audio_ms`` of it."""
    if audio_ms <= 0 or heard_ms <= 0:
        return ""
    if heard_ms >= audio_ms:
        return text
    cut = int(len(text) * heard_ms / audio_ms)
    if cut < len(text) and not text[cut].isspace():
        cut = text.rfind(" ", 0, cut + 1)  # the word under the cut was not heard in full
    return text[: max(cut, 0)].strip()
