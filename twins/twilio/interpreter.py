"""Running TwiML on a call the way Twilio does, verb by verb, in real time.

Twilio facts mirrored (https://www.twilio.com/docs/voice/twiml and the page of each verb):

- Verbs run in document order; when the document runs out the call ends.
- ``<Say>`` speaks its text (``loop`` times), ``<Play>`` plays audio, ``<Pause length>`` waits,
  ``<Hangup>`` (and ``<Reject>``) ends the call.
- ``<Redirect method>`` requests its URL (POST by default) and runs the TwiML it answers;
  ``action`` URLs (of ``<Dial>``, ``<Enqueue>``, ``<Connect>``) likewise. Relative URLs resolve
  against the URL of the document they are in.
- When a requested URL fails (no answer, an HTTP error, not TwiML) Twilio says an application
  error has occurred and hangs up (errors 11200, 12100).
- ``<Gather>`` plays what it holds, then waits ``timeout`` (default 5 s) for digits; without
  input it goes on with the next verb. The simulated caller never presses anything there.

A hang-up (the caller's, or a REST ``Status=completed``) or new TwiML from a REST update cuts the
running verb short (see :mod:`twins.twilio.control`). Everything lands in the call's journey.
"""

from __future__ import annotations

import logging
import math
from typing import Literal

from twins.twilio.context import CallContext, Document
from twins.twilio.control import HangUpRequest, NewTwiml
from twins.twilio.dial import run_dial
from twins.twilio.durations import loops, verb_seconds
from twins.twilio.journey import HangupBy, HungUp, Paused, Played, Redirected, Said, Skipped
from twins.twilio.queues import run_enqueue
from twins.twilio.twiml import Verb

logger = logging.getLogger(__name__)

APPLICATION_ERROR_MESSAGE = "We are sorry, an application error has occurred. Goodbye."
GATHER_TIMEOUT_S = 5.0
ONE_STREAM = "the simulator opens media streams only when asked by its call"
_Step = Document | Literal["next", "end"]


