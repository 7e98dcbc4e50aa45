"""After the agent: what Twilio runs on a call once its media stream has ended.

Twilio facts mirrored (https://www.twilio.com/docs/voice/twiml/connect#action,
https://www.twilio.com/docs/voice/twiml/stream): ``<Connect><Stream>`` blocks the rest of the
TwiML until the server closes the WebSocket (or the stream could not be opened); then Twilio
requests the ``<Connect action>`` URL with the call's parameters and runs the TwiML it answers,
or, without ``action``, runs the verbs after ``</Connect>``. A hang-up ends the call instead, and
a REST update's TwiML replaces both (the stream gets ``stop``).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from twins.twilio.callbacks import send_stream_event, stream_error_text
from twins.twilio.context import CallContext, Document
from twins.twilio.interpreter import TwimlRunner
from twins.twilio.journey import HangupBy, HungUp
from twins.twilio.result import EndReason
from twins.twilio.twiml import Twiml
from twins.twilio.wire import StreamOutcome

if TYPE_CHECKING:
    from twins.twilio.call import SimulatedCall

_HANG_UPS: dict[EndReason, HangupBy] = {
    EndReason.CALLER_HANGUP: "caller",
    EndReason.REST_COMPLETED: "rest",
    EndReason.TIMEOUT: "time-limit",
}


async def continuation(
    call: SimulatedCall, reason: EndReason, document: Document
) -> tuple[Document | None, bool]:
    """What runs once the stream has ended for ``reason``: a document, or None; and whether
    fetching it failed (Twilio then apologises and hangs up)."""
    if not call.config.after_stream.follow_twiml:
        return None, False
    if reason in _HANG_UPS or call.control.hung_up is not None:
        hung_up = call.control.hung_up
        by = hung_up.by if hung_up is not None else _HANG_UPS.get(reason, "caller")
        call.journey.append(HungUp(t=call_time(call), by=by))
        return None, False
    if call.control.interrupted:  # new TwiML from a REST update: the runner takes it
        return None, False
    spec = document.twiml.stream
    if spec is not None and spec.connect_action:
        action = document.resolve(spec.connect_action)
        method = spec.connect_attributes.get("method", "POST")
        found = await context(call).fetch(action, "connect-action", method=method)
        return found, found is None
    after = document.twiml.after_connect
    return Document(Twiml(document.twiml.source, after, None, after, ()), document.url), False


async def follow_stream(call: SimulatedCall, reason: EndReason, document: Document) -> None:
    """The stream ended for ``reason``: run what Twilio runs next, if anything."""
    found, failed = await continuation(call, reason, document)
    if found is None and not failed and call.control.hung_up is not None:
        return  # hung up during the stream: the continuation recorded it, nothing runs
    if found is not None or failed or call.control.interrupted:
        await after_stream(call, found, failed=failed)


async def after_stream(
    call: SimulatedCall, document: Document | None, *, failed: bool = False
) -> None:
    """Run ``document`` (or the REST update's TwiML pending) until the call ends."""
    call.phase = "after"
    options = call.config.after_stream
    if not options.follow_twiml:
        return
    loop = asyncio.get_running_loop()
    limits = [loop.call_later(options.max_s, call.control.hang_up, "time-limit")]
    if options.hang_up_after_s is not None:
        limits.append(loop.call_later(options.hang_up_after_s, call.control.hang_up, "caller"))
    try:
        await TwimlRunner(context(call)).run(document, failed=failed)
    finally:
        for limit in limits:
            limit.cancel()


def context(call: SimulatedCall) -> CallContext:
    if call.courier is None:
        raise RuntimeError("the call is not running")
    return CallContext(
        call_sid=call.call_sid,
        account_sid=call.account_sid,
        options=call.config.after_stream,
        callees=call.config.callees,
        clock=call.clock,
        origin=call.timeline.origin,
        control=call.control,
        courier=call.courier,
        switchboard=call.switchboard,
        call_params=call.params,
        answer=call.answer,
        journey=call.journey,
        reconnect=call.stream_again,
    )


def call_time(call: SimulatedCall) -> float:
    return call.clock.now() - call.timeline.origin


async def stream_event(
    call: SimulatedCall, document: Document, outcome: StreamOutcome | None
) -> None:
    """``<Stream statusCallback>``: ``stream-started`` (no outcome yet), then ``stream-stopped``,
    or ``stream-error`` for a stream that could not be opened."""
    spec = document.twiml.stream
    if spec is None or not spec.status_callback or call.courier is None:
        return
    error = None
    if outcome is None:
        event = "stream-started"
    elif outcome.error_code is not None:
        event = "stream-error"
        error = stream_error_text(outcome.error_code, outcome.error or "")
    else:
        event = "stream-stopped"
    await send_stream_event(
        call.courier,
        document.resolve(spec.status_callback),
        account_sid=call.account_sid,
        call_sid=call.call_sid,
        stream_sid=call.config.stream_sid,
        name=spec.attributes.get("name"),
        event=event,
        error=error,
        method=spec.attributes.get("statusCallbackMethod", "POST"),
    )
