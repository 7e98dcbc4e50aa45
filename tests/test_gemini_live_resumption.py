"""Session resumption as documented (periodic updates, not resumable while busy, handles that
expire) and connections that end with ``goAway`` whatever the conversation is doing."""

import asyncio

import pytest

from tests.test_gemini_live_adk import LiveRun
from tests.test_gemini_live_server import (
    MODEL_3X,
    MODEL_25,
    Message,
    RawClient,
    audio_messages,
    is_turn_complete,
    raw_client,
)
from twins.gemini_live import (
    EmulatorConfig,
    Lifetime,
    LiveEmulator,
    MidReply,
    Pacing,
    Resumption,
)
from twins.gemini_live.brain import Memory
from twins.gemini_live.closes import DEADLINE_REASON, INVALID_ARGUMENT_REASON
from twins.gemini_live.resumption import HandleStore
from twins.speech import speech_like

FRAME = 640
OPENING_HOURS = {"functionDeclarations": [{"name": "opening_hours", "parameters": {}}]}


def updates(received: list[Message]) -> list[Message]:
    return [m["sessionResumptionUpdate"] for m in received if "sessionResumptionUpdate" in m]


async def speak(client: RawClient, seconds: float = 1.2, silence_s: float = 0.8) -> None:
    pcm = speech_like(seconds, 16000, seed=7).astype("<i2").tobytes()
    pcm += bytes(2 * round(silence_s * 16000))
    for start in range(0, len(pcm), FRAME):
        await client.audio(pcm[start : start + FRAME])


# --- handles ----------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_handle_restores_a_copy_of_the_memory_until_it_expires() -> None:
    clock = Clock()
    store = HandleStore(validity_s=60.0, clock=clock)
    memory = Memory(turns=2)
    handle = store.issue(memory)

    clock.now = 59.0
    restored = store.resume(handle)
    assert restored == memory
    assert restored is not memory
    clock.now = 61.0
    assert store.resume(handle) is None
    assert store.resume("unknown") is None


def test_validity_counts_from_when_the_connection_closed() -> None:
    clock = Clock()
    store = HandleStore(validity_s=60.0, clock=clock)
    handle = store.issue(Memory())

    clock.now = 50.0
    store.released([handle])
    clock.now = 100.0
    assert store.resume(handle) is not None
    clock.now = 111.0
    assert store.resume(handle) is None


def test_the_oldest_handles_are_forgotten_beyond_the_limit() -> None:
    store = HandleStore(limit=2)
    first, second, third = (store.issue(Memory()) for _ in range(3))

    assert store.resume(first) is None
    assert store.resume(second) is not None
    assert store.resume(third) is not None


# --- updates on the wire ----------------------------------------------------------------------


async def test_the_session_is_not_resumable_while_the_model_generates() -> None:
    config = EmulatorConfig.idealised(
        pacing=Pacing.unpaced(), resumption=Resumption(not_resumable_while_busy=True)
    )
    async with LiveEmulator(config) as emulator, raw_client(emulator) as client:
        await client.setup(MODEL_25, sessionResumption={})
        await client.say("Hello?")
        received = await client.recv_until(lambda m: "newHandle" in str(m))

    first_audio = received.index(audio_messages(received)[0])
    assert received[first_audio - 1] == {"sessionResumptionUpdate": {}}
    assert is_turn_complete(received[-2])  # a handle only once the turn is complete
    assert updates(received)[-1]["resumable"] is True
    assert emulator.record.last.unresumable_updates == 1


async def test_nor_while_a_tool_runs() -> None:
    config = EmulatorConfig.idealised(
        pacing=Pacing.unpaced(),
        resumption=Resumption(update_interval_s=0.05, not_resumable_while_busy=True),
    )
    async with LiveEmulator(config) as emulator, raw_client(emulator) as client:
        await client.setup(MODEL_3X, sessionResumption={}, tools=[OPENING_HOURS])
        await speak(client)
        await client.recv_until(lambda m: "toolCall" in m)
        received = [await client.recv() for _ in range(3)]  # nobody answers the call

    assert updates(received) == [{}, {}, {}]


async def test_updates_come_periodically() -> None:
    config = EmulatorConfig.idealised(resumption=Resumption(update_interval_s=0.05))
    async with LiveEmulator(config) as emulator, raw_client(emulator) as client:
        await client.setup(MODEL_25, sessionResumption={})
        received = [await client.recv() for _ in range(3)]  # without a word from anyone

    handles = [update["newHandle"] for update in updates(received)]
    assert len(set(handles)) == 3
    assert emulator.record.last.handles_issued == handles


async def test_no_updates_unless_the_setup_asks() -> None:
    config = EmulatorConfig.realistic(pacing=Pacing.unpaced(), reply_latency_ms=0)
    async with LiveEmulator(config) as emulator, raw_client(emulator) as client:
        await client.setup(MODEL_25)
        await client.say("Hello?")
        received = await client.recv_until(is_turn_complete)

    assert updates(received) == []


