"""Concurrent calls through the real server: latency it adds, barge-in, CPU and memory per call.

Run ``python bench/calls.py`` (a ramp of 1, 25, 50, 100, 200, 400 calls, 30 s each), or
``--quick`` (1 and 10 calls, 12 s each, under a minute), ``--steps 1,25,50``, ``--duration S``;
``--server-env NAME=VALUE`` passes a setting to the server, ``--no-stop`` runs every step,
``--pin`` gives the server a CPU of its own (the peers share the others).
``--workers N`` runs the server as ``serve --workers N``: a supervisor and N worker processes
sharing the listening socket (see "Several workers" below). ``--compare-workers 1,2`` runs the
same steps against each number of workers in turn (a fresh server each time, the same peers)
and prints each table, then the ratios: the largest N within 20 ms added p99 each way, and CPU
seconds per call-minute at each N both ran.
``--capacity N`` measures admission control instead of the ramp: the server is given
``MAX_CALLS=N`` and two steps run, N calls (the unloaded figures) then 2N calls, of which N
should be refused at the webhook with the overflow; the summary compares the admitted calls'
p99 latencies at 2N with those at N and gives the slowest overflow answer. Without it the
server's admission limits are lifted, so that the ramp finds what one process carries.
Results: one table on standard output and a JSON file (``bench/results/`` by default, ``--json``).

Four processes (the server several with ``--workers``), so that the peers' CPU is not charged
to the server:

- the server, exactly as deployed: ``python -m telephony serve`` with its settings in a clean
  environment, "online" against the Live API emulator (``--server-env NAME=VALUE`` adds one);
- the Live API emulator, with two options for benchmarks: it tags every reply's transcription
  with its connection (``[c17] ...``), which the server stores with the call's transcript, so
  the bench learns which connection served which CallSid; and it logs when caller audio came in
  and reply audio and ``interrupted`` went out;
- the callers: simulated Twilio calls (signed webhook, media stream, playback with marks and
  ``clear``), each talking continuously (speak, listen, speak, talk over the next reply after
  0.8 s of it, ...), started a few ms apart; plus min(N, 8) direct Live API clients that talk
  the same way straight to the emulator, with no server: the baseline;
- this process, which plans the steps, reads ``/proc`` and ``GET /metrics`` and does the sums.

Each step has a measurement window that starts once every call has started and been greeted.
Within it, with times from ``time.monotonic()`` (one clock for all processes on Linux):

- up: a caller frame leaves the simulator -> its audio has arrived at the emulator (frame ``k``
  is complete when the connection has received ``(k + 1) * 20`` ms of audio, less 3 ms);
- down: a reply chunk leaves the emulator -> the caller's received audio reaches it (less a
  tolerance of 1.5 ms, plus 0.5 ms per interruption before it, for what the server's converter
  holds back and drops at a barge-in);
- **added latency** = percentile(path through the server) - percentile(direct path), the same
  percentile (p50, p99) of each, both measured in the same step under the same peer load;
- interrupted -> clear: the emulator sends ``interrupted`` -> the simulator receives ``clear``
  (close to the server's reaction, which the server also reports itself: ``(server)``, its
  ``barge_in_reaction_ms``: ``interrupted`` in hand -> ``clear`` handed to the socket);
- speech -> clear: the caller starts talking over agent audio -> ``clear`` arrives (includes
  the emulator's 150 ms of voice detection);
- greeting: the stream starts -> the first agent audio plays;
- server CPU seconds per call-minute (``/proc/PID/stat``), resident memory per call (peak
  ``VmRSS`` in the window minus the idle server's before the first step, over N), event-loop
  lag p99 and frames dropped (the server's ``/metrics``), late frames (sent more than 10 ms
  after their slot by the simulator: the callers' process is falling behind);
- emulator and simulator CPU in % of one core (and per connection): when one nears 100 %, or
  the server, the peers and this process together need more cores than there are, the peers,
  not the server, are the limit. The idle server's own CPU is printed before the first step.

Several workers: CPU and RSS are the sums over the server's processes, the supervisor (idle
but for its health checks) and ``multiprocessing``'s resource tracker included; RSS per call is
that sum's growth over N. Calls in progress (waiting for idle) and frames in and dropped are
added up over every worker's Prometheus multiprocess files (``serve`` writes them; the bench
names their directory), because ``GET /metrics`` describes only the random worker that
answers it. Event-loop lag and the server's own barge-in reaction come from the same files'
histograms: shown as ``<=`` a bucket's upper bound, the lag the worst worker's. ``--pin`` with
N workers gives the server's processes CPUs 0..N-1 together (the kernel places them) and the
peers the rest, so it needs N + 1 CPUs: on a 2-core machine, compare workers unpinned.
Admission limits are each worker's own: with ``--capacity C``, N workers admit N * C calls.

The ramp stops early when calls fail, the server drops frames or dies, or the added p99
exceeds 100 ms either way. Exit status: 0 when every call of every step worked, 1 when calls
failed, 2 when the server died or a worker failed.
"""

