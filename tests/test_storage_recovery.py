"""Calls a crashed server left open are closed by whoever is alive, and no live call is.

Each instance holds a lease in the shared database and names itself as the carrier of its open
calls (``telephony/transcripts/instances.py``). A "crashed" instance here is a store whose lease
was last renewed long ago and that never ended its call; a live one renewed it just now.
"""

from datetime import UTC, datetime, timedelta

from telephony.transcripts import CallInfo, EndReason, Speaker, TranscriptStore, TurnRecord
from telephony.transcripts.instances import LEASE_S, InstanceLease
from tests.callserver import running_server

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
CRASHED_CALL = "CA" + "c" * 32
LIVE_CALL = "CA" + "a" * 32
LEASE = timedelta(seconds=LEASE_S)


def info(call_sid: str, started_at: datetime) -> CallInfo:
    return CallInfo(call_sid=call_sid, started_at=started_at, agent="receptionist")


async def test_at_start_up_a_crashed_instances_calls_are_closed_and_a_live_instances_are_not(
    database_url: str,
) -> None:
    now = datetime.now(UTC)
    async with (
        TranscriptStore.from_url(database_url, instance_id="crashed") as crashed,
        TranscriptStore.from_url(database_url, instance_id="alive") as alive,
    ):
        await crashed.create_schema()
        last_seen = now - 3 * LEASE
        await InstanceLease(crashed.engine, "crashed").renew(last_seen)
        await crashed.start_call(info(CRASHED_CALL, last_seen - timedelta(minutes=2)))
        question = TurnRecord(speaker=Speaker.CALLER, text="Are you open?", start_ms=0, end_ms=900)
        await crashed.add_turn(CRASHED_CALL, question, seq=1)
        await InstanceLease(alive.engine, "alive").renew(now)
        await alive.start_call(info(LIVE_CALL, now))

        async with running_server(database_url):
            pass  # start-up did it

        lost = await alive.transcript(CRASHED_CALL)
        carried = await alive.transcript(LIVE_CALL)

    assert lost is not None
    assert lost.call.end_reason is EndReason.SERVER_LOST
    assert lost.call.ended_at == last_seen  # its carrier's last sign of life
    assert [turn.text for turn in lost.turns] == ["Are you open?"]
    assert carried is not None
    assert carried.call.ended_at is None


async def test_a_call_started_after_its_carriers_last_renewal_ends_no_earlier_than_it_began(
    transcript_store: TranscriptStore,
) -> None:
    engine = transcript_store.engine
    async with TranscriptStore(engine, instance_id="crashed") as crashed:
        await InstanceLease(engine, "crashed").renew(T0)
        await crashed.start_call(info(CRASHED_CALL, T0 + timedelta(seconds=5)))
    closed = await InstanceLease(engine, "survivor").close_lost_calls(T0 + 2 * LEASE)
    lost = await transcript_store.transcript(CRASHED_CALL)

    assert closed == (CRASHED_CALL,)
    assert lost is not None
    assert lost.call.ended_at == T0 + timedelta(seconds=5)


async def test_an_instance_never_closes_its_own_calls_nor_those_of_a_live_lease(
    transcript_store: TranscriptStore,
) -> None:
    engine = transcript_store.engine
    mine = InstanceLease(engine, transcript_store.instance_id)
    await mine.renew(T0)
    await transcript_store.start_call(info(LIVE_CALL, T0))
    other = InstanceLease(engine, "other")
    await other.renew(T0)
    async with TranscriptStore(engine, instance_id="other") as others:
        await others.start_call(info(CRASHED_CALL, T0))

    # Long after every lease ran out, an instance still leaves its own call alone...
    assert await mine.close_lost_calls(T0 + 10 * LEASE) == (CRASHED_CALL,)
    # ...and before the other lease runs out, nobody touches its calls.
    await other.renew(T0 + 10 * LEASE)
    async with TranscriptStore(engine, instance_id="other") as others:
        await others.start_call(info("CA" + "b" * 32, T0 + 10 * LEASE))
    assert await mine.close_lost_calls(T0 + 10 * LEASE + LEASE / 2) == ()


async def test_a_call_whose_carrier_left_no_lease_is_closed(
    transcript_store: TranscriptStore,
) -> None:
    """A server that crashed before its first renewal was ever written."""
    engine = transcript_store.engine
    async with TranscriptStore(engine, instance_id="never-renewed") as crashed:
        await crashed.start_call(info(CRASHED_CALL, T0))

    assert await InstanceLease(engine, "survivor").close_lost_calls(T0) == (CRASHED_CALL,)
    lost = await transcript_store.transcript(CRASHED_CALL)
    assert lost is not None
    assert lost.call.end_reason is EndReason.SERVER_LOST


async def test_a_server_lost_verdict_gives_way_to_the_carriers_own_end(
    transcript_store: TranscriptStore,
) -> None:
    """An instance cut off from the database for longer than its lease looked dead; it was
    not: when the database returns, its own end and its turns still land."""
    engine = transcript_store.engine
    async with TranscriptStore(engine, instance_id="cut-off") as cut_off:
        await InstanceLease(engine, "cut-off").renew(T0)
        await cut_off.start_call(info(CRASHED_CALL, T0))
        assert await InstanceLease(engine, "other").close_lost_calls(T0 + 2 * LEASE)

        late = TurnRecord(speaker=Speaker.AGENT, text="Goodbye.", start_ms=0, end_ms=800)
        assert await cut_off.add_turn(CRASHED_CALL, late, seq=1) == 1
        ended_at = T0 + 3 * LEASE
        assert await cut_off.end_call(CRASHED_CALL, EndReason.CALLER_HUNG_UP, ended_at)
        # The real end counts from then on.
        assert not await cut_off.end_call(CRASHED_CALL, EndReason.TIMEOUT, ended_at)
    found = await transcript_store.transcript(CRASHED_CALL)

    assert found is not None
    assert found.call.end_reason is EndReason.CALLER_HUNG_UP
    assert found.call.ended_at == ended_at
    assert [turn.text for turn in found.turns] == ["Goodbye."]


async def test_a_retired_instances_unfinished_calls_are_closed_without_waiting_for_its_lease(
    transcript_store: TranscriptStore,
) -> None:
    engine = transcript_store.engine
    async with TranscriptStore(engine, instance_id="stopping") as stopping:
        lease = InstanceLease(engine, "stopping")
        await lease.renew(T0)
        await stopping.start_call(info(CRASHED_CALL, T0))  # its end could not be written
        await lease.retire()

    assert await InstanceLease(engine, "other").close_lost_calls(T0) == (CRASHED_CALL,)
