"""Memory the process has freed goes back to the system (``telephony.memory``).

The release is glibc's ``malloc_trim``, called for real: memory freed in the middle of the heap
(the top still in use, so ``free`` alone cannot return it) must leave the process's resident
set. Then the schedule (every interval, reported, stopped with its block) and the server's
metrics.
"""

import asyncio
import ctypes

import pytest

from telephony.memory import MemoryRelease, Release, glibc_trim, memory_release, resident_bytes
from tests.callserver import running_server
from tests.outages import until
from tests.test_metrics_prometheus import scrape, value

MIB = 2**20
CHUNK = 64 * 1024
"""Below glibc's mmap threshold: from the heap, where freed memory stays until trimmed."""


@pytest.fixture
def libc_heap() -> ctypes.CDLL:
    trim = glibc_trim()
    if trim is None or resident_bytes() is None:
        pytest.fail("this test needs glibc and /proc (Linux), as production runs")
    return ctypes.CDLL(None)


def test_a_release_gives_memory_freed_inside_the_heap_back(libc_heap: ctypes.CDLL) -> None:
    malloc, free, memset = libc_heap.malloc, libc_heap.free, libc_heap.memset
    malloc.restype = ctypes.c_void_p
    malloc.argtypes = [ctypes.c_size_t]
    free.argtypes = [ctypes.c_void_p]
    memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
    chunks = [malloc(CHUNK) for _ in range(1024)]  # 64 MiB
    for chunk in chunks:
        memset(chunk, 1, CHUNK)  # resident
    keep = malloc(CHUNK)  # above the others: the heap's top stays in use
    for chunk in chunks:
        free(chunk)
    trim = glibc_trim()
    assert trim is not None
    try:
        release = MemoryRelease(60.0, trim).release()
    finally:
        free(keep)
    assert release.released_bytes >= 48 * MIB, release
    assert release.seconds >= 0


async def test_releases_run_every_interval_while_the_block_runs() -> None:
    trims = 0
    resident = iter([10 * MIB, 4 * MIB] * 100)

    def trim() -> None:
        nonlocal trims
        trims += 1

    seen: list[Release] = []
    release = MemoryRelease(0.02, trim, seen.append, resident=lambda: next(resident))
    async with release.running():
        await until(lambda: len(seen) >= 3, wait_s=10)
    stopped_at = trims
    await asyncio.sleep(0.1)
    assert trims == stopped_at, "no release after the block"
    assert all(done.released_bytes == 6 * MIB for done in seen)


async def test_a_resident_set_that_grew_meanwhile_counts_as_nothing_released() -> None:
    sizes = iter([4 * MIB, 5 * MIB])
    done = MemoryRelease(1.0, lambda: None, resident=lambda: next(sizes)).release()
    assert done.released_bytes == 0


def test_an_interval_of_zero_turns_it_off() -> None:
    assert memory_release(0, lambda release: None) is None
    with pytest.raises(ValueError, match="positive"):
        MemoryRelease(0, lambda: None)


async def test_the_server_releases_and_counts_it_for_prometheus(database_url: str) -> None:
    async with running_server(database_url, memory_release_interval_s=0.05) as server:

        async def released_twice() -> bool:
            _, families = await scrape(server)
            seconds = families["telephony_memory_release_seconds"]
            return value(seconds, "telephony_memory_release_seconds_count") >= 2

        await until(released_twice)
        _, families = await scrape(server)
        released = families["telephony_memory_released_bytes"]
        assert value(released, "telephony_memory_released_bytes_total") >= 0