import argparse
import asyncio
import contextlib
import datetime
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

if __name__ == "__main__" and not __package__:
    # Run as a script: make the project importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.callbench import caller_worker, emulator_worker
from bench.callbench.compare import compare
from bench.callbench.emulator_worker import Endpoint
from bench.callbench.procstat import sample, total_rss_bytes
from bench.callbench.report import document_of, render, write_document, write_json
from bench.callbench.server import ROOT, ServerProcess, add_server_env
from bench.callbench.step import MAX_DIRECT, Bench, StepResult, run_step
from bench.callbench.workers import Worker, WorkerError

FULL_STEPS = (1, 25, 50, 100, 200, 400)
QUICK_STEPS = (1, 10)
FULL_DURATION_S = 30.0
QUICK_DURATION_S = 12.0
STOP_ADDED_P99_MS = 100.0
IDLE_SETTLE_S = 1.0
IDLE_CPU_S = 2.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 and 10 calls, 12 s each")
    parser.add_argument("--steps", type=_steps, help="numbers of calls, e.g. 1,25,50")
    parser.add_argument("--duration", type=float, help="measurement window of each step, s")
    add_server_env(parser, "LIVE_DIRECT_LINE=false")
    parser.add_argument(
        "--json", type=Path, help="where to write the results (default: bench/results/)"
    )
    parser.add_argument(
        "--direct",
        type=int,
        default=MAX_DIRECT,
        metavar="K",
        help=f"baseline clients per step: min(N, K) (default {MAX_DIRECT}; 0: no baseline)",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="give the server CPU 0 to itself; the emulator, callers and bench share the rest",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="run the server as serve --workers N (default 1: one process)",
    )
    parser.add_argument(
        "--compare-workers",
        type=_steps,
        metavar="A,B",
        help="the same steps against each number of workers, e.g. 1,2; then the ratios",
    )
    parser.add_argument(
        "--no-stop", action="store_true", help="run every step even when the server falls behind"
    )
    parser.add_argument(
        "--capacity",
        type=int,
        metavar="N",
        help="admission control: MAX_CALLS=N on the server, steps N and 2N (see above)",
    )
    args = parser.parse_args(argv)
    if args.capacity is not None:
        if args.capacity < 1:
            parser.error("--capacity wants a positive number of calls")
        args.steps = args.steps or (args.capacity, 2 * args.capacity)
        args.no_stop = True
    if args.steps is None:
        args.steps = QUICK_STEPS if args.quick else FULL_STEPS
    if args.duration is None:
        args.duration = QUICK_DURATION_S if args.quick else FULL_DURATION_S
    if args.workers < 1:
        parser.error("--workers wants a positive number of processes")
    args.worker_counts = args.compare_workers or (args.workers,)
    if args.pin:
        cpus = len(os.sched_getaffinity(0))
        most = max(args.worker_counts)
        if most + 1 > cpus:
            parser.error(
                f"--pin with {most} server process(es) needs {most + 1} CPUs (the peers get the"
                f" rest), this machine gives {cpus}: leave out --pin to compare workers here"
            )
    return args


def _steps(text: str) -> tuple[int, ...]:
    steps = tuple(int(part) for part in text.split(",") if part.strip())
    if not steps or min(steps) < 1:
        raise argparse.ArgumentTypeError("steps are positive numbers of calls, e.g. 1,25,50")
    return steps


def stop_reason(row: StepResult) -> str | None:
    """Why the ramp should not go on after this step (None: it may)."""
    if not row.server_alive:
        return f"the server died at N={row.calls}"
    if row.calls_failed:
        return f"{row.calls_failed} of {row.calls} calls failed at N={row.calls}"
    if row.frames_dropped:
        return f"the server dropped {row.frames_dropped} frames at N={row.calls}"
    for name, value in (("up", row.added_up_p99), ("down", row.added_down_p99)):
        if value is not None and value > STOP_ADDED_P99_MS:
            return f"added latency p99 {name} {value:.0f} ms at N={row.calls}"
    return None


UNLIMITED_CALLS = 1_000_000
UNLIMITED_LAG_MS = 1e9


