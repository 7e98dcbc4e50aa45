"""Before the agent: the voice webhook, the stream's setup, and the call's progress reports.

Twilio facts mirrored: the voice webhook is a signed POST of the call's parameters
(https://www.twilio.com/docs/usage/webhooks/voice-webhooks); call progress events carry them too,
``answered`` as ``CallStatus=in-progress``, ``completed`` with ``CallDuration`` (seconds since the
answer) and ``Duration`` (billed minutes, rounded up)
(https://www.twilio.com/docs/voice/api/call-resource#statuscallback); ``<Dial answerOnBridge>``
leaves an incoming call ringing until the dialled party answers
(https://www.twilio.com/docs/voice/twiml/dial#answeronbridge).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twins.twilio.callbacks import Courier, StatusCallbacks
from twins.twilio.caller import Caller
from twins.twilio.config import CallConfig
from twins.twilio.ending import Ending
from twins.twilio.journey import HungUp
from twins.twilio.result import EndReason
from twins.twilio.stream import StreamSetup
from twins.twilio.timeline import EventKind
from twins.twilio.twiml import StreamSpec, Twiml
from twins.twilio.webhook import WebhookExchange, post_signed

if TYPE_CHECKING:
    from twins.twilio.call import SimulatedCall

_PROGRESS_STATUS = {"initiated": "initiated", "ringing": "ringing", "answered": "in-progress"}
SECONDS_PER_BILLED_MINUTE = 60


async def post_webhook(call: SimulatedCall) -> WebhookExchange:
    """The signed voice webhook, with the call's parameters as they are now."""
    cfg = call.config
    if call.courier is None:
        raise RuntimeError("the call is not running")
    call.timeline.add(call.clock.now(), EventKind.WEBHOOK_SENT)
    exchange = await post_signed(
        call.courier.client,
        cfg.endpoints,
        url=cfg.voice_url,
        auth_token=cfg.auth_token,
        params=call.params(),
        timeout_s=cfg.http_timeout_s,
    )
    call.timeline.add(call.clock.now(), EventKind.WEBHOOK_ANSWERED, status=exchange.status)
    return exchange


def caller(cfg: CallConfig) -> Caller:
    return Caller(
        cfg.script,
        seed=cfg.seed,
        reply_gap_ms=cfg.reply_gap_ms,
        comfort_noise_dbfs=cfg.comfort_noise_dbfs,
        hang_up_at_end=cfg.hang_up_at_end,
    )


def status_callbacks(courier: Courier, cfg: CallConfig) -> StatusCallbacks:
    return StatusCallbacks(
        courier, cfg.status_callback, cfg.status_callback_events, method=cfg.status_callback_method
    )


def stream_setup(cfg: CallConfig, spec: StreamSpec) -> StreamSetup:
    return StreamSetup(
        url=spec.url,
        connect_url=cfg.endpoints.actual(spec.url),
        auth_token=cfg.auth_token,
        account_sid=cfg.account_sid,
        call_sid=cfg.call_sid,
        stream_sid=cfg.stream_sid,
        custom_parameters=dict(spec.parameters),
        connect_timeout_s=cfg.connect_timeout_s,
        max_duration_s=cfg.max_duration_s,
        ssl_context=cfg.ssl_context,
        network=cfg.network,
        echo=cfg.echo,
    )


def progress_params(call: SimulatedCall, event: str) -> dict[str, str]:
    """The parameters of a call progress event (``initiated`` ... ``completed``)."""
    params = call.params()
    params["CallStatus"] = _PROGRESS_STATUS.get(event, call.status)
    if call.answered_by is not None:
        params["AnsweredBy"] = call.answered_by
    if event == "completed" and call.answered_at is not None and call.ended_at is not None:
        seconds = int((call.ended_at - call.answered_at).total_seconds())
        params["CallDuration"] = str(seconds)
        params["Duration"] = str(max(1, -(-seconds // SECONDS_PER_BILLED_MINUTE)))
    return params


def hung_up_while_ringing(call: SimulatedCall) -> Ending:
    """Hung up (over REST) while it rang, or while answering machine detection listened."""
    hung_up = call.control.hung_up
    by = hung_up.by if hung_up is not None else "rest"
    call.journey.append(HungUp(t=call.clock.now() - call.timeline.origin, by=by))
    return Ending(EndReason.CALLER_HANGUP if by == "caller" else EndReason.REST_COMPLETED)


def rings_until_bridged(twiml: Twiml) -> bool:
    """Whether the call stays unanswered until a ``<Dial answerOnBridge>`` connects it."""
    first = twiml.verbs[0] if twiml.verbs else None
    return (
        first is not None
        and first.name == "Dial"
        and first.attributes.get("answerOnBridge", "false").lower() == "true"
    )
