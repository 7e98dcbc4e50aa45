"""Soak: many calls for a long time through the real server, looking for what accumulates.

Run ``python bench/soak.py`` (30 minutes at 40 concurrent calls) or ``--minutes 2`` for a
short look. The server runs as deployed (``python -m telephony serve``, its own process,
"online" against the Live API emulator in another process, as ``bench/calls.py`` runs them);
the callers run here: 40 slots, each placing one call after another (churn). A call is one
to three exchanges; one in ten talks over a reply (a barge-in); one in twenty hangs up in the
middle of a reply. Then:

- **no lost turn**: every question must be answered (a ``WaitForReply`` that times out is a
  lost turn), every call must end as the caller ended it, with no protocol violation;
- **memory**: the server's resident memory is sampled every ``--sample-s`` seconds; growth is
  the trend of the samples taken while every slot is busy, after the warm-up (a least-squares
  line through them, from the first to the last: the server gives freed memory back once a
  minute, so one sample can sit anywhere on that saw-tooth), against ``--max-growth-mib``;
- **leaks**: once the last call has ended, the server's asyncio tasks (``/metrics``) and its
  sockets and file descriptors (``/proc/PID/fd``) must be back to what the idle server had
  before the first call (a small tolerance for pooled database connections).

Exit status 0 when every bound held, 1 otherwise. No timing is asserted: this measures.
"""

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

if __name__ == "__main__" and not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.callbench import emulator_worker
from bench.callbench.emulator_worker import Endpoint
from bench.callbench.procstat import rss_bytes
from bench.callbench.server import ServerProcess, add_server_env
from bench.callbench.workers import Worker
from twins.twilio import (
    CallConfig,
    EndReason,
    Hangup,
    Interrupt,
    Silence,
    SimulatedCall,
    Speak,
    Step,
    WaitForGreeting,
    WaitForReply,
)

MIB = 2**20
RESULTS = Path(__file__).resolve().parent / "results"
STEP_TIMEOUT_S = 20.0
HANG_UP_AFTER_S = 1.0
"""Silence after the question before hanging up: the reply starts ~0.6 s after the caller
stops (the emulator waits 500 ms of silence), so the caller leaves in its middle."""
SOCKET_TOLERANCE = 0
TASK_TOLERANCE = 2


@dataclass
class Tally:
    calls: int = 0
    ended: Counter[str] = field(default_factory=Counter)
    questions: int = 0
    lost_turns: int = 0
    violations: int = 0
    barge_ins: int = 0
    hang_ups_mid_reply: int = 0
    errors: list[str] = field(default_factory=list)


def script(rng: random.Random) -> tuple[tuple[Step, ...], int, str]:
    """A call's script, the questions it waits answers to, and its kind."""
    steps: list[Step] = [WaitForGreeting(timeout=STEP_TIMEOUT_S)]
    questions = 0
    kind = "plain"
    for _ in range(rng.randint(1, 3)):
        steps += [Speak(rng.uniform(0.8, 1.6), seed=rng.randrange(4)), WaitForReply(STEP_TIMEOUT_S)]
        questions += 1
    roll = rng.random()
    if roll < 0.10:
        kind = "barge_in"
        steps += [
            Speak(1.2, seed=1),
            Interrupt(600, 1.0, timeout=STEP_TIMEOUT_S, seed=2),
            WaitForReply(STEP_TIMEOUT_S),
        ]
        questions += 1
    elif roll < 0.15:
        kind = "hang_up_mid_reply"
        steps += [Speak(1.0, seed=3), Silence(HANG_UP_AFTER_S)]
    steps.append(Hangup())
    return tuple(steps), questions, kind


async def slot(server: ServerProcess, index: int, end_t: float, tally: Tally) -> None:
    rng = random.Random(index)
    while time.monotonic() < end_t:
        steps, questions, kind = script(rng)
        config = CallConfig(
            server_url=server.url,
            auth_token=server.auth_token,
            account_sid=server.account_sid,
            script=steps,
            seed=rng.randrange(1 << 30),
            max_duration_s=120,
            http_timeout_s=60,
            connect_timeout_s=60,
        )
        result = await SimulatedCall(config).run()
        tally.calls += 1
        tally.ended[str(result.end_reason)] += 1
        tally.questions += questions
        tally.lost_turns += len(result.timed_out_steps)
        tally.violations += len(result.violations)
        tally.barge_ins += kind == "barge_in"
        tally.hang_ups_mid_reply += kind == "hang_up_mid_reply"
        if result.end_reason is not EndReason.CALLER_HANGUP and len(tally.errors) < 5:
            tally.errors.append(f"{result.call_sid}: {result.end_reason} {result.error or ''}")


def fd_targets(pid: int) -> set[str]:
    """What the process's descriptors other than sockets point at (files, pipes, ...)."""
    found = set()
    for entry in os.scandir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(entry.path)
            if not target.startswith("socket:"):
                found.add(target)
    return found


def descriptors(pid: int) -> tuple[int, int]:
    """(open file descriptors, of which sockets) of process ``pid``."""
    fds = sockets = 0
    for entry in os.scandir(f"/proc/{pid}/fd"):
        fds += 1
        with contextlib.suppress(OSError):  # closed since the listing: not open any more
            sockets += os.readlink(entry.path).startswith("socket:")
    return fds, sockets


def trend(times: list[float], values: list[int]) -> float:
    """How much ``values`` grew from the first time to the last, along their least-squares
    line (0 with fewer than two samples)."""
    count = len(times)
    if count < 2:
        return 0.0
    mean_t, mean_v = sum(times) / count, sum(values) / count
    spread = sum((t - mean_t) ** 2 for t in times)
    slope = sum((t - mean_t) * (v - mean_v) for t, v in zip(times, values, strict=True)) / spread
    return slope * (times[-1] - times[0])


