"""Placing a call created through the REST API: Twilio dials out and the callee answers.

The callee's phone rings for ``answer_delay_s``, then it is answered by whoever its
:class:`~twins.twilio.amd.Pickup` says. Twilio requests the call's ``Url`` (signed,
``Direction=outbound-api``) or runs its ``Twiml``, and the callee follows a caller script on the
stream like any simulated caller.

Twilio facts mirrored (https://www.twilio.com/docs/voice/api/call-resource#create-a-call-resource,
https://www.twilio.com/docs/voice/answering-machine-detection): with ``MachineDetection`` and
synchronous detection the ``Url`` is requested once detection is done, with ``AnsweredBy``;
with ``AsyncAmd=true`` it is requested at once and the result is POSTed to
``AsyncAmdStatusCallback`` (``AsyncAmdStatusCallbackMethod``) when detection is done.
``StatusCallback`` receives the events named in ``StatusCallbackEvent`` (repeated, or
space-separated in one value; default ``completed``), sent by the call itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from twins.twilio.amd import HUMAN, Detection, Pickup, detect
from twins.twilio.call import SimulatedCall
from twins.twilio.callbacks import DEFAULT_STATUS_EVENTS
from twins.twilio.callees import DEFAULT_CALLEES, Callees
from twins.twilio.config import CallConfig
from twins.twilio.durations import DEFAULT_AFTER_STREAM, AfterStream
from twins.twilio.endpoints import Endpoints
from twins.twilio.result import CallResult
from twins.twilio.script import Hangup, Step, WaitForGreeting
from twins.twilio.switchboard import Switchboard

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Callee:
    """Who answers the calls the application places through the REST simulator."""

    server_url: str
    """Where the application actually listens (its ``Url`` and callbacks are delivered here)."""
    public_url: str | None = None
    """The origin the application believes it is at (default: ``server_url``)."""
    script: Sequence[Step] = (WaitForGreeting(), Hangup())
    pickup: Pickup = HUMAN
    """Who or what answers: decides answering machine detection."""
    answer_delay_s: float = 0.0
    """How long the phone rings before it is answered."""
    max_duration_s: float = 300.0
    reply_gap_ms: float = 400.0
    ssl_context: ssl.SSLContext | None = None
    callees: Callees = DEFAULT_CALLEES
    after_stream: AfterStream = DEFAULT_AFTER_STREAM

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
    switchboard: Switchboard,
    attach: Callable[[SimulatedCall], None],
) -> CallResult:
    """Run a created call against the application; return the simulated call's result."""
    values = dict(form)
    events = tuple(
        event for name, value in form if name == "StatusCallbackEvent" for event in value.split()
    )
    detection = detect(callee.pickup, values)
    async_amd = values.get("AsyncAmd", "").lower() == "true"
    synchronous = detection is not None and not async_amd
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
            extra_params={"AnsweredBy": detection.answered_by} if synchronous and detection else {},
            script=callee.script,
            max_duration_s=callee.max_duration_s,
            reply_gap_ms=callee.reply_gap_ms,
            ssl_context=callee.ssl_context,
            status_callback=values.get("StatusCallback") or None,
            status_callback_events=events or DEFAULT_STATUS_EVENTS,
            status_callback_method=values.get("StatusCallbackMethod", "POST"),
            callees=callee.callees,
            after_stream=callee.after_stream,
            ring_s=callee.answer_delay_s,
            amd_s=detection.duration_ms / 1000 if synchronous and detection else 0.0,
        ),
        switchboard=switchboard,
    )
    attach(call)
    reporting: asyncio.Task[None] | None = None
    url = values.get("AsyncAmdStatusCallback")
    if detection is not None and async_amd and url:
        method = values.get("AsyncAmdStatusCallbackMethod", "POST")
        reporting = asyncio.create_task(_report_amd(call, detection, url, method))
    try:
        return await call.run()
    finally:
        if reporting is not None:
            reporting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporting


async def _report_amd(call: SimulatedCall, detection: Detection, url: str, method: str) -> None:
    """Asynchronous detection: the result, once detection has listened long enough."""
    if not await call.wait_answered():
        return
    await asyncio.sleep(detection.duration_ms / 1000)
    if call.courier is None or call.phase == "done":
        return
    call.answered_by = detection.answered_by
    params = {
        "AccountSid": call.account_sid,
        "CallSid": call.call_sid,
        "AnsweredBy": detection.answered_by,
        "MachineDetectionDuration": str(detection.duration_ms),
    }
    await call.courier.send(url, params, method=method)
