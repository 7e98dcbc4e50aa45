"""How long the call list takes to answer over a large store: the first page, a filtered
page, a text search, a page deep in the cursor chain, and one call's erasure.

Run ``python bench/call_list.py`` (SQLite in a temporary file; ``--database-url`` for
PostgreSQL, whose ``public`` schema is emptied first; ``--calls N``, 6 turns each). Times are
the median of ``--runs`` queries through `CallCatalog`, as the API runs them.
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

from telephony.transcripts import CallCatalog, CallFilter, EndReason, create_engine, schema
from telephony.transcripts.tables import CallRow, TurnRow

T0 = datetime(2026, 1, 1, tzinfo=UTC)
WORDS = [
    "I",
    "would",
    "like",
    "to",
    "book",
    "a",
    "table",
    "for",
    "four",
    "on",
    "Friday",
    "evening",
    "please",
    "thank",
    "you",
]


async def seed(url: str, calls: int) -> None:
    engine = create_engine(url)
    if engine.dialect.name == "postgresql":
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    await schema.prepare(engine)
    batch = 2000
    async with engine.begin() as connection:
        for first in range(0, calls, batch):
            rows = [
                {
                    "id": n + 1,
                    "call_sid": f"CA{n:032x}",
                    "agent": ("receptionist", "sales")[n % 2],
                    "route": "main",
                    "started_at": T0 + timedelta(minutes=n),
                    "ended_at": T0 + timedelta(minutes=n, seconds=90),
                    "end_reason": (EndReason.CALLER_HUNG_UP, EndReason.TRANSFERRED)[n % 5 == 0],
                    "turn_count": 6,
                }
                for n in range(first, min(first + batch, calls))
            ]
            await connection.execute(insert(CallRow), rows)
            turns = [
                {
                    "call_id": row["id"],
                    "seq": seq,
                    "speaker": "caller" if seq % 2 else "agent",
                    "text": " ".join(WORDS[(row["id"] + seq) % 5 :][:8])
                    + (" saffron" if row["id"] % 997 == 0 else ""),
                    "heard_text": None,
                    "interrupted": seq == 4 and row["id"] % 7 == 0,
                    "start_ms": seq * 1000,
                    "end_ms": seq * 1000 + 800,
                    "created_at": T0,
                }
                for row in rows
                for seq in range(1, 7)
            ]
            await connection.execute(insert(TurnRow), turns)
    await engine.dispose()


async def median_ms(runs: int, query: Callable[[], Awaitable[object]]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        await query()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


async def measure(url: str, calls: int, runs: int) -> None:
    started = time.perf_counter()
    await seed(url, calls)
    print(f"{calls} calls, {calls * 6} turns seeded in {time.perf_counter() - started:.1f} s")
    engine = create_engine(url)
    catalog = CallCatalog(engine)
    deep = await catalog.page(CallFilter(), limit=50)
    for _ in range(calls // 100):  # half way down
        if deep.next_cursor is None:
            break
        deep = await catalog.page(CallFilter(), limit=50, cursor=deep.next_cursor)
    cursor = deep.next_cursor
    cases: dict[str, Callable[[], Awaitable[object]]] = {
        "first page (50)": lambda: catalog.page(CallFilter()),
        "agent + end reason": lambda: catalog.page(
            CallFilter(agent="sales", end_reason=EndReason.TRANSFERRED)
        ),
        "interrupted": lambda: catalog.page(CallFilter(interrupted=True)),
        "text search, rare word": lambda: catalog.page(CallFilter(text="saffron")),
        "text search, common": lambda: catalog.page(CallFilter(text="friday")),
        "since/until, a day": lambda: catalog.page(
            CallFilter(since=T0 + timedelta(days=3), until=T0 + timedelta(days=4))
        ),
        "a page half way down": lambda: catalog.page(CallFilter(), cursor=cursor),
    }
    for name, query in cases.items():
        print(f"  {name:<24} {await median_ms(runs, query):8.1f} ms")
    erase_ms = await median_ms(runs, lambda: catalog.erase(f"CA{calls // 2:032x}"))
    print(f"  {'erase one call':<24} {erase_ms:8.1f} ms")
    await engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"
        asyncio.run(measure(url, args.calls, args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