async def test_an_expired_handle_is_refused_with_1007() -> None:
    config = EmulatorConfig.idealised(
        pacing=Pacing.unpaced(), resumption=Resumption(handle_validity_s=0.05)
    )
    async with LiveEmulator(config) as emulator:
        async with raw_client(emulator) as client:
            await client.setup(MODEL_25, sessionResumption={})
            await client.say("Hello?")
            handle = updates(await client.recv_until(lambda m: "newHandle" in str(m)))[-1]
        await emulator.record.wait_for(lambda r: r.last.closed)
        await asyncio.sleep(0.2)  # the handle expires
        async with raw_client(emulator) as client:
            resumption = {"handle": handle["newHandle"]}
            await client.send({"setup": {"model": MODEL_25, "sessionResumption": resumption}})
            closed = await client.closed()

    assert closed.rcvd is not None
    assert (closed.rcvd.code, closed.rcvd.reason) == (1007, INVALID_ARGUMENT_REASON)
    assert emulator.record.last.refused


# --- connection lifetime --------------------------------------------------------------------

SHORT_LIFE = Lifetime(connection_s=1.5, go_away_time_left_s=0.5)


async def _until_closed(client: RawClient) -> tuple[list[Message], int | None, str]:
    received, closed = await client.rest()
    assert closed.rcvd is not None
    return received, closed.rcvd.code, closed.rcvd.reason


async def test_a_connection_ends_with_go_away_then_1011_mid_reply() -> None:
    config = EmulatorConfig.idealised(lifetime=SHORT_LIFE, pacing=Pacing(burst_ms=0))
    async with LiveEmulator(config) as emulator, raw_client(emulator) as client:
        emulator.script.next_reply(words=20)  # 7 s in real time: the end comes mid-reply
        await client.setup(MODEL_25)
        await client.say("Hello?")
        received, code, reason = await _until_closed(client)

    go_away = next(i for i, m in enumerate(received) if "goAway" in m)
    assert received[go_away] == {"goAway": {"timeLeft": "0.5s"}}
    assert audio_messages(received[:go_away]) and audio_messages(received[go_away:])
    assert not any(is_turn_complete(m) for m in received)
    assert (code, reason) == (1011, DEADLINE_REASON)


async def test_a_connection_ends_with_go_away_during_a_tool_call() -> None:
    config = EmulatorConfig.idealised(lifetime=SHORT_LIFE, pacing=Pacing.unpaced())
    async with LiveEmulator(config) as emulator, raw_client(emulator) as client:
        await client.setup(MODEL_3X, tools=[OPENING_HOURS])
        await speak(client, 0.6, silence_s=0.6)
        received, code, _ = await _until_closed(client)

    calls = [i for i, m in enumerate(received) if "toolCall" in m]
    assert calls and "goAway" in received[-1] and calls[0] < len(received) - 1
    assert code == 1011


@pytest.mark.parametrize("model", [MODEL_25, MODEL_3X])
async def test_a_connection_ends_with_go_away_while_the_caller_speaks(model: str) -> None:
    config = EmulatorConfig.idealised(lifetime=SHORT_LIFE)
    async with LiveEmulator(config) as emulator, raw_client(emulator) as client:
        await client.setup(model)
        await speak(client, 3.0, silence_s=0.0)  # talking past the connection's end
        received, code, _ = await _until_closed(client)

    assert received == [{"goAway": {"timeLeft": "0.5s"}}]
    assert emulator.record.last.caller_turns == 0
    assert code == 1011


# --- what google-adk makes of it ------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:The `session.send` method is deprecated:DeprecationWarning")
@pytest.mark.parametrize("busy", [False, True], ids=["idle", "busy"])
async def test_adk_resumes_after_go_away_only_with_a_resumable_handle(busy: bool) -> None:
    """google-adk 2.13 keeps the latest update's handle, even an empty one: a ``goAway`` while
    the model is busy makes it reconnect without a handle, as a fresh session."""
    resumption = Resumption(not_resumable_while_busy=busy)
    config = EmulatorConfig.idealised(pacing=Pacing(speed=5.0), resumption=resumption)
    async with LiveEmulator(config) as emulator, LiveRun(emulator, MODEL_25) as run:
        run.say("[The call has just been connected.]")
        await run.turns(1)
        emulator.script.next_reply(words=30)
        emulator.script.go_away(time_left_s=2.0, when=MidReply(3))
        run.say("Tell me everything.")
        await emulator.record.wait_for(lambda r: r.connection_count == 2 and r.last.setup)

    first, second = emulator.record.connections
    if busy:
        assert second.resumed_handle is None
    else:
        assert second.resumed_handle == first.handles_issued[-1]
