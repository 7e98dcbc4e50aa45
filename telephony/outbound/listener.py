"""One outbound call's first seconds: listen until answering machine detection decides.

The call starts with the caller's audio held back from the model (so the agent cannot answer a
voicemail greeting) and no greeting cue. Then, by Twilio's ``AnsweredBy`` (``answering.decide``):

- a person: the caller's audio goes to the model and the agent greets them;
- a machine whose greeting has ended (the beep): the agent leaves the voicemail message; once
  the message has been heard in full (its marks echoed), the call is hung up over REST;
- fax, unknown, or no answer from detection within the policy's timeout: the policy's rule.

Detection is Twilio's (its callback calls ``detected``) or, without it, the listener's own from
the answering party's audio (``telephony.audio.voicemail``), fed by the call frame by frame.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from telephony.audio import ulaw_to_pcm16
from telephony.audio.voicemail import VoicemailDetector
from telephony.outbound.answering import Action, decide, greeting_cue, on_timeout, voicemail_cue
from telephony.outbound.dialer import OutboundCall
from telephony.playback import AgentTurnResult
from telephony.policy import RoutePolicy, with_consent

logger = logging.getLogger(__name__)


class Line(Protocol):
    """What the listener needs of the call (``telephony.call.Call`` fits)."""

    hold_caller_audio: bool

    def cue(self, text: str) -> None: ...


class OutboundListener:
    """Listen first, then greet, leave a message or hang up (see the module docstring)."""

    def __init__(
        self,
        line: Line,
        call: OutboundCall,
        policy: RoutePolicy,
        hang_up: Callable[[], Awaitable[object]],
        clock: Callable[[], float],
        *,
        detector: VoicemailDetector | None = None,
    ) -> None:
        self._line = line
        self._detector = detector
        self._call = call
        self._policy = policy
        self._hang_up = hang_up
        self._clock = clock
        self._decided = asyncio.Event()
        self._action: Action | None = None
        self._message_heard = asyncio.Event()
        self._message_turns = 0
        self.message_started_at: float | None = None
        """When the voicemail cue went to the agent (the clock's time)."""
        line.hold_caller_audio = True

    def detected(self, answered_by: str) -> None:
        """Twilio's detection result arrived."""
        self._call.answered_by = answered_by
        action = decide(answered_by, self._policy)
        logger.info(
            "outbound call %s: answered by %s: %s", self._call.call_sid, answered_by, action
        )
        if action is not Action.WAIT:
            self._act(action)

    def caller_audio(self, ulaw: bytes) -> None:
        """A frame of the answering party's audio: detect from it when Twilio does not."""
        if self._detector is None or self._call.answered_by is not None:
            return
        if (verdict := self._detector.feed(ulaw_to_pcm16(ulaw))) is not None:
            self.detected(verdict.answered_by)

    def agent_turn(self, result: AgentTurnResult) -> None:
        """An agent turn was settled: the voicemail message, once heard, ends the call."""
        if self._action is Action.VOICEMAIL and result.heard_ms > 0:
            self._message_heard.set()

    async def run(self) -> None:
        """Wait for detection (or its timeout), then see the decision through."""
        if self._call.answered_by is not None:  # it came before the stream
            self.detected(self._call.answered_by)
        try:
            async with asyncio.timeout(self._policy.amd_timeout_s):
                await self._decided.wait()
        except TimeoutError:
            logger.info("outbound call %s: no detection result in time", self._call.call_sid)
            self._call.answered_by = self._call.answered_by or "timeout"
            self._act(on_timeout(self._policy))
        if self._action is Action.VOICEMAIL:
            await self._message_heard.wait()
            self._call.outcome = "voicemail_left"
            await self._hang_up()
        elif self._action is Action.HANG_UP:
            self._call.outcome = "hung_up"
            await self._hang_up()

    def _act(self, action: Action) -> None:
        if self._action is not None:
            return
        self._action = action
        self._decided.set()
        request = self._call.request
        if action is Action.GREET:
            self._call.outcome = "greeted"
            self._line.hold_caller_audio = False
            cue = greeting_cue(request.purpose, request.variables)
            self._line.cue(with_consent(cue, self._policy.announcement))
        elif action is Action.VOICEMAIL:
            number = self._policy.callback_number or request.from_
            self.message_started_at = self._clock()
            self._line.cue(voicemail_cue(request.purpose, request.variables, number))
