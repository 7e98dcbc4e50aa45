"""Scripted behaviour for tests: what the emulated model does besides its default brain.

A test queues actions with the moment they should happen at::

    emulator.script.call_tool("opening_hours", {"day": "monday"})       # on the next turn
    emulator.script.go_away(time_left_s=5, when=AfterTurns(1))
    emulator.script.close(1011, when=BeforeFirstHandle())
    emulator.script.next_reply("We are open until six today.")

Every queued item is used once. Moments and actions are defined in ``steps.py``. Besides
actions, a test can queue single decisions the model would otherwise leave to chance or to the
configuration: the pacing of the next reply, whether the next late caller speech interrupts,
whether the next caller turn's last transcription comes late.
"""

import dataclasses
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from twins.gemini_live.closes import DEADLINE_REASON, INTERNAL_REASON, Refusal
from twins.gemini_live.options import Pacing
from twins.gemini_live.steps import (
    Action,
    AfterFirstHandle,
    AfterGenerationComplete,
    AfterTurns,
    BeforeFirstHandle,
    CallTool,
    Close,
    DuringToolCall,
    GoAway,
    Immediately,
    MidReply,
    Moment,
    NextTurn,
    OnSetup,
    ReplySpec,
    Step,
    WhileCallerSpeaks,
)

__all__ = [
    "Action",
    "AfterFirstHandle",
    "AfterGenerationComplete",
    "AfterTurns",
    "BeforeFirstHandle",
    "CallTool",
    "Close",
    "DuringToolCall",
    "GoAway",
    "Immediately",
    "MidReply",
    "Moment",
    "NextTurn",
    "OnSetup",
    "ReplySpec",
    "Script",
    "Step",
    "WhileCallerSpeaks",
]


