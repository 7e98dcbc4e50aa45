"""``<Enqueue>``: the caller waits in a queue until an agent takes the call, or leaves.

Twilio facts mirrored (https://www.twilio.com/docs/voice/twiml/enqueue):

- The caller waits in the named queue (created on first use), hearing the ``waitUrl``, which is
  requested with ``QueuePosition``, ``QueueSid``, ``QueueTime``, ``AvgQueueTime``,
  ``CurrentQueueSize`` and ``MaxQueueSize`` besides the call's parameters.
- When the call leaves the queue Twilio requests ``action`` (if given) with ``QueueResult``
  (bridged, queue-full, system-error, hangup, redirected, leave, error), ``QueueSid`` and
  ``QueueTime`` (seconds waited), and runs the TwiML it answers; without ``action`` it goes on
  with the next verb. A call that was bridged to an agent gets there when that conversation ends.
- With ``workflowSid`` the call goes to TaskRouter instead of a named queue; the simulator
  treats the workflow as a queue named ``workflow:<sid>``.

Who takes the call, and when, is the call's :class:`~twins.twilio.callees.QueuePlan`.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from twins.twilio.context import CallContext, Document
from twins.twilio.control import Wake
from twins.twilio.journey import Enqueued
from twins.twilio.twiml import Verb
from twins.twilio.waiting import HoldMusic

MAX_QUEUE_SIZE = 100
"""Twilio's default ``MaxSize`` of a queue."""


@dataclass(frozen=True)
class EnqueueOutcome:
    """How the caller left the queue; ``params`` go to the ``action``. ``hung_up`` means the
    wait music's ``<Hangup>`` ended the call; ``redirect`` is TwiML its ``<Redirect>`` fetched."""

    result: str
    params: dict[str, str] = field(default_factory=dict)
    interrupted: bool = False
    hung_up: bool = False
    redirect: Document | None = None


async def run_enqueue(ctx: CallContext, verb: Verb, document: Document) -> EnqueueOutcome:
    attributes = verb.attributes
    workflow = attributes.get("workflowSid")
    name = verb.text or (f"workflow:{workflow}" if workflow else "")
    queue = ctx.switchboard.queue(name)
    queue.members.append(ctx.call_sid)
    plan = ctx.callees.queue(name)
    start = ctx.t()

    def wait_params() -> dict[str, str]:
        waited = ctx.t() - start
        return {
            "QueueSid": queue.sid,
            "QueuePosition": str(queue.members.index(ctx.call_sid) + 1),
            "QueueTime": str(int(waited)),
            "AvgQueueTime": str(int(queue.average_wait_s)),
            "CurrentQueueSize": str(len(queue.members)),
            "MaxQueueSize": str(MAX_QUEUE_SIZE),
        }

    music = HoldMusic(
        ctx,
        attributes.get("waitUrl"),
        document,
        method=attributes.get("waitUrlMethod", "POST"),
        extra=wait_params,
        queue=True,
    )
    playing = asyncio.create_task(music.run())
    try:
        wake = await ctx.control.wait(plan.answered_after_s, music.done)
    finally:
        playing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await playing
    waited = ctx.t() - start
    queue.members.remove(ctx.call_sid)
    queue.waits_s.append(waited)
    talked = 0.0
    if wake is Wake.TIMEOUT:  # an agent took the call
        result = "bridged"
        talk_start = ctx.t()
        wake = await ctx.control.wait(plan.talk_s)
        talked = ctx.t() - talk_start
    elif wake is Wake.EVENT:
        result = {"leave": "leave", "hangup": "hangup", "redirect": "redirected"}[music.end or ""]
    else:
        hung_up = ctx.control.hung_up is not None
        result = "hangup" if hung_up else "redirected"
    ctx.record(
        Enqueued(
            t=start,
            duration_s=ctx.t() - start,
            queue=name,
            queue_sid=queue.sid,
            result=result,
            waited_s=waited,
            talked_s=talked,
            wait_url_requests=music.requests,
        )
    )
    params = {"QueueResult": result, "QueueSid": queue.sid, "QueueTime": str(int(waited))}
    return EnqueueOutcome(
        result,
        params,
        interrupted=wake is Wake.INTERRUPTED,
        hung_up=music.end == "hangup",
        redirect=music.redirect if music.end == "redirect" else None,
    )
