"""Twilio's own recording of a live call: started over REST, paused while digits are typed.

The recording starts once the caller has heard the agent's first turn in full (its marks
echoed): a route that announces recording says so in that first turn, so the announcement
always comes before the recording. Twilio then reports the recording's progress to
``recordingStatusCallback`` (its SID, duration and URL are kept with the call).

While the caller types digits on a route that marks them sensitive (card numbers), the
recording is paused at the first digit and resumed once no digit has come for ``quiet_s``:
Twilio keeps the pause as silence. REST calls go one at a time, in order, from one task, so a
resume can never overtake its pause.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from enum import StrEnum

from telephony.twilio.rest import CallAlreadyEnded, RestClient, RestError

logger = logging.getLogger(__name__)

RECORDING_EVENTS = ["in-progress", "completed", "absent"]


class _Step(StrEnum):
    START = "start"
    PAUSE = "paused"
    RESUME = "in-progress"


class TwilioRecording:
    """One call's recording at Twilio (see the module docstring)."""

    def __init__(
        self,
        rest: RestClient,
        call_sid: str,
        callback_url: str,
        *,
        pause_on_digits: bool,
        quiet_s: float,
        on_started: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self._rest = rest
        self._call_sid = call_sid
        self._callback_url = callback_url
        self._pause_on_digits = pause_on_digits
        self._quiet_s = quiet_s
        self._on_started = on_started
        self._steps: asyncio.Queue[_Step] = asyncio.Queue()
        self._resume: asyncio.TimerHandle | None = None
        self._requested = False
        self.recording_sid: str | None = None
        self.paused = False
        self.pauses = 0

    def turn_heard(self) -> None:
        """The caller heard an agent turn in full: the first one starts the recording."""
        if not self._requested:
            self._requested = True
            self._steps.put_nowait(_Step.START)

    def digit(self) -> None:
        """The caller typed a digit: pause now (once), resume after ``quiet_s`` of none."""
        if not self._pause_on_digits:
            return
        if not self.paused:
            self.paused = True
            self.pauses += 1
            self._steps.put_nowait(_Step.PAUSE)
        if self._resume is not None:
            self._resume.cancel()
        self._resume = asyncio.get_running_loop().call_later(self._quiet_s, self._quiet)

    def _quiet(self) -> None:
        self._resume = None
        self.paused = False
        self._steps.put_nowait(_Step.RESUME)

    async def run(self) -> None:
        """Carry out the steps in order until cancelled (the call's end)."""
        try:
            while True:
                step = await self._steps.get()
                try:
                    await self._carry_out(step)
                except CallAlreadyEnded:
                    return
                except RestError as exc:
                    logger.warning(
                        "call %s: recording %s refused (code %s)", self._call_sid, step, exc.code
                    )
                except Exception:  # Twilio unreachable: the call goes on without this step
                    logger.exception("call %s: recording %s failed", self._call_sid, step)
        finally:
            if self._resume is not None:
                self._resume.cancel()

    async def _carry_out(self, step: _Step) -> None:
        if step is _Step.START:
            self.recording_sid = await self._rest.start_recording(
                self._call_sid,
                recording_status_callback=self._callback_url,
                recording_status_callback_event=RECORDING_EVENTS,
                recording_status_callback_method="POST",
                recording_channels="dual",
            )
            logger.info("call %s: Twilio records it (%s)", self._call_sid, self.recording_sid)
            if self._on_started is not None:
                await self._on_started(self.recording_sid)
            if self.paused:  # digits came before the recording existed
                await self._carry_out(_Step.PAUSE)
        elif self.recording_sid is not None:
            await self._rest.set_recording_status(self._call_sid, self.recording_sid, step.value)
            logger.info("call %s: recording %s", self._call_sid, step.value)
