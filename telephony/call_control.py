"""One call's control: what the toolkit's tools do on the line (end the call, transfer it).

A tool returns at once with words for the model; the work runs beside the call:

1. **Wait until the caller has heard the agent** (Twilio's marks, ``playback.py``): every mark
   sent before the tool ran must come back; then, because a voice model often says its goodbye
   only after the tool's answer, a reply that begins within ``GOODBYE_GRACE_S`` is waited for
   too, to its last mark and the model's end of turn. Never longer than ``MAX_WAIT_S``.
2. **Write a system turn** in the transcript (what, to whom, why), and set ``leaving``: the
   ``stop`` that follows is then a transfer or the agent's hang-up, not the caller's.
3. **One REST request**: ``status=completed`` to end the call; new TwiML (``<Dial>`` or
   ``<Enqueue>`` with an ``action`` URL) to transfer it; for a warm transfer, a conference room
   with hold music, after which ``warm_transfer.py`` dials and briefs the person. Twilio then
   stops the stream. An already-ended call (20404, 21220) is no failure; any other refusal is
   told to the model and the call goes on.
"""

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from twilio.twiml.voice_response import VoiceResponse

from telephony.agent_voice import AgentVoice
from telephony.routing import Route
from telephony.toolkit import NOT_CONFIGURED
from telephony.transcript_writer import TranscriptWriter
from telephony.transcripts import EndReason, Speaker, TurnRecord
from telephony.twilio.rest import CallAlreadyEnded, RestClient, RestError
from telephony.twilio.warm_twiml import caller_waits
from telephony.warm_state import WarmTransfer
from telephony.warm_transfer import WarmTransfers

logger = logging.getLogger(__name__)

POLL_S = 0.02
"""How often the wait for the agent's last words looks at the playback truth."""
GOODBYE_GRACE_S = 2.0
"""How long a reply that follows the tool call may take to begin (it is then heard out)."""
MAX_WAIT_S = 30.0
"""The longest the call waits for the agent's last words to be heard."""
TRANSFER_PATH = "/twilio/transfer"
"""Where Twilio reports how a transfer went (``<Dial action>``), per CallSid."""


