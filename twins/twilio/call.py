"""One simulated phone call: Twilio's side, from the first ring to the hang-up.

    config = CallConfig(server_url="http://127.0.0.1:8000", auth_token=token,
                        script=[WaitForGreeting(), Speak(1.5), WaitForReply(), Hangup()])
    result = await SimulatedCall(config).run()

``run`` POSTs the signed voice webhook (or takes TwiML given up front), parses the TwiML, opens
the ``<Stream>`` with a signed upgrade and plays the caller's script on it until the caller hangs
up, the server closes the socket, a REST update ends the stream, or the time limit passes. If the
caller is still on the line then, Twilio goes on with the TwiML after ``</Connect>`` (or the
``<Connect action>``'s, or the REST update's): :mod:`twins.twilio.interpreter` runs it in real
time and the caller's journey records it. Every way a call can fail is an :class:`EndReason` or a
journey entry in the result, not an exception: a refused webhook is a result too.

Call progress events go to the configured ``status_callback``; ``<Stream statusCallback>``
events to the URL in the TwiML (see :mod:`twins.twilio.callbacks`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, Literal

import httpx

from twins.twilio import setup
from twins.twilio.callbacks import Courier, StatusCallbacks
from twins.twilio.clock import AsyncClock, MonotonicClock
from twins.twilio.config import CallConfig, CallStatus
from twins.twilio.context import Document
from twins.twilio.control import LineControl, Wake
from twins.twilio.ending import Ending, build_result, final_status
from twins.twilio.ids import new_stream_sid
from twins.twilio.journey import Entry
from twins.twilio.phase import after_stream, continuation, follow_stream, stream_event
from twins.twilio.result import CallResult, EndReason
from twins.twilio.stream import MediaStream
from twins.twilio.switchboard import Switchboard
from twins.twilio.timeline import Timeline
from twins.twilio.twiml import Twiml, TwimlError, parse_twiml
from twins.twilio.webhook import WebhookExchange, default_ssl_context

logger = logging.getLogger(__name__)

Phase = Literal["setup", "stream", "after", "done"]
"""Setting up (ringing, webhook), in the media stream, after it (TwiML), over."""
_PHASES: tuple[Phase, ...] = ("setup", "stream", "after", "done")
EndHook = Callable[["SimulatedCall"], Awaitable[None]]


class SimulatedCall:
    """Twilio's side of one call. Run it once; REST updates reach it through ``request_end``."""

    def __init__(
        self,
        config: CallConfig,
        *,
        clock: AsyncClock | None = None,
        switchboard: Switchboard | None = None,
    ) -> None:
        self.config = config
        self._clock: AsyncClock = clock or MonotonicClock()
        self.timeline = Timeline(self._clock.now())
        self.status: CallStatus = "queued"
        self.created_at = datetime.now(UTC)
        self.answered_at: datetime | None = None
        self.ended_at: datetime | None = None
        self.redirect: Twiml | None = None
        self.result: CallResult | None = None
        self.control = LineControl()
        self.switchboard = switchboard or Switchboard()
        self._own_switchboard = switchboard is None
        self.journey: list[Entry] = []
        self.courier: Courier | None = None
        self.answered_by: str | None = config.extra_params.get("AnsweredBy")
        self._phase: Phase = "setup"
        self._entered: dict[Phase, asyncio.Event] = {p: asyncio.Event() for p in _PHASES}
        self._stream: MediaStream | None = None
        self._end_request: EndReason | None = None
        self._streaming = asyncio.Event()
        self._answered = asyncio.Event()
        self._done = asyncio.Event()
        self._started = False
        self._end_hooks: list[EndHook] = []
        self._background: set[asyncio.Task[None]] = set()
        self._callbacks: StatusCallbacks | None = None
        self._document: Document | None = None

    @property
    def call_sid(self) -> str:
        return self.config.call_sid

    @property
    def account_sid(self) -> str:
        return self.config.account_sid

    @property
    def phase(self) -> Phase:
        return self._phase

    @phase.setter
    def phase(self, phase: Phase) -> None:
        self._phase = phase
        self._entered[phase].set()

    async def wait_phase(self, phase: Phase) -> bool:
        """Wait until the call reaches ``phase`` (True) or ends without reaching it."""
        return await self._until(self._entered[phase])

    @property
    def clock(self) -> AsyncClock:
        return self._clock

    @property
    def stream(self) -> MediaStream | None:
        """The media stream once connected; ``stream.inbound`` holds the playback buffer."""
        return self._stream

    async def wait_streaming(self) -> bool:
        """Wait until the media stream has started (True) or the call ended without one."""
        return await self._until(self._streaming)

    async def wait_answered(self) -> bool:
        """Wait until the call is answered (True) or ended unanswered."""
        return await self._until(self._answered)

    async def _until(self, event: asyncio.Event) -> bool:
        await LineControl().wait(None, event, self._done)
        return event.is_set()

    async def wait_done(self) -> CallResult:
        await self._done.wait()
        if self.result is None:
            raise RuntimeError(f"call {self.call_sid} ended without a result")
        return self.result

    def on_end(self, hook: EndHook) -> None:
        """Await ``hook(call)`` when the call has ended, before ``completed`` is reported."""
        self._end_hooks.append(hook)

    def hang_up(self) -> None:
        """The caller hangs up now, whatever Twilio is doing on the call."""
        self.request_end(EndReason.CALLER_HANGUP)

    def request_end(
        self, reason: EndReason, *, redirect: Twiml | None = None, redirect_url: str | None = None
    ) -> None:
        """End what the call is doing: a hang-up (the caller's, REST ``Status=completed``) or
        new TwiML (a REST ``Twiml=``/``Url=`` update), which ends the stream and then runs."""
        if self._done.is_set():
            return
        if reason is EndReason.REST_REDIRECTED and redirect is not None:
            if self.phase in ("setup", "stream") and self.redirect is None:
                self.redirect = redirect
            self.control.replace(redirect, redirect_url)
        else:
            self.control.hang_up("caller" if reason is EndReason.CALLER_HANGUP else "rest")
        if self.phase == "stream" and self._stream is not None:
            self._stream.request_end(reason)
        elif self.phase == "setup" and self._end_request is None:
            self._end_request = reason

    async def run(self) -> CallResult:
        if self._started:
            raise RuntimeError("a SimulatedCall runs only once")
        self._started = True
        cfg = self.config
        try:
            verify = cfg.ssl_context or default_ssl_context()
            async with httpx.AsyncClient(trust_env=False, verify=verify) as client:
                self.courier = Courier(
                    client, cfg.endpoints, auth_token=cfg.auth_token, timeout_s=cfg.http_timeout_s
                )
                self._callbacks = setup.status_callbacks(self.courier, cfg)
                ending = await self._run()
                await asyncio.gather(*self._background)
                self._mark_ended(final_status(self))
                self.phase = "done"
                for hook in self._end_hooks:
                    await hook(self)
                await self._progress("completed")
                self.result = build_result(self, ending)
                logger.info(
                    "simulated call %s ended: %s, %s", cfg.call_sid, ending.reason, self.status
                )
                return self.result
        finally:
            if self.ended_at is None:
                self._mark_ended(final_status(self))
            self.phase = "done"
            for task in self._background:
                task.cancel()
            if self._own_switchboard:
                await self.switchboard.aclose()
            self._done.set()

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run ``coroutine`` alongside the call; the call ends after it."""
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def params(self) -> dict[str, str]:
        """The standard parameters of Twilio's requests about this call, as it is now."""
        return self.config.webhook_params() | {"CallStatus": self.status}

    def answer(self) -> None:
        if self.answered_at is not None:
            return
        self.status = "in-progress"
        self.answered_at = datetime.now(UTC)
        self._answered.set()
        self.spawn(self._progress("answered"))

    def _mark_ended(self, status: CallStatus) -> None:
        self.status = status
        self.ended_at = datetime.now(UTC)

    async def _progress(self, event: str) -> None:
        if self._callbacks is not None:
            await self._callbacks.send(event, setup.progress_params(self, event))

    async def _run(self) -> Ending:
        cfg = self.config
        caller = setup.caller(cfg)  # built first: a bad WAV file fails before anything is sent
        self.timeline.origin = self._clock.now()
        outbound = cfg.direction != "inbound"
        if outbound:
            await self._progress("initiated")
        self.status = "ringing"
        await self._progress("ringing")
        if outbound:
            if await self.control.wait(cfg.ring_s) is Wake.INTERRUPTED:
                return setup.hung_up_while_ringing(self)
            self.answer()
            if await self.control.wait(cfg.amd_s) is Wake.INTERRUPTED:
                return setup.hung_up_while_ringing(self)
        exchange: WebhookExchange | None = None
        source, url = cfg.twiml, cfg.voice_url if cfg.twiml is None else None
        if source is None:
            exchange = await setup.post_webhook(self)
            if not exchange.ok:
                logger.warning(
                    "voice webhook of %s failed: %s", cfg.call_sid, exchange.status or "no answer"
                )
                return await self._fail(
                    Ending(EndReason.WEBHOOK_FAILED, webhook=exchange, error=exchange.error)
                )
            source = exchange.body
        try:
            twiml = parse_twiml(source)
        except TwimlError as exc:
            logger.warning("call %s got unusable TwiML: %s", cfg.call_sid, exc)
            return await self._fail(Ending(EndReason.BAD_TWIML, webhook=exchange, error=str(exc)))
        self._document = document = Document(twiml, url)
        if not setup.rings_until_bridged(twiml):
            self.answer()
        if twiml.stream is None:
            await after_stream(self, document)
            return Ending(EndReason.NO_STREAM, webhook=exchange, twiml=twiml)
        if self._end_request is not None:
            reason = self._end_request
            await follow_stream(self, reason, document)
            return Ending(reason, webhook=exchange, twiml=twiml)
        self._stream = MediaStream(
            setup.stream_setup(cfg, twiml.stream),
            caller,
            self.timeline,
            self._clock,
            on_start=self._stream_started,
        )
        self.phase = "stream"
        outcome = await self._stream.run()
        await asyncio.gather(*self._background)  # stream-started is reported before the end
        await stream_event(self, document, outcome)
        await follow_stream(self, outcome.end_reason, document)
        return Ending(
            outcome.end_reason,
            webhook=exchange,
            twiml=twiml,
            outcome=outcome,
            steps=tuple(caller.records),
        )

    async def _fail(self, ending: Ending) -> Ending:
        """No TwiML to run: Twilio answers to say an application error occurred, and hangs up."""
        self.answer()
        await after_stream(self, None, failed=True)
        return ending

    async def stream_again(self, document: Document) -> tuple[Document | None, bool]:
        """A ``<Connect><Stream>`` in TwiML run after the first stream: a new stream (its own
        StreamSid) on which the caller follows ``return_script``; then what Twilio runs after
        it (``phase.continuation``)."""
        spec = document.twiml.stream
        assert spec is not None
        cfg = dataclasses.replace(
            self.config, stream_sid=new_stream_sid(), script=self.config.return_script
        )
        self._stream = stream = MediaStream(
            setup.stream_setup(cfg, spec), setup.caller(cfg), self.timeline, self._clock
        )
        self.phase = "stream"
        outcome = await stream.run()
        self.phase = "after"
        await stream_event(self, document, outcome)
        return await continuation(self, outcome.end_reason, document)

    def _stream_started(self) -> None:
        self._streaming.set()
        if self._document is not None:
            self.spawn(stream_event(self, self._document, None))
