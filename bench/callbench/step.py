"""One step of the ramp: N calls for a fixed time, measured in a window where all are live.

Timeline of a step: the calls start one after another over ``spread_s`` (50 ms apart: twenty
new calls a second, a hard burst for one process, as every call's set-up costs it tens of
milliseconds of CPU), then
``SETTLE_S`` passes (greetings), then the measurement window of ``duration_s``: CPU, memory,
the server's ``/metrics`` and every frame, chunk and interruption sent inside it are counted.
``TAIL_S`` after the window everyone hangs up, so that what was sent at its end can arrive.
"""

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np

from bench.callbench.analysis import PathDelays, direct_path, server_path
from bench.callbench.emulator_worker import Endpoint
from bench.callbench.latency import NO_SAMPLES, Percentiles, difference, in_window
from bench.callbench.procstat import CpuSample, sample, total_rss_bytes
from bench.callbench.records import CallData, LinkData, StepOutput, StepPlan
from bench.callbench.server import ServerProcess
from bench.callbench.workers import Worker

LEAD_S = 0.5
SPREAD_PER_CALL_S = 0.05
MIN_SPREAD_S = 0.5
MAX_SPREAD_S = 20.0
SETTLE_S = 1.5
TAIL_S = 0.5
RSS_EVERY_S = 0.5
MAX_DIRECT = 8
MIB = 1024 * 1024


@dataclass(frozen=True)
class Schedule:
    start_t: float
    spread_s: float
    window_start: float
    window_end: float
    end_t: float

    @classmethod
    def plan(cls, calls: int, duration_s: float, now: float) -> "Schedule":
        spread = min(MAX_SPREAD_S, max(MIN_SPREAD_S, calls * SPREAD_PER_CALL_S))
        start = now + LEAD_S
        window_start = start + spread + SETTLE_S
        window_end = window_start + duration_s
        return cls(start, spread, window_start, window_end, window_end + TAIL_S)

    @property
    def window(self) -> tuple[float, float]:
        return (self.window_start, self.window_end)

    @property
    def window_s(self) -> float:
        return self.window_end - self.window_start


@dataclass
class StepResult:
    """One row of the report (times in ms unless named otherwise)."""

    calls: int
    direct_clients: int
    duration_s: float
    calls_ok: int = 0
    refused: int = 0
    """Calls the server answered with its overflow (beyond its capacity): not failures."""
    overflow_ms: Percentiles = NO_SAMPLES
    """Refused calls: the voice webhook sent -> the overflow TwiML received."""
    overflow_max_ms: float | None = None
    failures: dict[str, int] = field(default_factory=dict)
    calls_matched: int = 0
    up: Percentiles = NO_SAMPLES
    down: Percentiles = NO_SAMPLES
    up_direct: Percentiles = NO_SAMPLES
    down_direct: Percentiles = NO_SAMPLES
    added_up_p50: float | None = None
    added_up_p99: float | None = None
    added_down_p50: float | None = None
    added_down_p99: float | None = None
    lost_up: int = 0
    lost_down: int = 0
    interrupted_to_clear: Percentiles = NO_SAMPLES
    unanswered_interruptions: int = 0
    server_barge_in_ms: dict[str, float] = field(default_factory=dict)
    """The server's own figure: ``interrupted`` in hand -> ``clear`` handed to the socket."""
    speech_to_clear: Percentiles = NO_SAMPLES
    first_greeting: Percentiles = NO_SAMPLES
    reply: Percentiles = NO_SAMPLES
    """Caller stops speaking -> agent audio plays (emulator's 500 ms end-of-turn wait included)."""
    server_cpu_percent: float | None = None
    server_cpu_s_per_call_min: float | None = None
    server_rss_mib: float | None = None
    rss_mib_per_call: float | None = None
    loop_lag_ms: dict[str, float] = field(default_factory=dict)
    frames_in: int = 0
    frames_dropped: int = 0
    late_frames: int = 0
    """Frames the simulator sent more than 10 ms after their slot, within the window."""
    late_frames_all: int = 0
    """The same over the whole calls (starting calls makes some late)."""
    violations: int = 0
    emulator_cpu_percent: float | None = None
    callers_cpu_percent: float | None = None
    server_alive: bool = True
    server_workers: int = 1
    """``serve --workers N``: CPU and RSS are the sums over its processes; the lag (the worst
    worker's) and the (server) barge-in figures are Prometheus bucket bounds."""
    notes: list[str] = field(default_factory=list)

    @property
    def calls_failed(self) -> int:
        return self.calls - self.calls_ok - self.refused

    @property
    def emulator_cpu_per_connection(self) -> float | None:
        """The emulator's CPU per connection (calls and baseline clients), % of a core."""
        total = self.emulator_cpu_percent
        return None if total is None else total / (self.calls + self.direct_clients)

    @property
    def callers_cpu_per_call(self) -> float | None:
        """The callers' process CPU per call or baseline client, % of a core."""
        total = self.callers_cpu_percent
        return None if total is None else total / (self.calls + self.direct_clients)


