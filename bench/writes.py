"""The call path's write transactions: through SQLAlchemy's asyncio layer, or whole on the
writer's own thread (``telephony/transcripts/writes.py``), side by side in one run.

Run ``python bench/writes.py [--events 2000]``: live events appended to a call on a SQLite
file (``EventLog.append``, one ``INSERT ... SELECT`` that finds its call), first through the
async engine then on the writer's thread, then again, under the event loop the server runs
(uvloop). Reported per event: the process's CPU (all threads) and the event loop thread's, and
the wall time; then the ratios.
"""

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import uvloop

if __name__ == "__main__" and not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from telephony.transcripts import CallInfo, TranscriptStore
from telephony.transcripts.events import EventKind, EventLog
from telephony.transcripts.writes import Writes

CALL_SID = "CA" + "0" * 32


async def _measure(log: EventLog, first: int, count: int) -> tuple[float, float, float]:
    """(process CPU, loop thread CPU, wall) per event, in microseconds."""
    cpu, loop_cpu, wall = time.process_time(), time.thread_time(), time.perf_counter()
    for seq in range(first, first + count):
        await log.append(CALL_SID, EventKind.AGENT_PARTIAL, {"text": "words"}, seq=seq)
    return (
        1e6 * (time.process_time() - cpu) / count,
        1e6 * (time.thread_time() - loop_cpu) / count,
        1e6 * (time.perf_counter() - wall) / count,
    )


async def main(events: int) -> None:
    with tempfile.TemporaryDirectory(prefix="writes-") as directory:
        store = TranscriptStore.from_url(f"sqlite+aiosqlite:///{directory}/bench.db")
        await store.create_schema()
        await store.start_call(CallInfo(call_sid=CALL_SID, started_at=datetime.now(UTC)))
        ways = {
            "async engine": Writes(store.engine, own_thread=False),
            "own thread": Writes(store.engine),
        }
        logs = {name: EventLog(store.engine, writes) for name, writes in ways.items()}
        results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in ways}
        seq = 1
        for log in logs.values():  # warm-up: connections, compiled statements
            await _measure(log, seq, 50)
            seq += 50
        for _ in range(2):
            for name, log in logs.items():
                results[name].append(await _measure(log, seq, events))
                seq += events
        for writes in ways.values():
            await writes.close()
        await store.close()
    print(f"{events} events each way, twice, interleaved (us per event):")
    best = {
        name: tuple(min(run[i] for run in runs) for i in range(3)) for name, runs in results.items()
    }
    for name, (cpu, loop_cpu, wall) in best.items():
        print(
            f"  {name:12s}  CPU {cpu:6.0f}   event loop thread {loop_cpu:6.0f}   wall {wall:6.0f}"
        )
    old, new = best["async engine"], best["own thread"]
    print(
        f"  ratio (async engine / own thread): CPU {old[0] / new[0]:.1f}x, event loop thread "
        f"{old[1] / new[1]:.1f}x, wall {old[2] / new[2]:.1f}x"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000)
    uvloop.run(main(parser.parse_args().events))
