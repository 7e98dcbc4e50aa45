"""What a waiting caller hears: the ``waitUrl`` of a queue or a conference, in a loop.

Twilio facts mirrored (https://www.twilio.com/docs/voice/twiml/enqueue#attributes-waiturl,
https://www.twilio.com/docs/voice/twiml/conference#attributes-waiturl): while the caller waits,
Twilio requests the ``waitUrl`` (POST unless ``waitUrlMethod``/``waitMethod`` says GET) and plays
the TwiML it answers (``<Say>``, ``<Play>``, ``<Pause>``), then requests it again. For a queue,
``<Leave>`` takes the caller out of the queue (``QueueResult=leave``), ``<Hangup>`` ends the call
and ``<Redirect>`` moves the caller out of the queue to other TwiML (``redirected``). Without a
``waitUrl`` Twilio plays its own hold music, which the simulator does not request.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Literal

from twins.twilio.context import CallContext, Document
from twins.twilio.durations import verb_seconds

HoldEnd = Literal["leave", "hangup", "redirect"]


class HoldMusic:
    """Runs a ``waitUrl`` in a loop (as a task); :attr:`done` is set when its TwiML ends the
    wait by itself (``<Leave>``, ``<Hangup>``, ``<Redirect>``)."""

    def __init__(
        self,
        ctx: CallContext,
        url: str | None,
        document: Document,
        *,
        method: str = "POST",
        extra: Callable[[], dict[str, str]] = dict,
        queue: bool = False,
    ) -> None:
        self._ctx, self._document, self._method = ctx, document, method
        self._url = document.resolve(url) if url else None
        self._extra, self._queue = extra, queue
        self.done = asyncio.Event()
        self.end: HoldEnd | None = None
        self.redirect: Document | None = None
        self.requests = 0

    async def run(self) -> None:
        if self._url is None:
            return
        while True:
            self.requests += 1
            document = await self._ctx.fetch(
                self._url, "wait-url", self._extra(), method=self._method, record=False
            )
            if document is None:
                return  # silence until the wait ends
            played = await self._play(document)
            if self.done.is_set() or played == 0:
                return

    async def _play(self, document: Document) -> float:
        total = 0.0
        for verb in document.twiml.verbs:
            if verb.name in ("Say", "Play", "Pause"):
                seconds = verb_seconds(verb, self._ctx.options)
                if math.isinf(seconds):
                    await asyncio.Event().wait()  # plays until the wait ends
                await asyncio.sleep(seconds)
                total += seconds
            elif verb.name == "Leave" and self._queue:
                self._finish("leave")
                return total
            elif verb.name == "Hangup":
                self._finish("hangup")
                return total
            elif verb.name == "Redirect" and verb.text:
                method = verb.attributes.get("method", "POST")
                target = document.resolve(verb.text)
                self.redirect = await self._ctx.fetch(target, "redirect", method=method)
                self._finish("redirect")
                return total
        return total

    def _finish(self, end: HoldEnd) -> None:
        self.end = end
        self.done.set()
