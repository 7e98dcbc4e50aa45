"""A call that has ended leaves nothing of itself behind.

Measured in the soak before this test existed: every finished call stayed in memory, its audio
buffers and session with it, reachable from the timers and tasks it had started (cancelled ones
included) through the context they had copied, and through the frames its cancelled tasks'
exceptions kept. Here a real call runs end to end, and once it has ended the call object must
be gone after a garbage collection: a weak reference shows it, with no timing involved.
"""

import asyncio
import gc
import weakref

from telephony.call import Call
from tests.callserver import RunningServer, running_server
from tests.outages import until
from twins.twilio import Hangup, Speak, WaitForGreeting, WaitForReply

FREED_WITHIN_S = 10.0
"""Generous: the last steps of a call's teardown may still be running on a loaded machine."""


async def _live_call(server: RunningServer) -> Call:
    await until(lambda: server.services.calls, wait_s=60)
    return next(iter(server.services.calls.values()))


async def _freed(ref: "weakref.ref[Call]") -> bool:
    def gone() -> bool:
        gc.collect()
        return ref() is None

    try:
        await until(gone, wait_s=FREED_WITHIN_S)
    except TimeoutError:
        return False
    return True


async def test_a_finished_call_is_freed(database_url: str) -> None:
    async with running_server(database_url) as server:
        placing = asyncio.create_task(
            server.place(
                [WaitForGreeting(timeout=20), Speak(1.5), WaitForReply(timeout=20), Hangup()]
            )
        )
        call = weakref.ref(await _live_call(server))
        result = await placing
        await server.metrics_when_idle()
        freed = await _freed(call)
        assert freed, _holders(call)
    assert not result.timed_out_steps


def _holders(ref: "weakref.ref[Call]") -> str:
    """What still refers to the call (for the failure message)."""
    call = ref()
    if call is None:
        return ""
    return "the call is still referred to by " + ", ".join(
        sorted({type(holder).__name__ for holder in gc.get_referrers(call)})
    )