class CallController:
    """The toolkit's ``CallControl`` for one call (see the module docstring)."""

    def __init__(
        self,
        call_sid: str,
        route: Route,
        rest: RestClient | None,
        *,
        public_origin: str,
        transcript: TranscriptWriter,
        warm: WarmTransfers | None = None,
        line_number: str = "",
        caller_number: str | None = None,
        on_transfer: Callable[[str, str], None] = lambda _kind, _outcome: None,
    ) -> None:
        """``line_number``: our number on this call (what a dialled person sees by default);
        ``caller_number``: the caller's, only where the route shares it with the agent;
        ``on_transfer(kind, outcome)`` hears how each cold transfer the agent asked for went:
        ``dialled`` (Twilio took the new instructions) or ``failed`` (warm transfers count
        their outcomes themselves: ``warm_transfer.py``)."""
        self._call_sid = call_sid
        self._on_transfer = on_transfer
        self._route = route
        self._rest = rest
        self._origin = public_origin
        self._transcript = transcript
        self._warm = warm
        self._line_number = line_number
        self._caller_number = caller_number
        self._voice: AgentVoice | None = None
        self._say: Callable[[str], None] = lambda _text: None
        self._now_ms: Callable[[], int] = lambda: 0
        self._task: asyncio.Task[None] | None = None
        self.leaving: EndReason | None = None
        """Why the stream is about to stop: set just before the request that ends or moves
        the call, cleared again if Twilio refuses it."""

    def bind(
        self, voice: AgentVoice, say: Callable[[str], None], now_ms: Callable[[], int]
    ) -> None:
        """The call's voice (for what was heard), its cue to the model, and its clock."""
        self._voice, self._say, self._now_ms = voice, say, now_ms

    def close(self) -> None:
        """The call ended: stop waiting for the agent's last words. A request already sent
        (``leaving`` is set just before it) runs to its end, bounded by the REST client's
        timeout, so that its outcome is known and counted: the request itself ends the stream,
        and so the call, usually before its answer is back."""
        if self._task is not None and not self._task.done() and self.leaving is None:
            self._task.cancel()

    # -- the tools ----------------------------------------------------------------------------

    async def end_call(self, reason: str) -> str:
        if self._rest is None:
            return NOT_CONFIGURED
        if busy := self._busy():
            return busy
        self._start(self._end(reason))
        return (
            "The call ends as soon as the caller has heard you. If you have not said goodbye "
            "yet, say a short goodbye now and nothing else."
        )

    async def transfer(self, target: str, reason: str, *, warm: bool) -> str:
        if self._rest is None:
            return NOT_CONFIGURED
        destination = self._route.targets.get(target.strip().lower())
        if destination is None:
            known = ", ".join(sorted(self._route.targets)) or "none on this line"
            return f"There is no transfer target named {target!r}. The targets are: {known}."
        if warm and (self._warm is None or destination.is_queue):
            return (
                f"A warm transfer to {target} is not possible (it is a queue, or this line has "
                "no conferences); use a cold transfer."
            )
        if busy := self._busy():
            return busy
        if warm:
            self._start(self._warm_transfer(target.strip().lower(), reason))
            return (
                f"The caller waits with music while {target} is called and briefed, as soon as "
                "they have heard you. Say nothing more unless you have not yet told them."
            )
        self._start(self._transfer(target.strip().lower(), reason))
        return (
            f"The caller is put through to {target} as soon as they have heard you. Say nothing "
            "more unless you have not yet told them."
        )

    async def hang_up(self, reason: EndReason, why: str) -> bool:
        """End the call for the server's own ``reason`` (silence, the time limit) once the
        agent's last words were heard; False without REST (the caller closes the stream)."""
        await self._heard()
        if self._rest is None:
            return False
        self._system(f"The call was ended ({why}).")
        self.leaving = reason
        await self._rest.end_call(self._call_sid)
        return True

    # -- the work -----------------------------------------------------------------------------

    def _busy(self) -> str | None:
        if self._task is not None and not self._task.done():
            return "A transfer or the end of this call is already under way."
        return None

    def _start(self, work: Coroutine[Any, Any, None]) -> None:
        self._task = asyncio.get_running_loop().create_task(work)
        self._task.add_done_callback(self._done)

    def _done(self, task: "asyncio.Task[None]") -> None:
        if not task.cancelled() and (error := task.exception()) is not None:
            logger.error("call %s: call control failed", self._call_sid, exc_info=error)

    async def _end(self, reason: str) -> None:
        await self._heard()
        assert self._rest is not None
        self._system(f"The agent ended the call ({reason}).")
        self.leaving = EndReason.AGENT_HUNG_UP
        ended = await self._rest.end_call(self._call_sid)
        logger.info("call %s: ended by the agent%s", self._call_sid, "" if ended else " (gone)")

    async def _transfer(self, target: str, reason: str) -> None:
        await self._heard()
        assert self._rest is not None
        destination = self._route.targets[target]
        response = VoiceResponse()
        action = f"{self._origin}{TRANSFER_PATH}/{self._call_sid}?target={quote(target)}"
        destination.append_to(response, action_url=action)
        self._system(f"Cold transfer to {target} ({reason}).")
        self.leaving = EndReason.TRANSFERRED
        try:
            await self._rest.update_call(self._call_sid, twiml=str(response))
        except CallAlreadyEnded:
            logger.info("call %s: gone before its transfer", self._call_sid)
        except RestError as exc:
            self.leaving = None
            self._on_transfer("cold", "failed")
            logger.warning("call %s: transfer refused by Twilio (%s)", self._call_sid, exc.code)
            self._system(f"The transfer to {target} failed: Twilio refused it.")
            self._say(
                f"[The transfer to {target} could not be started. Tell the caller, and offer "
                "another way to help.]"
            )
        else:
            self._on_transfer("cold", "dialled")
            logger.info("call %s: transferred (cold) to target %s", self._call_sid, target)

    async def _warm_transfer(self, target: str, reason: str) -> None:
        await self._heard()
        assert self._rest is not None and self._warm is not None
        transfer = WarmTransfer(
            call_sid=self._call_sid,
            target=target,
            reason=reason,
            destination=self._route.targets[target],
            origin=self._origin,
            caller_id=self._route.targets[target].caller_id or self._line_number,
            route=self._route,
            caller_number=self._caller_number,
        )
        self._system(f"Warm transfer to {target} ({reason}).")
        self.leaving = EndReason.TRANSFERRED
        # From here the work runs in the process's warm transfers, not in this call's task:
        # moving the caller ends the stream, and the end of the call cancels this task.
        self._warm.begin(transfer, functools.partial(self._to_the_room, transfer))

    async def _to_the_room(self, transfer: WarmTransfer) -> bool:
        """Move the caller into the transfer's room; False if the call stays with the agent
        (Twilio refused: the model is told) or is over."""
        assert self._rest is not None
        twiml = caller_waits(
            transfer.room, wait_url=transfer.url("hold"), status_callback=transfer.url("room")
        )
        try:
            await self._rest.update_call(self._call_sid, twiml=twiml)
        except CallAlreadyEnded:
            logger.info("call %s: gone before its warm transfer", self._call_sid)
            return False
        except RestError as exc:
            self.leaving = None
            logger.warning(
                "call %s: warm transfer refused by Twilio (%s)", self._call_sid, exc.code
            )
            target = transfer.target
            self._system(f"The warm transfer to {target} failed: Twilio refused it.")
            self._say(
                f"[The transfer to {target} could not be started. Tell the caller, and offer "
                "another way to help.]"
            )
            return False
        logger.info(
            "call %s: on hold for a warm transfer to target %s", self._call_sid, transfer.target
        )
        return True

    async def _heard(self) -> None:
        """Wait until the caller has heard what the agent said (see the module docstring)."""
        voice = self._voice
        if voice is None:
            return
        sent = voice.marks_sent
        try:
            async with asyncio.timeout(MAX_WAIT_S):
                while voice.marks_settled < sent:
                    await voice.changed()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(GOODBYE_GRACE_S):
                        while voice.idle and voice.marks_sent == sent:
                            await voice.changed()
                while not voice.idle:
                    await voice.changed()
        except TimeoutError:
            logger.warning(
                "call %s: the agent's last words were not heard within %.0f s; acting anyway",
                self._call_sid,
                MAX_WAIT_S,
            )

    def _system(self, text: str) -> None:
        now = self._now_ms()
        self._transcript.turn(
            TurnRecord(speaker=Speaker.SYSTEM, text=text, start_ms=now, end_ms=now)
        )