@dataclass
class Bench:
    """The running processes a step needs."""

    server: ServerProcess
    emulator: Worker
    callers: Worker
    endpoint: Endpoint
    idle_rss: int


async def run_step(
    bench: Bench, calls: int, duration_s: float, *, direct_max: int = MAX_DIRECT, seed: int = 0
) -> StepResult:
    """Run ``calls`` calls (and the baseline clients) and measure them; see the module."""
    server = bench.server
    direct = min(calls, direct_max)
    before = await server.counters()
    schedule = Schedule.plan(calls, duration_s, time.monotonic())
    plan = StepPlan(
        calls=calls,
        direct=direct,
        start_t=schedule.start_t,
        spread_s=schedule.spread_s,
        end_t=schedule.end_t,
        server_url=server.url,
        auth_token=server.auth_token,
        account_sid=server.account_sid,
        live_url=bench.endpoint.live_url,
        live_ca_path=bench.endpoint.ca_path,
        live_api_key=bench.endpoint.api_key,
        seed=seed,
    )
    running = asyncio.create_task(bench.callers.request("step", plan))
    result = StepResult(
        calls=calls, direct_clients=direct, duration_s=duration_s, server_workers=server.workers
    )
    window_metrics: dict[str, Any] = {}
    try:
        cpu, rss, window_metrics = await _watch(bench, schedule)
        result.server_cpu_percent = cpu["server"]
        result.emulator_cpu_percent = cpu["emulator"]
        result.callers_cpu_percent = cpu["callers"]
        result.server_cpu_s_per_call_min = cpu["server"] / 100.0 * 60.0 / calls
        result.server_rss_mib = rss / MIB
        result.rss_mib_per_call = (rss - bench.idle_rss) / MIB / calls
    except (OSError, LookupError, httpx.HTTPError) as exc:  # the server died or choked
        result.notes.append(f"measurement failed: {exc!r}")
    output: StepOutput = await running
    result.server_alive = server.alive
    if result.server_alive:
        after = await server.wait_idle()
        streamed = (call.call_sid for call in output.calls if call.started_t is not None)
        connection_of = await server.connections_by_call(streamed)
    else:
        after, connection_of = before, {}
    links = await bench.emulator.request("snapshot", schedule.start_t)
    await bench.emulator.request("forget")
    _fill(result, schedule, output, {link.index: link for link in links}, connection_of)
    _fill_server(result, before, after, window_metrics)
    return result


async def _watch(bench: Bench, schedule: Schedule) -> tuple[dict[str, float], int, dict[str, Any]]:
    """CPU of every process over the window (the server's processes added up), the server's
    peak RSS in it (its processes' added up), its lag and barge-in reaction in the window."""
    server = bench.server
    groups = {
        "server": server.pids,
        "emulator": (bench.emulator.pid,),
        "callers": (bench.callers.pid,),
    }
    await _sleep_until(schedule.window_start)
    first: CpuSample = sample(time.monotonic(), groups)
    mark = server.window_mark()
    peak = total_rss_bytes(server.pids)
    while time.monotonic() < schedule.window_end - RSS_EVERY_S:
        await asyncio.sleep(RSS_EVERY_S)
        peak = max(peak, total_rss_bytes(server.pids))
    await _sleep_until(schedule.window_end)
    last = sample(time.monotonic(), groups)
    metrics = await server.window_summary(mark, schedule.window_s)
    return last.percent_since(first), peak, metrics


