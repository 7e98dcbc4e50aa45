"""Silence and the longest call: re-prompt a caller who says nothing, end the call politely
after too many re-prompts or at the route's maximum duration (with a warning before it).

Quiet means: the agent has finished speaking (its words heard: ``AgentVoice.idle``) and the
caller neither speaks (the call's speech detector, which ignores line noise and hold music's
absence alike) nor types. Each cue asks the agent to speak; the end waits for its goodbye to
be heard, then ends the call over REST (``CallController.hang_up``) or, without REST, closes
the stream (Twilio then runs the route's fallback).
"""

import asyncio
from collections.abc import Callable

from telephony.agent_voice import AgentVoice
from telephony.call_control import CallController
from telephony.routing import SilencePolicy
from telephony.transcripts import EndReason

CHECK_S = 0.25
REPROMPT_CUE = (
    "[The caller has said nothing for a while. Ask briefly and kindly whether they are still "
    "there.]"
)
SILENT_GOODBYE_CUE = (
    "[The caller is still silent. Say a short, polite goodbye: the call will then end.]"
)
WARNING_CUE = (
    "[This call reaches its time limit in about {seconds} seconds. Tell the caller briefly and "
    "help them finish.]"
)
TIME_UP_CUE = "[The call's time limit is reached. Say a short, polite goodbye: the call ends.]"


class SilenceWatch:
    def __init__(
        self,
        policy: SilencePolicy,
        voice: AgentVoice,
        caller_active: Callable[[], bool],
        say: Callable[[str], None],
        control: CallController | None,
        clock: Callable[[], float],
    ) -> None:
        self._policy = policy
        self._voice = voice
        self._caller_active = caller_active
        self._say = say
        self._control = control
        self._clock = clock
        self.reprompts = 0

    @property
    def needed(self) -> bool:
        policy = self._policy
        return policy.reprompt_after_s is not None or policy.max_duration_s is not None

    async def run(self) -> EndReason:
        """Watch until the call must end for silence or time; then end it (returns TIMEOUT).
        Without a policy it waits for the call's end (cancelled with the call)."""
        policy = self._policy
        started = quiet_since = self._clock()
        warned = False
        while True:
            await asyncio.sleep(CHECK_S)
            now = self._clock()
            if not self._voice.idle or self._caller_active():
                quiet_since = now
            if policy.max_duration_s is not None:
                left = policy.max_duration_s - (now - started)
                if left <= 0:
                    return await self._end(TIME_UP_CUE, "the call's time limit")
                if not warned and left <= policy.warn_before_s:
                    warned = True
                    self._say(WARNING_CUE.format(seconds=round(left)))
            if policy.reprompt_after_s is None or now - quiet_since < policy.reprompt_after_s:
                continue
            if self.reprompts >= policy.max_reprompts:
                return await self._end(SILENT_GOODBYE_CUE, "the caller stayed silent")
            self.reprompts += 1
            self._say(REPROMPT_CUE)
            quiet_since = now

    async def _end(self, cue: str, why: str) -> EndReason:
        self._say(cue)
        if self._control is not None:
            await self._control.hang_up(EndReason.TIMEOUT, why)
        return EndReason.TIMEOUT
