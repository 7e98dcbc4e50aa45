"""The live feed's cost: how many events a database takes per second from concurrent calls
(every append holds the one ordering lock until it commits), and how long an event takes from
its publisher to a reader woken through another connection (LISTEN/NOTIFY on PostgreSQL; in
one process on SQLite), the way a viewer on another server process is woken.

Run ``python bench/feed.py [--url postgresql+asyncpg://...] [--calls 25] [--events 40]``;
without ``--url`` it uses a SQLite file. Each call appends ``--events`` events in turn, all
calls at once; then one reader measures publish -> read for ``--events`` more.
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telephony.feed import Feed
from telephony.transcripts import CallInfo, TranscriptStore, create_engine
from telephony.transcripts.events import EventKind, EventLog


async def _fresh(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def main(url: str, calls: int, events: int) -> None:
    await _fresh(url)
    store = TranscriptStore.from_url(url)
    await store.create_schema()
    sids = [f"CA{index:032x}" for index in range(calls)]
    for sid in sids:
        await store.start_call(CallInfo(call_sid=sid, started_at=datetime.now(UTC)))
    publisher = Feed(EventLog(store.engine))

    async def call(sid: str) -> None:
        for seq in range(1, events + 1):
            await publisher.publish(sid, EventKind.AGENT_PARTIAL, {"text": "word "}, seq=seq)

    began = time.perf_counter()
    await asyncio.gather(*(call(sid) for sid in sids))
    elapsed = time.perf_counter() - began
    total = calls * events
    print(f"{total} events from {calls} concurrent calls: {total / elapsed:.0f} events/s")

    # A reader with its own engine and feed, as another process would have.
    reader_store = TranscriptStore.from_url(url)
    postgres = reader_store.engine.dialect.name == "postgresql"
    reader = Feed(EventLog(reader_store.engine), reader_store.engine.url if postgres else None)
    sid = sids[0]
    latencies: list[float] = []
    async with reader.running():
        await asyncio.sleep(1.0)  # the listener is connected
        after = await reader.log.last_id()
        with (reader if postgres else publisher).watch(sid) as wake:
            for seq in range(events + 1, 2 * events + 1):
                wake.clear()
                sent = time.perf_counter()
                await publisher.publish(sid, EventKind.TURN, {"seq": seq}, seq=seq)
                while True:
                    found = await reader.log.read(after=after, call_sid=sid)
                    if found:
                        after = found[-1].id
                        break
                    await wake.wait()
                    wake.clear()
                latencies.append((time.perf_counter() - sent) * 1000)
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    how = "another connection, LISTEN/NOTIFY" if postgres else "the same process"
    print(
        f"publish -> read by a reader woken through {how}: "
        f"p50 {statistics.median(latencies):.1f} ms, p99 {p99:.1f} ms ({len(latencies)} events)"
    )
    await reader_store.close()
    await store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="database URL (default: a SQLite file)")
    parser.add_argument("--calls", type=int, default=25)
    parser.add_argument("--events", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite+aiosqlite:///{tmp}/feed.db"
        asyncio.run(main(url, args.calls, args.events))
