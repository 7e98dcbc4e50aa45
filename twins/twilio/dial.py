"""``<Dial>``: ringing numbers, SIP URIs and clients, or entering a conference.

Twilio facts mirrored (https://www.twilio.com/docs/voice/twiml/dial and the pages of its nouns
``<Number>``, ``<Sip>``, ``<Client>``, ``<Conference>``):

- Up to ten ``<Number>``/``<Client>``/``<Sip>`` nouns ring at once; the first to answer is
  connected and the others are hung up. Text directly inside ``<Dial>`` is one number.
- ``timeout`` (default 30 s, 5-600) is how long to ring; ``timeLimit`` (default 14400 s) caps
  the conversation; ``callerId`` is what the callee sees; with ``answerOnBridge`` a call that
  is still ringing is answered only when the callee answers.
- When the dialled call ends, Twilio requests ``action`` (if given) with ``DialCallStatus``
  (completed, answered, busy, no-answer, failed, canceled), ``DialCallSid``,
  ``DialCallDuration`` and ``DialBridged``, and runs the TwiML it answers; without ``action``
  it goes on with the next verb. ``canceled`` is a dial ended by a REST update before answer.
- ``<Conference>`` puts the caller in a room (see :mod:`twins.twilio.conference`); the ``<Dial>``
  ends when the caller leaves it. Its ``DialCallStatus`` is ``answered``. The room's
  ``statusCallback`` events are sent by the call that created the room.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

import httpx

from twins.twilio.callees import Party
from twins.twilio.conference import DEFAULT_STATUS_EVENTS, Participant
from twins.twilio.context import CallContext, Document
from twins.twilio.control import Wake
from twins.twilio.ids import new_call_sid
from twins.twilio.journey import Conferenced, DialKind, Dialled, Skipped
from twins.twilio.twiml import Verb
from twins.twilio.waiting import HoldMusic

logger = logging.getLogger(__name__)

DIAL_TIMEOUT_S = 30
DIAL_TIMEOUT_RANGE = (5, 600)
TIME_LIMIT_S = 14400
_KINDS: dict[str, DialKind] = {"Number": "number", "Sip": "sip", "Client": "client"}


@dataclass(frozen=True)
class DialOutcome:
    """How a ``<Dial>`` ended: ``params`` go to its ``action``; ``interrupted`` means a hang-up
    or new TwiML cut it short (then the action is not requested)."""

    status: str
    params: dict[str, str] = field(default_factory=dict)
    interrupted: bool = False


async def run_dial(ctx: CallContext, verb: Verb, document: Document) -> DialOutcome:
    nouns = [child for child in verb.children if child.name in (*_KINDS, "Conference", "Queue")]
    if not nouns and verb.text:
        nouns = [Verb("Number", text=verb.text)]
    conference = next((noun for noun in nouns if noun.name == "Conference"), None)
    if conference is not None:
        return await _conference(ctx, conference, document)
    legs = [noun for noun in nouns if noun.name in _KINDS]
    if not legs:
        reason = "a <Queue> is dequeued by agents, not callers" if nouns else "nothing to dial"
        ctx.record(Skipped(t=ctx.t(), verb="Dial", reason=reason))
        return DialOutcome("failed", _params("failed", None, 0.0, bridged=False))
    return await _ring(ctx, verb, legs)


async def _ring(ctx: CallContext, verb: Verb, legs: list[Verb]) -> DialOutcome:
    attributes = verb.attributes
    timeout_s = _clamp(attributes.get("timeout"), DIAL_TIMEOUT_S, *DIAL_TIMEOUT_RANGE)
    time_limit_s = _clamp(attributes.get("timeLimit"), TIME_LIMIT_S, 1, TIME_LIMIT_S)
    on_bridge = attributes.get("answerOnBridge", "false").lower() == "true"
    targets = [_target(leg) for leg in legs]
    parties = [ctx.callees.party(target) for target in targets]
    start, dial_sid = ctx.t(), new_call_sid()
    answering = [
        (party.after_s, index)
        for index, party in enumerate(parties)
        if party.outcome == "answer" and party.after_s <= timeout_s
    ]
    answered_by: str | None = None
    answered_after: float | None = None
    talked = 0.0
    if answering:
        after, index = min(answering)
        wake = await ctx.control.wait(after)
        if wake is not Wake.INTERRUPTED:
            answered_by, answered_after = targets[index], ctx.t() - start
            if on_bridge:
                ctx.answer()
            talk_start = ctx.t()
            wake = await ctx.control.wait(min(parties[index].talk_s, time_limit_s))
            talked = ctx.t() - talk_start
        status = "completed" if answered_by is not None else "canceled"
    else:
        status, ends_after = _unanswered(parties, timeout_s)
        wake = await ctx.control.wait(ends_after)
        if wake is Wake.INTERRUPTED:
            status = "canceled"
    ctx.record(
        Dialled(
            t=start,
            duration_s=ctx.t() - start,
            kind=_KINDS[legs[0].name],
            targets=tuple(targets),
            status=status,
            dial_call_sid=dial_sid,
            answered_by=answered_by,
            answered_after_s=answered_after,
            talked_s=talked,
            caller_id=attributes.get("callerId"),
            timeout_s=timeout_s,
            answer_on_bridge=on_bridge,
        )
    )
    params = _params(status, dial_sid, talked, bridged=answered_by is not None)
    return DialOutcome(status, params, interrupted=wake is Wake.INTERRUPTED)


def _unanswered(parties: list[Party], timeout_s: float) -> tuple[str, float]:
    """The status of a dial nobody answers in time, and when it ends."""
    if any(party.outcome in ("answer", "no-answer") for party in parties):
        return "no-answer", timeout_s
    ends_after = min(timeout_s, max(party.after_s for party in parties))
    if all(party.outcome == "failed" for party in parties):
        return "failed", ends_after
    return "busy", ends_after


async def _conference(ctx: CallContext, noun: Verb, document: Document) -> DialOutcome:
    attributes = noun.attributes
    name = noun.text
    room, created = ctx.switchboard.open_conference(name, ctx.account_sid)
    if created:
        ctx.switchboard.start_joiners(room, ctx.callees.conference(name))
    me = Participant(
        ctx.call_sid,
        start_conference_on_enter=_flag(attributes.get("startConferenceOnEnter"), True),
        end_conference_on_exit=_flag(attributes.get("endConferenceOnExit"), False),
        muted=_flag(attributes.get("muted"), False),
    )
    deliveries: set[asyncio.Task[None]] = set()
    callback = attributes.get("statusCallback")
    if callback and created:
        url, method = document.resolve(callback), attributes.get("statusCallbackMethod", "POST")
        words = attributes.get("statusCallbackEvent", " ".join(DEFAULT_STATUS_EVENTS)).split()

        def notify(params: dict[str, str]) -> None:
            task = asyncio.create_task(_deliver(ctx, url, params, method))
            deliveries.add(task)
            task.add_done_callback(deliveries.discard)

        room.subscribe(words, notify)
    start = ctx.t()
    room.join(me)
    ctx.switchboard.entered(ctx.call_sid)
    music = HoldMusic(
        ctx, attributes.get("waitUrl"), document, method=attributes.get("waitMethod", "POST")
    )
    playing = asyncio.create_task(music.run())
    try:
        wake = await ctx.control.wait(None, room.started, me.left)
    finally:
        playing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await playing
    waited = ctx.t() - start
    if wake is Wake.EVENT and not me.left.is_set():
        wake = await ctx.control.wait(None, me.left)
    if wake is Wake.INTERRUPTED:
        hung_up = ctx.control.hung_up is not None
        room.leave(ctx.call_sid, "hung-up" if hung_up else "interrupted")
    # The events of this call's stay are sent before the call moves on (its requests, and the
    # HTTP client they use, end with the call).
    await asyncio.gather(*deliveries, return_exceptions=True)
    ctx.record(
        Conferenced(
            t=start,
            duration_s=ctx.t() - start,
            name=name,
            conference_sid=room.sid,
            waited_s=waited,
            ended=me.left_because or "interrupted",
            wait_url_requests=music.requests,
        )
    )
    params = {"DialCallStatus": "answered", "ConferenceSid": room.sid}
    return DialOutcome("answered", params, interrupted=wake is Wake.INTERRUPTED)


async def _deliver(ctx: CallContext, url: str, params: dict[str, str], method: str) -> None:
    """One conference status event, sent like the call's other requests (signed)."""
    try:
        await ctx.courier.send(url, params, method=method)
    except (httpx.HTTPError, RuntimeError):  # the call's HTTP client closed with the call
        logger.info("a conference status event could not be sent")


def _target(leg: Verb) -> str:
    if leg.name == "Client":
        identity = next((c.text for c in leg.children if c.name == "Identity"), leg.text)
        return "client:" + identity.strip()
    return leg.text.strip()


def _params(status: str, dial_sid: str | None, talked: float, *, bridged: bool) -> dict[str, str]:
    params = {
        "DialCallStatus": status,
        "DialCallDuration": str(int(talked)),
        "DialBridged": "true" if bridged else "false",
    }
    if dial_sid is not None:
        params["DialCallSid"] = dial_sid
    return params


def _clamp(value: str | None, default: int, low: int, high: int) -> int:
    try:
        number = int(value) if value is not None else default
    except ValueError:
        number = default
    return max(low, min(high, number))


def _flag(value: str | None, default: bool) -> bool:
    return default if value is None else value.strip().lower() == "true"