def admission_env(capacity: int | None) -> dict[str, str]:
    """The server's admission settings: ``capacity`` calls, or no limit for the ramp."""
    if capacity is None:
        return {"MAX_CALLS": str(UNLIMITED_CALLS), "MAX_LOOP_LAG_MS": str(UNLIMITED_LAG_MS)}
    return {"MAX_CALLS": str(capacity)}


def overload_summary(rows: list[StepResult], capacity: int) -> str:
    """Admitted calls at twice the capacity against the unloaded figures, and the refusals."""
    by_calls = {row.calls: row for row in rows}
    unloaded, loaded = by_calls.get(capacity), by_calls.get(2 * capacity)
    if unloaded is None or loaded is None:
        return "overload: the two steps did not both run"
    lines = [f"overload at {2 * capacity} calls, capacity {capacity}:"]
    lines.append(
        f"  admitted {loaded.calls_ok}, refused with the overflow {loaded.refused}, "
        f"failed {loaded.calls_failed}"
    )
    for name, a, b in (
        ("up p99", unloaded.up.p99, loaded.up.p99),
        ("down p99", unloaded.down.p99, loaded.down.p99),
        ("reply p99", unloaded.reply.p99, loaded.reply.p99),
        (
            "interrupted->clear p99",
            unloaded.interrupted_to_clear.p99,
            loaded.interrupted_to_clear.p99,
        ),
    ):
        ratio = "-" if a is None or b is None or a == 0 else f"{b / a:.2f}x"
        lines.append(f"  {name}: unloaded {_num(a)} ms, at 2x {_num(b)} ms ({ratio})")
    lines.append(
        f"  overflow answered in p50 {_num(loaded.overflow_ms.p50)} ms,"
        f" p99 {_num(loaded.overflow_ms.p99)} ms, max {_num(loaded.overflow_max_ms)} ms"
    )
    return "\n".join(lines)


def git_commit() -> str:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+changes" if dirty else "")


@dataclass
class ServerRun:
    """The steps run against one server (``serve --workers N``), and how they ended."""

    workers: int
    rows: list[StepResult] = field(default_factory=list)
    idle: dict[str, float] = field(default_factory=dict)
    stopped: str | None = None
    status: int = 0


@dataclass
class Peers:
    """The processes every server run shares: the emulator, the callers, and their endpoint."""

    emulator: Worker
    callers: Worker
    endpoint: Endpoint


async def run(args: argparse.Namespace) -> int:
    started = datetime.datetime.now(datetime.UTC)
    extra_env = admission_env(args.capacity) | dict(args.server_env)
    runs: list[ServerRun] = []
    emulator = Worker("emulator", emulator_worker.main)
    callers = Worker("callers", caller_worker.main)
    with tempfile.TemporaryDirectory(prefix="callbench-") as workdir:
        try:
            await asyncio.gather(emulator.ready(), callers.ready())
            peers = Peers(emulator, callers, await emulator.request("endpoint"))
            for workers in args.worker_counts:
                outcome = ServerRun(workers)
                runs.append(outcome)
                if len(args.worker_counts) > 1:
                    print(f"serve --workers {workers}:", flush=True)
                await run_server(args, outcome, Path(workdir) / f"w{workers}", peers, extra_env)
                if outcome.status == 2 and not outcome.rows:
                    break  # the server did not start, or a peer failed: the next would too
        except WorkerError as exc:
            if not runs:  # a peer failed to start (later, the run has said so)
                runs.append(ServerRun(args.worker_counts[0], stopped=f"a worker failed: {exc}"))
                runs[-1].status = 2
        finally:
            for worker in (callers, emulator):
                worker.stop()
    status = max(outcome.status for outcome in runs)
    meta: dict[str, Any] = {
        "commit": git_commit(),
        "started_at": started.isoformat(),
        "steps_planned": list(args.steps),
        "duration_s": args.duration,
        "server_env": extra_env,
        "direct_max": args.direct,
        "pinned": args.pin,
        "cpus": os.cpu_count(),
    }
    path = args.json or ROOT / "bench" / "results" / f"calls-{started:%Y%m%dT%H%M%S}.json"
    if args.compare_workers is None:
        [outcome] = runs
        print()
        print(render(outcome.rows, outcome.stopped))
        if args.capacity is not None:
            print(overload_summary(outcome.rows, args.capacity))
        write_json(path, outcome.rows, meta | _run_meta(outcome))
    else:
        for outcome in runs:
            print(f"\nserve --workers {outcome.workers}:")
            print(render(outcome.rows, outcome.stopped))
        text, figures = compare([(o.workers, o.rows) for o in runs], os.cpu_count() or 1)
        print()
        print(text)
        document = {
            "runs": [document_of(o.rows, _run_meta(o)) for o in runs],
            "comparison": figures,
        }
        write_document(path, meta | {"exit_status": status} | document)
    print(f"\nResults: {path} (commit {meta['commit']})")
    return status


