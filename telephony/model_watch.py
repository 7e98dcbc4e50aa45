"""When a model that says nothing has failed: pure rules, no I/O.

A live model that stops answering does not always close its connection: a frozen server, a
network that drops packets without a reset. The connection then looks alive for as long as the
TCP stack allows (a call here once waited 53 s in silence), so the call watches what the model
says:

- at the start, the model must say something (the greeting) within ``FIRST_WORD_S``;
- after the caller has spoken (for ``MIN_SPEECH_MS`` at least: a cough may get no answer),
  the model must say something within ``ANSWER_S`` of the end of their speech: it transcribes
  what it hears (input transcription is on for every call) and answers.

Either way the caller is sent to the fallback: with these bounds, within 5 s.

A model can also stay alive and mute: after a barge-in, Gemini sometimes hears the caller out
(it transcribes them) and never answers (google-gemini cookbook issue 1228). So the watch also
asks whether the model *spoke* (sent audio) after the caller's speech: if not within
``NUDGE_S``, and nothing of the agent is still playing, the call nudges it once with a text
cue; if it still says nothing within ``MUTE_S`` of the end of the caller's speech, the caller
is routed on to the fallback.
"""

from dataclasses import dataclass

FIRST_WORD_S = 4.0
ANSWER_S = 4.0
NUDGE_S = 2.5
MUTE_S = 7.0
MIN_SPEECH_MS = 500.0
CHECK_INTERVAL_S = 0.25
NUDGE_CUE = "[The caller has finished speaking and is waiting for your answer. Answer them now.]"


@dataclass(slots=True)
class ModelWatch:
    """What one call's model said last, and what the caller did since."""

    started: float
    first_word_s: float = FIRST_WORD_S
    answer_s: float = ANSWER_S
    nudge_s: float = NUDGE_S
    mute_s: float = MUTE_S
    _heard: float | None = None
    _spoke: float | None = None
    _caller_stopped: float | None = None
    _awaiting_reply: float | None = None
    _nudged: float | None = None

    def heard(self, now: float) -> None:
        """The model sent a message."""
        self._heard = now

    def spoke(self, now: float) -> float | None:
        """The model sent audio: it is answering. Returns how long the caller waited for it,
        when this is the first audio since they stopped speaking on a quiet line (the reply
        latency); else None."""
        self._spoke = now
        waited, self._awaiting_reply = self._awaiting_reply, None
        return None if waited is None else now - waited

    def nudge_due(self, now: float, *, playing: bool) -> bool:
        """True once per caller utterance the model has not answered within ``nudge_s``
        (while none of its audio is still playing): the call should nudge it now."""
        stopped = self._caller_stopped
        if stopped is None or playing or not self._unanswered_since(stopped):
            return False
        if self._nudged is not None and self._nudged >= stopped:
            return False
        if now - stopped < self.nudge_s:
            return False
        self._nudged = now
        return True

    def _unanswered_since(self, stopped: float) -> bool:
        return self._spoke is None or self._spoke < stopped

    def caller_stopped(self, now: float, spoke_ms: float, *, quiet_line: bool = True) -> None:
        """The caller stopped speaking after ``spoke_ms`` of speech. With the agent's audio
        still playing (not ``quiet_line``), the audio that follows is no reply to be timed."""
        self._awaiting_reply = now if quiet_line else None
        if spoke_ms >= MIN_SPEECH_MS:
            self._caller_stopped = now

    def failure(self, now: float) -> str | None:
        """Why the model counts as failed at ``now``, or None while it is in time."""
        if self._heard is None:
            if now - self.started > self.first_word_s:
                return f"the model said nothing in the first {self.first_word_s:.0f} s"
            return None
        stopped = self._caller_stopped
        if stopped is not None and stopped > self._heard and now - stopped > self.answer_s:
            return f"the model said nothing for {self.answer_s:.0f} s after the caller spoke"
        nudged = self._nudged
        if (
            stopped is not None
            and nudged is not None
            and nudged >= stopped
            and self._unanswered_since(stopped)
            and now - stopped > self.mute_s
        ):
            return f"the model did not answer for {self.mute_s:.0f} s after the caller spoke"
        return None