async def run(args: argparse.Namespace) -> int:
    emulator = Worker("emulator", emulator_worker.main)
    tally = Tally()
    samples: list[tuple[float, int, int, int, int, int, int]] = []
    with tempfile.TemporaryDirectory(prefix="soak-") as workdir:
        await emulator.ready()
        endpoint: Endpoint = await emulator.request("endpoint")
        # No admission limit: the soak measures the server carrying its calls, not refusals.
        limits = {"MAX_CALLS": "100000", "MAX_LOOP_LAG_MS": "1e9"}
        limits |= dict(args.server_env)
        server = ServerProcess(Path(workdir), endpoint.client_env, limits)
        server.start()
        try:
            await server.wait_ready()
            await asyncio.sleep(2.0)
            idle_tasks = (await server.metrics())["tasks"]
            idle_fds, idle_sockets = descriptors(server.pid)
            idle_targets = fd_targets(server.pid)
            idle_rss = rss_bytes(server.pid)
            print(
                f"idle server: RSS {idle_rss / MIB:.0f} MiB, {idle_tasks} tasks, "
                f"{idle_fds} fds ({idle_sockets} sockets); {args.calls} slots for "
                f"{args.minutes:g} min",
                flush=True,
            )
            began = time.monotonic()
            end_t = began + args.minutes * 60
            slots = [asyncio.create_task(slot(server, i, end_t, tally)) for i in range(args.calls)]
            while not all(task.done() for task in slots):
                await asyncio.sleep(args.sample_s)
                report = await server.metrics()
                fds, sockets = descriptors(server.pid)
                row = (
                    time.monotonic() - began,
                    rss_bytes(server.pid),
                    report["calls_active"],
                    report["tasks"],
                    fds,
                    sockets,
                    tally.calls,
                )
                samples.append(row)
                await emulator.request("forget")  # the emulator's own records, not the server's
                print(
                    f"  {row[0]:6.0f} s: RSS {row[1] / MIB:6.1f} MiB, {row[2]:3d} calls, "
                    f"{row[3]:4d} tasks, {row[4]:4d} fds ({row[5]} sockets), "
                    f"{tally.calls} calls done",
                    flush=True,
                )
            await asyncio.gather(*slots)
            after = await server.wait_idle()
            await asyncio.sleep(2.0)  # closing sockets and finished tasks settle
            end_tasks = (await server.metrics())["tasks"]
            end_fds, end_sockets = descriptors(server.pid)
            new_targets = fd_targets(server.pid) - idle_targets
            end_rss = rss_bytes(server.pid)
            frames_dropped = after["frames_dropped"]
        finally:
            await server.stop()
            emulator.stop()
            kept = RESULTS / f"soak-{time.strftime('%Y%m%dT%H%M%S')}-server.log"
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(server.log_path, kept)
            print(f"server log (warnings): {kept}")
    steady = [row for row in samples if args.warm_up_s <= row[0] <= args.minutes * 60] or samples
    growth = trend([row[0] for row in steady], [row[1] for row in steady]) / MIB
    calls_meanwhile = steady[-1][6] - steady[0][6]
    checks = {
        f"memory growth {growth:.1f} MiB <= {args.max_growth_mib:g} MiB": (
            growth <= args.max_growth_mib
        ),
        f"lost turns {tally.lost_turns} of {tally.questions} questions": tally.lost_turns == 0,
        f"calls not ended by the caller {tally.calls - tally.ended['caller_hangup']}": (
            tally.ended["caller_hangup"] == tally.calls
        ),
        f"protocol violations {tally.violations}": tally.violations == 0,
        f"tasks idle {idle_tasks} -> after {end_tasks}": end_tasks <= idle_tasks + TASK_TOLERANCE,
        f"sockets idle {idle_sockets} -> after {end_sockets}": (
            end_sockets <= idle_sockets + SOCKET_TOLERANCE
        ),
        # Pooled database connections open the same files again (SQLite: the database, its
        # WAL and shared memory), bounded by the pool: only a descriptor to something the idle
        # server did not have open is a leak.
        f"fds idle {idle_fds} -> after {end_fds}, to nothing new": not new_targets,
    }
    print()
    print(
        f"{tally.calls} calls in {args.minutes:g} min at {args.calls} concurrent: "
        f"{tally.barge_ins} with a barge-in, {tally.hang_ups_mid_reply} hung up mid-reply; "
        f"ended {dict(tally.ended)}; frames dropped by the server {frames_dropped}"
    )
    print(
        f"RSS idle {idle_rss / MIB:.0f} MiB, peak {max(r[1] for r in samples) / MIB:.0f} MiB, "
        f"after {end_rss / MIB:.0f} MiB; steady-state growth {growth:.1f} MiB "
        f"(trend from {steady[0][0]:.0f} s to {steady[-1][0]:.0f} s, over {calls_meanwhile} "
        f"calls: {growth / max(calls_meanwhile, 1) * 1000:.1f} MiB per 1,000 calls)"
    )
    for text, held in checks.items():
        print(f"  {'ok  ' if held else 'FAIL'} {text}")
    if new_targets:
        print(f"  descriptors opened since idle (not sockets): {sorted(new_targets)}")
    for error in tally.errors:
        print(f"  call: {error}")
    return 0 if all(checks.values()) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--calls", type=int, default=40, help="concurrent calls (slots)")
    parser.add_argument("--sample-s", type=float, default=10.0)
    parser.add_argument("--warm-up-s", type=float, default=60.0, help="left out of the growth")
    parser.add_argument("--max-growth-mib", type=float, default=20.0)
    add_server_env(parser, "DATABASE_URL=postgresql+asyncpg://...")
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