def _run_meta(outcome: ServerRun) -> dict[str, Any]:
    return {
        "workers": outcome.workers,
        "server_idle": outcome.idle,
        "stopped": outcome.stopped,
        "exit_status": outcome.status,
    }


async def run_server(
    args: argparse.Namespace,
    outcome: ServerRun,
    workdir: Path,
    peers: Peers,
    extra_env: dict[str, str],
) -> None:
    """Start a server with ``outcome.workers`` processes, run the steps against it, stop it."""
    await asyncio.to_thread(workdir.mkdir)
    server = ServerProcess(workdir, peers.endpoint.client_env, extra_env, outcome.workers)
    try:
        server.start()
        await server.wait_ready()
        if args.pin:
            _pin(outcome.workers, server.pids, [peers.emulator.pid, peers.callers.pid, os.getpid()])
        await asyncio.sleep(IDLE_SETTLE_S)
        idle_rss = total_rss_bytes(server.pids)
        idle_cpu = await _idle_cpu_percent(server.pids)
        outcome.idle.update(rss_mib=idle_rss / 2**20, cpu_percent=idle_cpu)
        bench = Bench(server, peers.emulator, peers.callers, peers.endpoint, idle_rss)
        processes = (
            f"server pid {server.pid}"
            if outcome.workers == 1
            else f"server pids {', '.join(map(str, server.pids))} ({outcome.workers} workers)"
        )
        print(
            f"{processes} on {server.url}, idle: RSS {idle_rss / 2**20:.0f} MiB,"
            f" CPU {idle_cpu:.1f}%; emulator pid {peers.emulator.pid},"
            f" callers pid {peers.callers.pid}",
            flush=True,
        )
        for seed, calls in enumerate(args.steps):
            print(f"step: {calls} calls for {args.duration:.0f} s ...", flush=True)
            began = time.monotonic()
            row = await run_step(
                bench, calls, args.duration, direct_max=args.direct, seed=1000 * seed
            )
            outcome.rows.append(row)
            print(
                f"  {row.calls_ok}/{calls} ok ({row.refused} refused), added p99 up/down"
                f" {_num(row.added_up_p99)}/{_num(row.added_down_p99)} ms,"
                f" server CPU {_num(row.server_cpu_percent)}%"
                f" ({time.monotonic() - began:.0f} s)",
                flush=True,
            )
            outcome.stopped = stop_reason(row)
            if row.calls_failed:
                outcome.status = max(outcome.status, 1)
            if not row.server_alive:
                outcome.status = 2
                print(server.log_tail(), file=sys.stderr)
            if outcome.stopped and not (args.no_stop and row.server_alive):
                break
    except WorkerError as exc:  # a peer failed: no server run can go on
        outcome.stopped = f"a worker failed: {exc}"
        outcome.status = 2
        raise
    except (RuntimeError, httpx.HTTPError) as exc:  # the server did not start, or died
        outcome.stopped = f"the server failed: {exc!r}"
        outcome.status = 2
        print(server.log_tail(), file=sys.stderr)
    finally:
        await server.stop()
        if outcome.status:  # keep the evidence: the work directory goes away
            stamp = f"{datetime.datetime.now(datetime.UTC):%Y%m%dT%H%M%S}"
            workers = "" if outcome.workers == 1 else f"-w{outcome.workers}"
            kept = ROOT / "bench" / "results" / f"calls-{stamp}{workers}-server.log"
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(server.log_path, kept)
            print(f"server log kept: {kept}", file=sys.stderr)


def _pin(workers: int, server: tuple[int, ...], others: list[int]) -> None:
    """The server's processes alone on the first ``workers`` CPUs it may use (together: the
    kernel places them), everything else on the remaining ones (``parse_args`` checked that
    there are some)."""
    cpus = sorted(os.sched_getaffinity(0))
    for pid in server:
        _set_affinity(pid, set(cpus[:workers]))
    for pid in others:
        _set_affinity(pid, set(cpus[workers:]))


def _set_affinity(pid: int, cpus: set[int]) -> None:
    # Per thread: threads started later inherit their creator's affinity, not the process's.
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(int(task.name), cpus)


async def _idle_cpu_percent(pids: tuple[int, ...]) -> float:
    """The idle server's own CPU use (its lag monitors, ...), in % of a core."""
    first = sample(time.monotonic(), {"server": pids})
    await asyncio.sleep(IDLE_CPU_S)
    return sample(time.monotonic(), {"server": pids}).percent_since(first)["server"]


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(run(args))
    return 130


if __name__ == "__main__":
    sys.exit(main())
