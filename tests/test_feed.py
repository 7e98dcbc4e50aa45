"""The live feed's parts: the event log's order under concurrent writers (what makes a
``Last-Event-ID`` resume exact), tickets, and the event routes' refusals."""

import asyncio
import contextlib
from datetime import UTC, datetime

import httpx
import pytest

from telephony.errors import StorageError
from telephony.feed import EventTickets, Feed
from telephony.feed.stream import event_stream
from telephony.transcripts import CallInfo, TranscriptStore
from telephony.transcripts.events import EventKind, EventLog
from tests.callserver import running_server

WRITERS = 8
EVENTS_EACH = 25


async def _calls(store: TranscriptStore, count: int) -> list[str]:
    sids = [f"CA{index:032x}" for index in range(count)]
    for sid in sids:
        await store.start_call(CallInfo(call_sid=sid, started_at=datetime.now(UTC)))
    return sids


async def test_a_tailing_reader_sees_every_event_once_in_order(
    transcript_store: TranscriptStore,
) -> None:
    """Writers of many calls append at once while a reader tails the log as a stream does
    (read after the last id seen, again and again): nothing is skipped, nothing repeated."""
    log = EventLog(transcript_store.engine)
    sids = await _calls(transcript_store, WRITERS)
    done = asyncio.Event()

    async def write(sid: str) -> None:
        for number in range(EVENTS_EACH):
            await log.append(sid, EventKind.TURN, {"seq": number + 1})

    async def tail() -> list[tuple[int, str, int]]:
        seen: list[tuple[int, str, int]] = []
        after = 0
        while True:
            finished = done.is_set()
            for event in await log.read(after=after, limit=7):
                seen.append((event.id, event.call_sid, event.data["seq"]))
                after = event.id
            if finished and len(seen) == WRITERS * EVENTS_EACH:
                return seen
            await asyncio.sleep(0)

    reader = asyncio.create_task(tail())
    await asyncio.gather(*(write(sid) for sid in sids))
    done.set()
    seen = await asyncio.wait_for(reader, 60)

    ids = [event_id for event_id, _, _ in seen]
    assert ids == sorted(set(ids))
    for sid in sids:
        assert [seq for _, call, seq in seen if call == sid] == list(range(1, EVENTS_EACH + 1))


async def test_a_call_stream_replays_then_ends_with_the_call(
    transcript_store: TranscriptStore,
) -> None:
    (sid,) = await _calls(transcript_store, 1)
    feed = Feed(EventLog(transcript_store.engine))
    first = await feed.log.append(sid, EventKind.CALL_STARTED, {})
    stream = event_stream(feed, call_sid=sid, after=0, keep_alive_s=0.05)
    assert (await anext(stream)).startswith("retry:")
    assert (await anext(stream)).startswith(f"id: {first}\nevent: call_started\n")
    assert await anext(stream) == ": keep-alive\n\n"
    await feed.publish(sid, EventKind.TURN, {"seq": 1})  # wakes the reader in this process
    assert "event: turn" in await anext(stream)
    await feed.publish(sid, EventKind.CALL_ENDED, {"end_reason": "caller_hung_up"})
    assert "event: call_ended" in await anext(stream)
    assert [chunk async for chunk in stream] == [], "the stream ends with the call"


async def test_an_event_written_again_is_stored_once(transcript_store: TranscriptStore) -> None:
    """A writer that retries an event whose commit it could not confirm does not repeat it."""
    (sid,) = await _calls(transcript_store, 1)
    log = EventLog(transcript_store.engine)
    first = await log.append(sid, EventKind.TURN, {"seq": 1}, seq=1)
    assert first is not None
    assert await log.append(sid, EventKind.TURN, {"seq": 1}, seq=1) is None
    unnumbered = await log.append(sid, EventKind.BARGE_IN, {})
    assert unnumbered is not None and unnumbered > first
    assert [event.kind for event in await log.read(after=0)] == [EventKind.TURN, EventKind.BARGE_IN]

    assert [event.data for event in await log.read(after=0, call_sid=sid)] == [{"seq": 1}, {}]


async def test_an_event_of_an_unknown_call_is_refused(transcript_store: TranscriptStore) -> None:
    log = EventLog(transcript_store.engine)
    for seq in (None, 1):
        with pytest.raises(StorageError, match="no call CA-unknown"):
            await log.append("CA-unknown", EventKind.TURN, {}, seq=seq)
    assert await log.read(after=0) == []


def test_tickets_expire_and_cannot_be_forged() -> None:
    now = [1_000_000.0]
    tickets = EventTickets("the-api-token", ttl_s=60, clock=lambda: now[0])
    ticket, expires = tickets.issue()
    assert expires == 1_000_060
    assert tickets.valid(ticket)
    assert EventTickets("the-api-token", clock=lambda: now[0]).valid(ticket), "any process"
    assert not EventTickets("another-token", clock=lambda: now[0]).valid(ticket)
    later, _, signature = ticket.partition(".")
    assert not tickets.valid(f"{int(later) + 3600}.{signature}"), "a stretched expiry"
    assert not tickets.valid(ticket + "x")
    assert not tickets.valid("")
    assert not tickets.valid("\uff11\uff12.abc"), "digits of other scripts are no expiry"
    now[0] += 61
    assert not tickets.valid(ticket)


async def test_event_routes_refuse_without_a_token_or_a_valid_ticket(tmp_path: object) -> None:
    async with (
        running_server(f"sqlite+aiosqlite:///{tmp_path}/calls.db") as server,
        httpx.AsyncClient(base_url=server.base_url) as client,
    ):
        bearer = {"Authorization": f"Bearer {server.api_token}"}
        sid = "CA" + "0" * 32
        assert (await client.get("/calls/events")).status_code == 401
        assert (await client.get("/calls/events", params={"ticket": "1.x"})).status_code == 401
        assert (await client.post("/calls/events/ticket")).status_code == 401
        wrong = {"Authorization": "Bearer wrong"}
        assert (await client.get(f"/calls/{sid}/events", headers=wrong)).status_code == 401
        assert (await client.get(f"/calls/{sid}/events", headers=bearer)).status_code == 404
        assert (await client.get("/calls/nonsense/events", headers=bearer)).status_code == 404
        resume = bearer | {"Last-Event-ID": "abc"}
        assert (await client.get("/calls/events", headers=resume)).status_code == 400


async def test_event_streams_do_not_hold_up_a_shutdown(
    tmp_path: object, caplog: pytest.LogCaptureFixture
) -> None:
    """An event stream never ends by itself; a stopping server closes it at once instead of
    waiting out its graceful-shutdown budget (the client resumes elsewhere)."""
    async with httpx.AsyncClient(timeout=60) as client:
        async with running_server(f"sqlite+aiosqlite:///{tmp_path}/calls.db") as server:
            request = client.build_request(
                "GET",
                server.base_url + "/calls/events",
                headers={"Authorization": f"Bearer {server.api_token}"},
            )
            response = await client.send(request, stream=True)
            assert response.status_code == 200
            chunks = response.aiter_text()
            assert (await anext(chunks)).startswith("retry:")
        with contextlib.suppress(httpx.RemoteProtocolError):
            rest = [chunk async for chunk in chunks]
            assert "event:" not in "".join(rest)
        await response.aclose()
    assert "graceful shutdown exceeded" not in caplog.text