async def _sleep_until(t: float) -> None:
    await asyncio.sleep(max(0.0, t - time.monotonic()))


def _fill(
    result: StepResult,
    schedule: Schedule,
    output: StepOutput,
    links: dict[int, LinkData],
    connection_of: dict[str, int],
) -> None:
    window = schedule.window
    calls = output.calls
    result.calls_ok = sum(1 for call in calls if call.ok)
    refused = [call for call in calls if call.refused]
    result.refused = len(refused)
    result.overflow_ms = Percentiles.of_ms(
        np.asarray([c.webhook_ms for c in refused if c.webhook_ms is not None], dtype=float)
    )
    answered_in = [c.webhook_ms for c in refused if c.webhook_ms is not None]
    result.overflow_max_ms = max(answered_in) if answered_in else None
    result.failures = dict(
        Counter(_failure(call) for call in calls if not call.ok and not call.refused)
    )
    result.calls_matched = sum(1 for call in calls if call.call_sid in connection_of)
    through: PathDelays = server_path(calls, links, connection_of, window)
    baseline: PathDelays = direct_path(output.direct, links, window)
    result.up = Percentiles.of_seconds(through.pooled(through.up))
    result.down = Percentiles.of_seconds(through.pooled(through.down))
    result.up_direct = Percentiles.of_seconds(baseline.pooled(baseline.up))
    result.down_direct = Percentiles.of_seconds(baseline.pooled(baseline.down))
    result.added_up_p50 = difference(result.up.p50, result.up_direct.p50)
    result.added_up_p99 = difference(result.up.p99, result.up_direct.p99)
    result.added_down_p50 = difference(result.down.p50, result.down_direct.p50)
    result.added_down_p99 = difference(result.down.p99, result.down_direct.p99)
    result.lost_up, result.lost_down = through.lost_up, through.lost_down
    result.interrupted_to_clear = Percentiles.of_seconds(through.pooled(through.reaction))
    result.unanswered_interruptions = through.unanswered_interruptions
    speech_to_clear = [
        np.asarray(call.barge_in_ms)[in_window(np.asarray(call.barge_in_t), *window)]
        for call in calls
    ]
    result.speech_to_clear = Percentiles.of_ms(through.pooled(speech_to_clear))
    result.first_greeting = Percentiles.of_ms(
        np.asarray([c.first_audio_ms for c in calls if c.first_audio_ms is not None], dtype=float)
    )
    result.reply = Percentiles.of_ms(through.pooled([np.asarray(c.reply_ms) for c in calls]))
    result.late_frames = sum(
        int(np.count_nonzero(in_window(np.asarray(call.late_t), *window))) for call in calls
    )
    result.late_frames_all = sum(call.late_frames for call in calls)
    result.violations = sum(call.violations for call in calls)
    direct_errors = [d.error for d in output.direct if d.error]
    if direct_errors:
        result.notes.append(f"{len(direct_errors)} baseline client(s) failed: {direct_errors[0]}")
    streamed = sum(1 for call in calls if call.started_t is not None)
    if result.calls_matched < streamed:
        result.notes.append(
            f"{streamed - result.calls_matched} of {streamed} calls had no tagged turn stored:"
            " their latencies are left out"
        )
    unmatched = sum(1 for d in output.direct if d.connection is None)
    if unmatched:
        result.notes.append(f"{unmatched} baseline client(s) never learnt their connection")


def _failure(call: CallData) -> str:
    if call.end_reason != "timeout":
        return call.end_reason
    if call.first_audio_ms is None:
        return "no greeting"
    if call.violations:
        return "protocol violations"
    return "step timed out"


def _fill_server(
    result: StepResult,
    before: dict[str, float],
    after: dict[str, float],
    window: dict[str, Any],
) -> None:
    result.frames_in = round(after["frames_in"] - before["frames_in"])
    result.frames_dropped = round(after["frames_dropped"] - before["frames_dropped"])
    if window:
        result.loop_lag_ms = window["loop_lag_ms"]
        result.server_barge_in_ms = window["barge_in_reaction_ms"]