class Script:
    """Queues of scripted actions and overrides, consumed by the emulator's connections."""

    def __init__(self) -> None:
        self._steps: list[Step] = []
        self._setup_delays: deque[float] = deque()
        self._first_chunk_delays: deque[float] = deque()
        self._replies: deque[ReplySpec] = deque()
        self._transcriptions: deque[str] = deque()
        self._pacings: deque[Pacing] = deque()
        self._late_interruptions: deque[bool] = deque()
        self._late_inputs: deque[bool] = deque()
        self._silences_after_barge_in = 0
        self._listeners: list[Callable[[], None]] = []

    # --- for tests ---

    def close(
        self, code: int = 1011, reason: str = INTERNAL_REASON, *, when: Moment | None = None
    ) -> None:
        """Close a connection with ``code`` at ``when`` (default: immediately)."""
        self.add(when or Immediately(), Close(code, reason))

    def go_away(
        self,
        time_left_s: float = 1.0,
        *,
        when: Moment | None = None,
        close_after_s: float | None = None,
        close_code: int = 1011,
        close_reason: str = DEADLINE_REASON,
    ) -> None:
        """Send ``goAway`` at ``when`` (default: immediately), then close after the time left."""
        action = GoAway(time_left_s, close_after_s, close_code, close_reason)
        self.add(when or Immediately(), action)

    def refuse_setup(self, refusal: Refusal, *, connection: int | None = None) -> None:
        """Refuse the next setup (of ``connection``) as the real service would: see ``closes``."""
        self.add(OnSetup(connection), Close(refusal.code, refusal.reason))

    def call_tool(
        self,
        name: str,
        args: Mapping[str, Any] | None = None,
        *,
        when: NextTurn | Immediately | None = None,
        call_id: str | None = None,
    ) -> None:
        """Make the model call a tool on its next turn (default) or immediately."""
        self.add(when or NextTurn(), CallTool(name, dict(args or {}), call_id))

    def delay_setup_complete(self, seconds: float) -> None:
        """Hold the next connection's ``setupComplete`` back for ``seconds``."""
        self._setup_delays.append(seconds)

    def delay_first_chunk(self, seconds: float) -> None:
        """Hold the next reply's first audio chunk back for ``seconds``."""
        self._first_chunk_delays.append(seconds)

    def next_reply(self, text: str | None = None, *, words: int | None = None) -> None:
        """Set the next reply's text, or its length in words (queued: call again for the next)."""
        if (text is None) == (words is None) or (words is not None and words < 1):
            raise ValueError("give either a text or a positive number of words")
        self._replies.append(ReplySpec(text, words))

    def next_transcription(self, text: str) -> None:
        """Set what the model hears the caller say in the next caller turn (queued)."""
        self._transcriptions.append(text)

    def pace_next_reply(self, pacing: Pacing) -> None:
        """Send the next reply's audio with ``pacing`` instead of the configured one (queued)."""
        self._pacings.append(pacing)

    def decide_late_interruption(self, interrupt: bool = True) -> None:
        """Decide whether the next caller speech during a playback wait (or just after a
        ``turnComplete``) produces ``interrupted``, instead of chance (queued)."""
        self._late_interruptions.append(interrupt)

    def late_input_transcription(self, late: bool = True) -> None:
        """Decide whether the next caller turn's last input transcription comes only after the
        reply's first audio, instead of chance (queued)."""
        self._late_inputs.append(late)

    def add(self, when: Moment, action: Action) -> None:
        """Queue ``action`` for ``when`` (the methods above are shorthands for this)."""
        if isinstance(action, CallTool) and not isinstance(when, NextTurn | Immediately):
            raise ValueError("tool calls happen on the next turn or immediately")
        self._steps.append(Step(when, action))
        if isinstance(when, Immediately):
            for listener in list(self._listeners):
                listener()

    @property
    def pending(self) -> tuple[Step, ...]:
        """Actions not yet taken."""
        return tuple(self._steps)

    # --- for the emulator ---

    def take(self, moment: Moment, connection: int) -> list[Action]:
        """Remove and return the actions due at ``moment`` on ``connection``, in queue order."""
        due = [step for step in self._steps if _matches(step.when, moment, connection)]
        for step in due:
            self._steps.remove(step)
        return [step.action for step in due]

    def has_immediate(self, connection: int) -> bool:
        return any(_matches(s.when, Immediately(), connection) for s in self._steps)

    def take_setup_delay(self) -> float:
        return self._setup_delays.popleft() if self._setup_delays else 0.0

    def take_first_chunk_delay(self) -> float:
        return self._first_chunk_delays.popleft() if self._first_chunk_delays else 0.0

    def take_reply(self) -> ReplySpec | None:
        return self._replies.popleft() if self._replies else None

    def take_transcription(self) -> str | None:
        return self._transcriptions.popleft() if self._transcriptions else None

    def has_reply(self) -> bool:
        return bool(self._replies)

    def take_pacing(self) -> Pacing | None:
        return self._pacings.popleft() if self._pacings else None

    def stay_silent_after_barge_in(self) -> None:
        """After the next interruption, the model hears the caller out and does not answer
        until the client sends it text (google-gemini cookbook issue 1228: after a barge-in
        the model sometimes stays silent). Queued: call again for the next interruption."""
        self._silences_after_barge_in += 1

    def take_silence_after_barge_in(self) -> bool:
        if self._silences_after_barge_in:
            self._silences_after_barge_in -= 1
            return True
        return False

    def take_late_interruption(self) -> bool | None:
        return self._late_interruptions.popleft() if self._late_interruptions else None

    def take_late_input(self) -> bool | None:
        return self._late_inputs.popleft() if self._late_inputs else None

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` whenever an immediate action is queued; returns an unsubscriber."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)


def _matches(when: Moment, moment: Moment, connection: int) -> bool:
    if type(when) is not type(moment):
        return False
    if when.connection is not None and when.connection != connection:
        return False
    return dataclasses.replace(when, connection=None) == dataclasses.replace(
        moment, connection=None
    )
