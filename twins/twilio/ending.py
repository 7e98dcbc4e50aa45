"""How a call ended, turned into its :class:`~twins.twilio.result.CallResult`.

The final status mirrors Twilio's call statuses
(https://www.twilio.com/docs/voice/api/call-resource#call-status-values): ``completed`` for a
call that was answered, whoever hung up; ``canceled`` for one hung up (over REST, or by the
caller) while it was still ringing; otherwise the outcome of the ``<Dial>`` it waited on
(``busy``, ``no-answer``, ``failed``; ``<Dial answerOnBridge>`` keeps a call ringing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from telephony.audio import ulaw_to_pcm16
from twins.twilio.caller import StepRecord
from twins.twilio.config import CallStatus
from twins.twilio.journey import Dialled
from twins.twilio.metrics import compute_metrics
from twins.twilio.protocol import Violation
from twins.twilio.result import CallResult, EndReason
from twins.twilio.twiml import Twiml, Verb, stream_url_problems
from twins.twilio.wavfile import write_wav
from twins.twilio.webhook import WebhookExchange
from twins.twilio.wire import StreamOutcome

if TYPE_CHECKING:
    from twins.twilio.call import SimulatedCall

_UNANSWERED: dict[str, CallStatus] = {"busy": "busy", "no-answer": "no-answer", "failed": "failed"}


@dataclass(frozen=True)
class Ending:
    """How the agent's part of a call ended, and what was exchanged on the way."""

    reason: EndReason
    webhook: WebhookExchange | None = None
    twiml: Twiml | None = None
    outcome: StreamOutcome | None = None
    steps: tuple[StepRecord, ...] = ()
    error: str | None = None


def final_status(call: SimulatedCall) -> CallStatus:
    if call.answered_at is not None:
        return "completed"
    if call.control.hung_up is not None and call.control.hung_up.by in ("caller", "rest"):
        return "canceled"
    dials = [entry for entry in call.journey if isinstance(entry, Dialled)]
    if dials and dials[-1].status in _UNANSWERED:
        return _UNANSWERED[dials[-1].status]
    return "canceled"


def build_result(call: SimulatedCall, ending: Ending) -> CallResult:
    cfg = call.config
    reason, twiml, outcome = ending.reason, ending.twiml, ending.outcome
    spec = twiml.stream if twiml is not None else None
    redirect = call.redirect if reason is EndReason.REST_REDIRECTED else None
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
    stream = call.stream
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
    return CallResult(
        call_sid=cfg.call_sid,
        account_sid=cfg.account_sid,
        stream_sid=cfg.stream_sid,
        direction=cfg.direction,
        end_reason=reason,
        timeline=call.timeline,
        metrics=compute_metrics(call.timeline, late_frame_ms=cfg.late_frame_ms),
        webhook=ending.webhook,
        twiml=twiml,
        twiml_problems=tuple(stream_url_problems(spec)) if spec is not None else (),
        stream_url=spec.url if spec is not None else None,
        stream_connect_url=cfg.endpoints.actual(spec.url) if spec is not None else None,
        stream_rejected_status=outcome.rejected_status if outcome else None,
        close_code=outcome.close_code if outcome else None,
        close_reason=outcome.close_reason if outcome else None,
        error=ending.error if outcome is None else outcome.error,
        redirect=redirect,
        next_verbs=next_verbs,
        steps=ending.steps,
        violations=violations,
        heard_ulaw=heard,
        said_ulaw=said,
        heard_wav=cfg.heard_wav,
        said_wav=cfg.said_wav,
        final_status=call.status,
        journey=tuple(call.journey),
        requests=tuple(call.courier.exchanges) if call.courier is not None else (),
        answered_by=call.answered_by,
    )
