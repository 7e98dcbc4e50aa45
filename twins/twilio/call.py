"""One simulated phone call: Twilio's side, from the voice webhook to the end of the stream.

    config = CallConfig(server_url="http://127.0.0.1:8000", auth_token=token,
                        script=[WaitForGreeting(), Speak(1.5), WaitForReply(), Hangup()])
    result = await SimulatedCall(config).run()

``run`` POSTs the signed voice webhook (or takes TwiML given up front), parses the TwiML, opens
the ``<Stream>`` with a signed upgrade and plays the caller's script on it until the caller hangs
up, the server closes the socket, a REST update ends the stream, or the time limit passes. Every
way a call can fail is an :class:`EndReason` in the result, not an exception: a refused webhook
is a result too.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import httpx

from telephony.audio import ulaw_to_pcm16
from twins.twilio.caller import Caller, StepRecord
from twins.twilio.clock import AsyncClock, MonotonicClock
from twins.twilio.config import CallConfig, CallStatus
from twins.twilio.metrics import compute_metrics
from twins.twilio.protocol import Violation
from twins.twilio.result import CallResult, EndReason
from twins.twilio.stream import MediaStream, StreamOutcome, StreamSetup
from twins.twilio.timeline import EventKind, Timeline
from twins.twilio.twiml import Twiml, TwimlError, Verb, parse_twiml, stream_url_problems
from twins.twilio.wavfile import write_wav
from twins.twilio.webhook import WebhookExchange, default_ssl_context, post_signed

logger = logging.getLogger(__name__)


class SimulatedCall:
    """Twilio's side of one call. Run it once; REST updates reach it through ``request_end``."""

    def __init__(self, config: CallConfig, *, clock: AsyncClock | None = None) -> None:
        self.config = config
        self._clock: AsyncClock = clock or MonotonicClock()
        self.timeline = Timeline(self._clock.now())
        self.status: CallStatus = "queued"
        self.created_at = datetime.now(UTC)
        self.answered_at: datetime | None = None
        self.ended_at: datetime | None = None
        self.redirect: Twiml | None = None
        self.result: CallResult | None = None
        self._stream: MediaStream | None = None
        self._end_request: EndReason | None = None
        self._streaming = asyncio.Event()
        self._done = asyncio.Event()
        self._started = False

    @property
    def call_sid(self) -> str:
        return self.config.call_sid

    @property
    def account_sid(self) -> str:
        return self.config.account_sid

    @property
    def stream(self) -> MediaStream | None:
        """The media stream once connected; ``stream.inbound`` holds the playback buffer."""
        return self._stream

    async def wait_streaming(self) -> bool:
        """Wait until the media stream has started (True) or the call ended without one."""
        streaming = asyncio.ensure_future(self._streaming.wait())
        done = asyncio.ensure_future(self._done.wait())
        try:
            await asyncio.wait({streaming, done}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            streaming.cancel()
            done.cancel()
        return self._streaming.is_set()

    async def wait_done(self) -> CallResult:
        await self._done.wait()
        if self.result is None:
            raise RuntimeError(f"call {self.call_sid} ended without a result")
        return self.result

    def request_end(self, reason: EndReason, *, redirect: Twiml | None = None) -> None:
        """End the call from Twilio's side: a hang-up (REST ``Status=completed``) or new TwiML.

        A call already transferred by new TwiML is only marked completed.
        """
        if redirect is not None:
            self.redirect = redirect
        if self._done.is_set():
            if reason is EndReason.REST_COMPLETED and self.status == "in-progress":
                self._mark_ended("completed")
            return
        if self._end_request is None:
            self._end_request = reason
        if self._stream is not None:
            self._stream.request_end(reason)

    async def run(self) -> CallResult:
        if self._started:
            raise RuntimeError("a SimulatedCall runs only once")
        self._started = True
        result: CallResult | None = None
        try:
            result = self.result = await self._run()
            return result
        finally:
            transferred = result is not None and result.end_reason is EndReason.REST_REDIRECTED
            if not transferred:
                self._mark_ended("completed")
            self._done.set()

    def _mark_ended(self, status: CallStatus) -> None:
        self.status = status
        self.ended_at = datetime.now(UTC)

    async def _run(self) -> CallResult:
        cfg = self.config
        caller = Caller(  # built first: a bad WAV file fails before anything is sent
            cfg.script,
            seed=cfg.seed,
            reply_gap_ms=cfg.reply_gap_ms,
            comfort_noise_dbfs=cfg.comfort_noise_dbfs,
            hang_up_at_end=cfg.hang_up_at_end,
        )
        self.timeline.origin = self._clock.now()
        self.status = "ringing"
        exchange: WebhookExchange | None = None
        source = cfg.twiml
        if source is None:
            exchange = await self._post_webhook()
            if not exchange.ok:
                logger.warning(
                    "voice webhook of %s failed: %s", cfg.call_sid, exchange.status or "no answer"
                )
                return self._result(
                    EndReason.WEBHOOK_FAILED, webhook=exchange, error=exchange.error
                )
            source = exchange.body
        try:
            twiml = parse_twiml(source)
        except TwimlError as exc:
            logger.warning("call %s got unusable TwiML: %s", cfg.call_sid, exc)
            return self._result(EndReason.BAD_TWIML, webhook=exchange, error=str(exc))
        self.status = "in-progress"
        self.answered_at = datetime.now(UTC)
        if twiml.stream is None:
            return self._result(EndReason.NO_STREAM, webhook=exchange, twiml=twiml)
        if self._end_request is not None:
            return self._result(self._end_request, webhook=exchange, twiml=twiml)
        self._stream = MediaStream(
            StreamSetup(
                url=twiml.stream.url,
                connect_url=cfg.endpoints.actual(twiml.stream.url),
                auth_token=cfg.auth_token,
                account_sid=cfg.account_sid,
                call_sid=cfg.call_sid,
                stream_sid=cfg.stream_sid,
                custom_parameters=dict(twiml.stream.parameters),
                connect_timeout_s=cfg.connect_timeout_s,
                max_duration_s=cfg.max_duration_s,
                ssl_context=cfg.ssl_context,
            ),
            caller,
            self.timeline,
            self._clock,
            on_start=self._streaming.set,
        )
        outcome = await self._stream.run()
        return self._result(
            outcome.end_reason,
            webhook=exchange,
            twiml=twiml,
            outcome=outcome,
            steps=tuple(caller.records),
        )

    async def _post_webhook(self) -> WebhookExchange:
        cfg = self.config
        verify = cfg.ssl_context or default_ssl_context()
        self.timeline.add(self._clock.now(), EventKind.WEBHOOK_SENT)
        async with httpx.AsyncClient(trust_env=False, verify=verify) as client:
            exchange = await post_signed(
                client,
                cfg.endpoints,
                url=cfg.voice_url,
                auth_token=cfg.auth_token,
                params=cfg.webhook_params(),
                timeout_s=cfg.http_timeout_s,
            )
        self.timeline.add(self._clock.now(), EventKind.WEBHOOK_ANSWERED, status=exchange.status)
        return exchange

    def _result(
        self,
        reason: EndReason,
        *,
        webhook: WebhookExchange | None = None,
        twiml: Twiml | None = None,
        outcome: StreamOutcome | None = None,
        steps: tuple[StepRecord, ...] = (),
        error: str | None = None,
    ) -> CallResult:
        cfg = self.config
        spec = twiml.stream if twiml is not None else None
        redirect = self.redirect if reason is EndReason.REST_REDIRECTED else None
        next_verbs: tuple[Verb, ...] = ()
        if twiml is not None and spec is None:
            next_verbs = twiml.verbs
        elif redirect is not None:
            next_verbs = redirect.verbs
        elif (
            twiml is not None
            and spec is not None
            and not reason.sends_stop
            and spec.connect_action is None
        ):
            next_verbs = twiml.after_connect
        stream = self._stream
        heard = said = b""
        violations: tuple[Violation, ...] = ()
        if stream is not None:
            said = bytes(stream.said)
            if stream.inbound is not None:
                heard = stream.inbound.playout.heard()
                violations = tuple(stream.inbound.violations)
        if cfg.heard_wav is not None:
            write_wav(cfg.heard_wav, ulaw_to_pcm16(heard))
        if cfg.said_wav is not None:
            write_wav(cfg.said_wav, ulaw_to_pcm16(said))
        logger.info("simulated call %s ended: %s", cfg.call_sid, reason)
        return CallResult(
            call_sid=cfg.call_sid,
            account_sid=cfg.account_sid,
            stream_sid=cfg.stream_sid,
            direction=cfg.direction,
            end_reason=reason,
            timeline=self.timeline,
            metrics=compute_metrics(self.timeline, late_frame_ms=cfg.late_frame_ms),
            webhook=webhook,
            twiml=twiml,
            twiml_problems=tuple(stream_url_problems(spec)) if spec is not None else (),
            stream_url=spec.url if spec is not None else None,
            stream_connect_url=cfg.endpoints.actual(spec.url) if spec is not None else None,
            stream_rejected_status=outcome.rejected_status if outcome else None,
            close_code=outcome.close_code if outcome else None,
            close_reason=outcome.close_reason if outcome else None,
            error=error if outcome is None else outcome.error,
            redirect=redirect,
            next_verbs=next_verbs,
            steps=steps,
            violations=violations,
            heard_ulaw=heard,
            said_ulaw=said,
            heard_wav=cfg.heard_wav,
            said_wav=cfg.said_wav,
        )