class TwimlRunner:
    """Runs documents on one call until it ends; the journey ends with a :class:`HungUp`."""

    def __init__(self, ctx: CallContext) -> None:
        self.ctx = ctx
        self.ended_by: HangupBy | None = None

    async def run(self, document: Document | None, *, failed: bool = False) -> None:
        """Run ``document`` and whatever it leads to; ``failed``: there is no document because
        fetching it failed (Twilio apologises and hangs up)."""
        if failed:
            await self.fail()
        interrupted, replacement = self._interruption_step()  # a REST update, a hang-up
        if interrupted:
            document = replacement
        while document is not None and self.ended_by is None:
            document = await self._run_document(document)
        if self.ended_by is None:
            self.hang_up("end-of-twiml")

    async def fail(self) -> None:
        """What Twilio does when it cannot get TwiML to run: apologise and hang up."""
        await self._say(Verb("Say", text=APPLICATION_ERROR_MESSAGE))
        if not self.ctx.control.interrupted:
            self.hang_up("error")

    def hang_up(self, by: HangupBy) -> None:
        if self.ended_by is None:
            self.ended_by = by
            self.ctx.record(HungUp(t=self.ctx.t(), by=by))

    async def _run_document(self, document: Document) -> Document | None:
        for verb in document.twiml.verbs:
            step = await self._verb(verb, document)
            interrupted, replacement = self._interruption_step()
            if interrupted:
                return replacement
            if step == "end":
                return None
            if isinstance(step, Document):
                return step
        self.hang_up("end-of-twiml")
        return None

    def _interruption_step(self) -> tuple[bool, Document | None]:
        pending = self._interruption()
        if pending is None:
            return False, None
        if isinstance(pending, NewTwiml):
            return True, Document(pending.twiml, pending.url)
        return True, None

    def _interruption(self) -> HangUpRequest | NewTwiml | None:
        control = self.ctx.control
        if not control.interrupted:
            return None
        pending = control.take()
        if isinstance(pending, NewTwiml):
            self.ctx.record(Redirected(t=self.ctx.t(), by="rest", url=pending.url))
        elif isinstance(pending, HangUpRequest):
            self.hang_up(pending.by)
        return pending

    async def _verb(self, verb: Verb, document: Document) -> _Step:
        ctx = self.ctx
        name = verb.name
        if name in ("Say", "Play", "Pause"):
            await self._say(verb)
            return "next"
        if name in ("Hangup", "Reject"):
            self.hang_up("twiml")
            return "end"
        if name == "Redirect":
            return await self._redirect(verb, document)
        if name == "Dial":
            dialled = await run_dial(ctx, verb, document)
            if dialled.interrupted:
                return "next"
            return await self._action(verb, document, "dial-action", dialled.params)
        if name == "Enqueue":
            queued = await run_enqueue(ctx, verb, document)
            if queued.interrupted:
                return "next"
            if queued.hung_up:
                self.hang_up("twiml")
                return "end"
            if queued.result == "redirected":
                return await self._follow(queued.redirect, by="twiml")
            return await self._action(verb, document, "enqueue-action", queued.params)
        if name == "Gather":
            return await self._gather(verb)
        if name == "Connect" and ctx.reconnect is not None and document.twiml.stream is not None:
            return await self._connect_again(document)
        reason = ONE_STREAM if name == "Connect" else "not simulated"
        ctx.record(Skipped(t=ctx.t(), verb=name, reason=reason))
        return "next"

    async def _connect_again(self, document: Document) -> _Step:
        """A second ``<Connect><Stream>``: the application takes the call back (Twilio runs a
        stream verb wherever the TwiML has one); then what follows it runs, as after the first."""
        reconnect = self.ctx.reconnect
        assert reconnect is not None
        found, failed = await reconnect(document)
        if failed:
            await self.fail()
            return "end"
        if self.ctx.control.interrupted:
            return "next"  # a REST update's TwiML: the runner takes it
        last = self.ctx.journey[-1] if self.ctx.journey else None
        if isinstance(last, HungUp):  # recorded by the continuation
            self.ended_by = last.by
            return "end"
        return found if found is not None else "end"

    async def _say(self, verb: Verb) -> None:
        """``<Say>``, ``<Play>`` or ``<Pause>``: keep the line busy for as long as it takes."""
        ctx = self.ctx
        start = ctx.t()
        seconds = verb_seconds(verb, ctx.options)
        await ctx.control.wait(None if math.isinf(seconds) else seconds)
        took = ctx.t() - start
        count = loops(verb) or 0
        if verb.name == "Say":
            ctx.record(Said(t=start, duration_s=took, text=verb.text, loop=count))
        elif verb.name == "Play":
            digits = verb.attributes.get("digits")
            url = f"digits:{digits}" if digits else verb.text
            ctx.record(Played(t=start, duration_s=took, url=url, loop=count))
        else:
            ctx.record(Paused(t=start, duration_s=took))

    async def _redirect(self, verb: Verb, document: Document) -> _Step:
        if not verb.text:
            self.ctx.record(Skipped(t=self.ctx.t(), verb="Redirect", reason="no URL"))
            return "next"
        target = document.resolve(verb.text)
        method = verb.attributes.get("method", "POST")
        return await self._follow(await self.ctx.fetch(target, "redirect", method=method), "twiml")

    async def _follow(self, document: Document | None, by: Literal["twiml", "rest"]) -> _Step:
        if document is None:
            await self.fail()
            return "end"
        self.ctx.record(Redirected(t=self.ctx.t(), by=by, url=document.url))
        return document

    async def _action(
        self,
        verb: Verb,
        document: Document,
        purpose: Literal["dial-action", "enqueue-action"],
        params: dict[str, str],
    ) -> _Step:
        action = verb.attributes.get("action")
        if not action:
            return "next"
        method = verb.attributes.get("method", "POST")
        found = await self.ctx.fetch(document.resolve(action), purpose, params, method=method)
        if found is None:
            await self.fail()
            return "end"
        return found

    async def _gather(self, verb: Verb) -> _Step:
        ctx = self.ctx
        for child in verb.children:
            if child.name in ("Say", "Play", "Pause"):
                await self._say(child)
                if ctx.control.interrupted:
                    return "next"
        timeout = verb.attributes.get("timeout")
        try:
            seconds = float(timeout) if timeout else GATHER_TIMEOUT_S
        except ValueError:
            seconds = GATHER_TIMEOUT_S
        await ctx.control.wait(seconds)
        ctx.record(Skipped(t=ctx.t(), verb="Gather", reason="no input from the caller"))
        return "next"
