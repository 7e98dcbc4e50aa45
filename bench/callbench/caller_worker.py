"""The callers in their own process: simulated Twilio calls through the server, plus a few
direct Live API clients (the baseline), for one step of the ramp at a time.

Request: ``step`` with a ``StepPlan``; answer: a ``StepOutput`` with compact arrays per call
(see ``records``), never whole timelines.
"""

import asyncio
import contextlib
import ssl
import time
from array import array
from collections.abc import AsyncIterator
from multiprocessing.connection import Connection
from typing import Any

from bench.callbench import conversation, workers
from bench.callbench.direct import DirectCaller
from bench.callbench.direct import prepare_speech as direct_speech
from bench.callbench.records import CallData, DirectData, StepOutput, StepPlan
from twins.twilio import CallConfig, CallResult, EventKind, SimulatedCall
from twins.twilio.metrics import LATE_FRAME_MS

_NAN = float("nan")


def main(pipe: Connection) -> None:
    """The worker process: ``Worker("callers", main)``."""
    workers.serve(pipe, _session)


@contextlib.asynccontextmanager
async def _session() -> AsyncIterator[workers.Handler]:
    async def handle(name: str, argument: Any) -> Any:
        if name == "step":
            return await run_step(argument)
        raise ValueError(f"unknown request {name!r}")

    yield handle


async def run_step(plan: StepPlan) -> StepOutput:
    """Place ``plan.calls`` calls and run ``plan.direct`` baseline clients until ``end_t``."""
    live_ssl = ssl.create_default_context(cafile=plan.live_ca_path)
    conversation.prepare_speech()
    direct_speech()
    async with asyncio.TaskGroup() as group:
        calls = [group.create_task(_call(plan, i)) for i in range(plan.calls)]
        direct = [group.create_task(_direct(plan, i, live_ssl)) for i in range(plan.direct)]
    return StepOutput([task.result() for task in calls], [task.result() for task in direct])


async def _call(plan: StepPlan, caller: int) -> CallData:
    start = plan.start_t + plan.spread_s * caller / max(1, plan.calls)
    await asyncio.sleep(max(0.0, start - time.monotonic()))
    config = CallConfig(
        server_url=plan.server_url,
        auth_token=plan.auth_token,
        account_sid=plan.account_sid,
        script=conversation.caller_script(caller, plan.end_t - start),
        hang_up_at_end=False,
        max_duration_s=max(1.0, plan.end_t - time.monotonic()),
        seed=plan.seed + caller,
        http_timeout_s=60.0,
        connect_timeout_s=60.0,
    )
    return call_data(await SimulatedCall(config).run())


async def _direct(plan: StepPlan, caller: int, live_ssl: ssl.SSLContext) -> DirectData:
    start = plan.start_t + plan.spread_s * (caller + 0.5) / max(1, plan.direct)
    await asyncio.sleep(max(0.0, start - time.monotonic()))
    client = DirectCaller(
        caller,
        url=plan.live_url,
        ssl_context=live_ssl,
        api_key=plan.live_api_key,
        end_t=plan.end_t,
    )
    return await client.run()


def call_data(result: CallResult) -> CallData:
    """The compact arrays of one finished call."""
    timeline = result.timeline
    metrics = result.metrics
    data = CallData(
        call_sid=result.call_sid,
        end_reason=str(result.end_reason),
        error=result.error,
        first_audio_ms=metrics.first_audio_ms,
        frames_sent=metrics.frames_sent,
        late_frames=metrics.late_frames,
        violations=metrics.violations,
        timed_out_steps=len(result.timed_out_steps),
    )
    frames = timeline.sent_frames()
    # Frame k is the k-th slot of the stream (chunk k + 1); they are sent in that order.
    data.frame_t = array("d", frames.t)
    data.late_t.extend(
        t for t, late in zip(frames.t, frames.late_ms, strict=True) if late > LATE_FRAME_MS
    )
    received_ms = 0.0
    webhook_sent: float | None = None
    for event in timeline.events(include_frames=False):
        kind = event.kind
        if kind is EventKind.WEBHOOK_SENT:
            webhook_sent = event.t
        elif kind is EventKind.WEBHOOK_ANSWERED and webhook_sent is not None:
            data.webhook_ms = (event.t - webhook_sent) * 1000.0
        elif kind is EventKind.MEDIA_RECEIVED:
            received_ms += float(event.data["ms"] or 0.0)
            data.media_t.append(event.t)
            data.media_ms.append(received_ms)
        elif kind is EventKind.CLEAR_RECEIVED:
            data.clear_t.append(event.t)
        elif kind is EventKind.START_SENT and data.started_t is None:
            data.started_t = event.t
    for barge_in in metrics.barge_ins:
        data.barge_in_t.append(timeline.origin + barge_in.speech_started_ms / 1000.0)
        data.barge_in_ms.append(_NAN if barge_in.latency_ms is None else barge_in.latency_ms)
    data.reply_ms.extend(metrics.reply_latencies_ms)
    return data
