"""Placing a call created through the REST API: Twilio dials out and the callee answers.

The callee "answers" after ``answer_delay_s``; Twilio then requests the call's ``Url`` (signed,
``Direction=outbound-api``) or runs its ``Twiml``, and the callee follows a caller script on the
stream like any simulated caller. With ``MachineDetection`` the answer is ``Callee.answered_by``:
in the webhook's ``AnsweredBy`` (synchronous detection) or POSTed to ``AsyncAmdStatusCallback``
(``AsyncAmd=true``). ``StatusCallback`` receives the events named in ``StatusCallbackEvent``
(default: ``completed``).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx

from twins.twilio.call import SimulatedCall
from twins.twilio.config import API_VERSION, CallConfig
from twins.twilio.endpoints import Endpoints
from twins.twilio.result import CallResult
from twins.twilio.script import Hangup, Step, WaitForGreeting
from twins.twilio.webhook import default_ssl_context, post_signed

logger = logging.getLogger(__name__)

_EVENT_STATUS = {
    "initiated": "queued",
    "ringing": "ringing",
    "answered": "in-progress",
    "completed": "completed",
}


@dataclass(frozen=True, kw_only=True)
class Callee:
    """Who answers the calls the application places through the REST simulator."""

    server_url: str
    """Where the application actually listens (its ``Url`` and callbacks are delivered here)."""
    public_url: str | None = None
    """The origin the application believes it is at (default: ``server_url``)."""
    script: Sequence[Step] = (WaitForGreeting(), Hangup())
    answered_by: str = "human"
    """The answering-machine detection result: human, machine_start, machine_end_beep, ..."""
    answer_delay_s: float = 0.0
    max_duration_s: float = 300.0
    reply_gap_ms: float = 400.0
    ssl_context: ssl.SSLContext | None = None

    @property
    def endpoints(self) -> Endpoints:
        return Endpoints(self.server_url, self.public_url)


async def place_call(
    call_sid: str,
    form: list[tuple[str, str]],
    callee: Callee,
    *,
    account_sid: str,
    auth_token: str,
    attach: Callable[[SimulatedCall], None],
) -> CallResult:
    """Run a created call against the application; return the simulated call's result."""
    values = dict(form)
    events = [value for name, value in form if name == "StatusCallbackEvent"] or ["completed"]
    detect = bool(values.get("MachineDetection"))
    async_amd = values.get("AsyncAmd", "").lower() == "true"
    extra = {"AnsweredBy": callee.answered_by} if detect and not async_amd else {}
    call = SimulatedCall(
        CallConfig(
            server_url=callee.server_url,
            public_url=callee.public_url,
            webhook_url=values.get("Url") or None,
            twiml=values.get("Twiml") or None,
            auth_token=auth_token,
            account_sid=account_sid,
            call_sid=call_sid,
            from_number=values["From"],
            to_number=values["To"],
            direction="outbound-api",
            extra_params=extra,
            script=callee.script,
            max_duration_s=callee.max_duration_s,
            reply_gap_ms=callee.reply_gap_ms,
            ssl_context=callee.ssl_context,
        )
    )
    attach(call)
    verify = callee.ssl_context or default_ssl_context()
    async with httpx.AsyncClient(trust_env=False, verify=verify) as client:
        callbacks = _Callbacks(client, callee, call, values.get("StatusCallback"), events)
        await callbacks.send("initiated")
        await callbacks.send("ringing")
        await asyncio.sleep(callee.answer_delay_s)
        run = asyncio.create_task(call.run())
        if await call.wait_streaming() or call.answered_at is not None:
            await callbacks.send("answered")
            if detect and async_amd and values.get("AsyncAmdStatusCallback"):
                await callbacks.amd(values["AsyncAmdStatusCallback"])
        result = await run
        await callbacks.send("completed")
    return result


class _Callbacks:
    def __init__(
        self,
        client: httpx.AsyncClient,
        callee: Callee,
        call: SimulatedCall,
        url: str | None,
        events: list[str],
    ) -> None:
        self._client, self._callee, self._call = client, callee, call
        self._url, self._events = url, events
        self._sequence = 0

    async def send(self, event: str) -> None:
        if not self._url or event not in self._events:
            return
        cfg = self._call.config
        params = {
            "AccountSid": cfg.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": cfg.call_sid,
            "CallStatus": _EVENT_STATUS[event],
            "Direction": cfg.direction,
            "From": cfg.from_number,
            "To": cfg.to_number,
            "Caller": cfg.from_number,
            "Called": cfg.to_number,
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(self._sequence),
            "Timestamp": format_datetime(datetime.now(UTC)),
        }
        self._sequence += 1
        if event == "completed" and self._call.answered_at is not None:
            ended = self._call.ended_at or datetime.now(UTC)
            params["CallDuration"] = str(int((ended - self._call.answered_at).total_seconds()))
        await self._post(self._url, params)

    async def amd(self, url: str) -> None:
        cfg = self._call.config
        params = {
            "AccountSid": cfg.account_sid,
            "CallSid": cfg.call_sid,
            "AnsweredBy": self._callee.answered_by,
            "MachineDetectionDuration": "2000",
        }
        await self._post(url, params)

    async def _post(self, url: str, params: dict[str, str]) -> None:
        exchange = await post_signed(
            self._client,
            self._callee.endpoints,
            url=url,
            auth_token=self._call.config.auth_token,
            params=params,
            timeout_s=self._call.config.http_timeout_s,
        )
        if not exchange.ok:
            logger.warning("callback for %s answered HTTP %s", self._call.call_sid, exchange.status)
