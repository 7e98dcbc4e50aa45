"""The call API over a real server: auth on every route, filters, search, pages that hold
still under inserts, exports (WebVTT read back by an independent parser), erasure of
everything, retention by the server itself, privacy before storage; SQLite and PostgreSQL."""

import asyncio
import html
import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import webvtt
from sqlalchemy import text

from telephony.transcripts import (
    CallDirection,
    CallInfo,
    EndReason,
    Speaker,
    TranscriptStore,
    TurnRecord,
)
from telephony.transcripts.keeper import StorageKeeper
from telephony.transcripts.privacy import HASH_PREFIX
from telephony.transcripts.redaction import CARD, EMAIL
from tests.callserver import RunningServer, running_server
from twins.twilio import Hangup, Speak, WaitForGreeting, WaitForReply

NOW = datetime.now(UTC).replace(microsecond=0)
CALLER = "+15551230001"
LINE = "+15551239999"


def new_sid() -> str:
    return "CA" + uuid.uuid4().hex


@pytest.fixture
async def server(database_url: str) -> AsyncIterator[RunningServer]:
    async with running_server(database_url) as server:
        yield server


def client(server: RunningServer, token: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token or server.api_token}"}
    return httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=30)


async def seed(
    store: TranscriptStore,
    *,
    at: datetime = NOW,
    turns: tuple[TurnRecord, ...] = (),
    end: EndReason | None = EndReason.CALLER_HUNG_UP,
    **info: Any,
) -> str:
    sid = new_sid()
    values: dict[str, Any] = {
        "call_sid": sid,
        "started_at": at,
        "agent": "receptionist",
        "route": "main",
        "direction": CallDirection.INBOUND,
        "from_number": CALLER,
        "to_number": LINE,
    }
    await store.start_call(CallInfo.model_validate(values | info))
    for seq, turn in enumerate(turns, 1):
        await store.add_turn(sid, turn, seq=seq)
    if end is not None:
        await store.end_call(sid, end, at + timedelta(minutes=1))
    return sid


def caller(words: str, start_ms: int, end_ms: int) -> TurnRecord:
    return TurnRecord(speaker=Speaker.CALLER, text=words, start_ms=start_ms, end_ms=end_ms)


def agent(words: str, start_ms: int, end_ms: int, heard: str | None = None) -> TurnRecord:
    return TurnRecord(
        speaker=Speaker.AGENT,
        text=words,
        heard_text=heard if heard is not None else words,
        interrupted=heard is not None,
        start_ms=start_ms,
        end_ms=end_ms,
    )


async def listed(http: httpx.AsyncClient, **params: Any) -> list[str]:
    response = await http.get("/calls", params=params)
    assert response.status_code == 200, response.text
    return [call["call_sid"] for call in response.json()["calls"]]


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    assert response.json()["error"]["message"]
    return code


async def test_every_route_needs_the_token(server: RunningServer) -> None:
    sid = await seed(server.services.store)
    routes = [
        ("GET", "/calls"),
        ("GET", f"/calls/{sid}"),
        ("GET", f"/calls/{sid}/export.json"),
        ("GET", f"/calls/{sid}/export.txt"),
        ("GET", f"/calls/{sid}/export.vtt"),
        ("DELETE", f"/calls/{sid}"),
    ]
    async with httpx.AsyncClient(base_url=server.base_url) as anonymous:
        for method, path in routes:
            response = await anonymous.request(method, path)
            assert response.status_code == 401, (method, path)
            assert error_code(response) == "unauthorized"
            assert response.headers["www-authenticate"] == "Bearer"
    async with client(server, "not-the-token") as wrong:
        for method, path in routes:
            response = await wrong.request(method, path)
            assert response.status_code == 401, (method, path)
    async with client(server) as http:
        assert (await http.get(f"/calls/{sid}")).status_code == 200  # still there


async def test_without_a_configured_token_the_api_is_off(tmp_path: Any) -> None:
    async with (
        running_server(f"sqlite+aiosqlite:///{tmp_path / 'off.db'}", api_token=None) as server,
        client(server, "anything") as http,
    ):
        response = await http.get("/calls")
    assert response.status_code == 403
    assert error_code(response) == "api_disabled"


async def test_the_api_is_in_the_openapi_schema(call_server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=call_server.base_url) as http:
        schema = (await http.get("/openapi.json")).json()
    paths = schema["paths"]
    assert set(paths["/calls/{call_sid}"]) == {"get", "delete"}
    for path in ("/calls", "/calls/{call_sid}/export.json", "/calls/{call_sid}/export.vtt"):
        assert "get" in paths[path]
    listing = paths["/calls"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {
        "limit", "cursor", "since", "until", "agent", "route", "direction", "end_reason",
        "interrupted", "q",
    }  # fmt: skip
    assert listing["responses"]["401"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }
    assert listing["security"] == [{"HTTPBearer": []}]
    summary = schema["components"]["schemas"]["CallSummary"]["properties"]
    assert {"interrupted", "turn_count", "route", "end_reason"} <= set(summary)


async def test_filters_and_search(server: RunningServer) -> None:
    store = server.services.store
    booked = await seed(store, turns=(caller("I'd like to BOOK a table", 0, 900),))
    cut = await seed(
        store,
        at=NOW - timedelta(days=2),
        turns=(agent("Our opening hours are nine to five", 0, 2000, heard="Our opening"),),
        agent="sales",
    )
    out = await seed(
        store,
        direction=CallDirection.OUTBOUND_API,
        route="callbacks",
        end=EndReason.TRANSFERRED,
    )
    literal = await seed(store, turns=(caller("it is 100% done_now", 0, 900),))
    async with client(server) as http:
        assert await listed(http) == [literal, out, cut, booked]  # newest first
        assert await listed(http, agent="sales") == [cut]
        assert await listed(http, route="callbacks") == [out]
        assert await listed(http, direction="outbound-api") == [out]
        assert await listed(http, end_reason="transferred") == [out]
        assert await listed(http, interrupted="true") == [cut]
        assert await listed(http, interrupted="false") == [literal, out, booked]
        assert await listed(http, q="book a") == [booked]  # any case
        assert await listed(http, q="opening") == [cut]  # what was heard, too
        assert await listed(http, q="100%") == [literal]
        assert await listed(http, q="0% d") == [literal]
        assert await listed(http, q="_") == [literal]  # not a wildcard
        assert await listed(http, q="nobody said this") == []
        day_ago = (NOW - timedelta(days=1)).isoformat()
        assert await listed(http, since=day_ago) == [literal, out, booked]
        assert await listed(http, until=day_ago) == [cut]
        assert await listed(http, since=day_ago, agent="receptionist", q="table") == [booked]

        summary = (await http.get("/calls", params={"agent": "sales"})).json()["calls"][0]
        assert summary == {
            "call_sid": cut,
            "agent": "sales",
            "route": "main",
            "direction": "inbound",
            "from_number": CALLER,
            "to_number": LINE,
            "started_at": summary["started_at"],
            "ended_at": summary["ended_at"],
            "end_reason": "caller_hung_up",
            "status": None,
            "interrupted": True,
            "turn_count": 1,
        }
        assert datetime.fromisoformat(summary["started_at"]) == NOW - timedelta(days=2)

        for bad in ({"direction": "sideways"}, {"since": "yesterday"}, {"since": "2026-01-01"}):
            response = await http.get("/calls", params=bad)
            assert response.status_code == 422, bad
            assert error_code(response) == "invalid_request"


async def test_pages_hold_still_while_calls_arrive(server: RunningServer) -> None:
    store = server.services.store
    first = [await seed(store) for _ in range(7)]
    async with client(server) as http:
        page = (await http.get("/calls", params={"limit": 3})).json()
        seen = [call["call_sid"] for call in page["calls"]]
        newer = [await seed(store) for _ in range(2)]  # arrive while the client pages
        while page["next_cursor"] is not None:
            page = (
                await http.get("/calls", params={"limit": 3, "cursor": page["next_cursor"]})
            ).json()
            seen += [call["call_sid"] for call in page["calls"]]
        assert seen == first[::-1], "every call once, in order, none of the newer ones"
        assert await listed(http, limit=2) == newer[::-1]

        assert (await http.get("/calls")).json()["next_cursor"] is None  # 9 < 50
        for bad in ({"cursor": "nonsense"}, {"limit": 201}, {"limit": 0}):
            response = await http.get("/calls", params=bad)
            assert response.status_code == 422, bad
            assert error_code(response) == "invalid_request"
        assert len(await listed(http, limit=200)) == 9


async def test_a_call_and_its_exports(server: RunningServer) -> None:
    turns = (
        agent("Hello, thanks for calling.", 200, 1800),
        caller("Hi, I need to <change> my booking & more", 2000, 4200),
        agent("Of course. Which booking would you like to change today?", 4500, 9000, "Of course."),
        caller("The one on Friday.", 5600, 6900),
    )
    sid = await seed(server.services.store, turns=turns)
    async with client(server) as http:
        detail = (await http.get(f"/calls/{sid}")).json()
        exported = await http.get(f"/calls/{sid}/export.json")
        plain = await http.get(f"/calls/{sid}/export.txt")
        vtt = await http.get(f"/calls/{sid}/export.vtt")
        missing = await http.get("/calls/CA" + "0" * 32)
        malformed = await http.get("/calls/CA..%2Fetc/export.vtt")
        legacy = await http.get(f"/calls/{sid}/transcript")

    assert detail["call"]["call_sid"] == sid
    assert detail["call"]["turn_count"] == 4
    assert detail["call"]["interrupted"] is True
    assert detail["summary"] is None
    base = f"{server.base_url}/calls/{sid}"
    assert detail["links"] == {
        "json": f"{base}/export.json",
        "text": f"{base}/export.txt",
        "vtt": f"{base}/export.vtt",
        "recording": None,
    }
    assert [turn["seq"] for turn in detail["turns"]] == [1, 2, 3, 4]
    third = detail["turns"][2]
    assert set(third) == {
        "seq", "speaker", "text", "heard_text", "interrupted", "start_ms", "end_ms", "created_at",
    }  # fmt: skip
    assert (third["heard_text"], third["interrupted"], third["end_ms"]) == (
        "Of course.",
        True,
        9000,
    )

    assert exported.json() == detail
    assert exported.headers["content-disposition"] == f'attachment; filename="{sid}.json"'

    assert plain.headers["content-type"].startswith("text/plain")
    lines = plain.text.splitlines()
    assert lines[0] == f"Call {sid}"
    assert "[00:00:04.500] Agent: Of course. [interrupted]" in lines
    assert "[00:00:02.000] Caller: Hi, I need to <change> my booking & more" in lines

    assert vtt.headers["content-type"].startswith("text/vtt")
    captions = webvtt.from_buffer(io.StringIO(vtt.text)).captions
    assert [(c.start, c.end, c.voice, html.unescape(c.text)) for c in captions] == [
        ("00:00:00.200", "00:00:01.800", "Agent", "Hello, thanks for calling."),
        ("00:00:02.000", "00:00:04.200", "Caller", "Hi, I need to <change> my booking & more"),
        ("00:00:04.500", "00:00:09.000", "Agent", "Of course."),  # ends where hearing stopped
        ("00:00:05.600", "00:00:06.900", "Caller", "The one on Friday."),
    ]
    assert [c.identifier for c in captions] == ["1", "2", "3", "4"]
    assert captions[1].text == "Hi, I need to &lt;change&gt; my booking &amp; more"  # escaped

    assert missing.status_code == 404
    assert error_code(missing) == "not_found"
    assert malformed.status_code == 404
    assert legacy.status_code == 200
    assert len(legacy.json()["turns"]) == 4


async def test_erasure_removes_the_call_everywhere(server: RunningServer) -> None:
    result = await server.place(
        [WaitForGreeting(timeout=20), Speak(1.0), WaitForReply(timeout=20), Hangup()]
    )
    sid = result.call_sid
    await server.finished_transcript(sid)
    other = await seed(server.services.store, turns=(caller("keep me", 0, 500),))
    erased_by_hook: list[str] = []

    async def also_erase(call: Any) -> None:  # as a summary or a recording store would
        erased_by_hook.append(call.call_sid)

    server.services.erasure.register("a test's records", also_erase)
    engine = server.services.store.engine
    counts = (
        "SELECT (SELECT count(*) FROM calls WHERE call_sid = :sid),"
        " (SELECT count(*) FROM call_turns t JOIN calls c ON c.id = t.call_id"
        "  WHERE c.call_sid = :sid),"
        " (SELECT count(*) FROM call_streams WHERE call_sid = :sid),"
        " (SELECT count(*) FROM sessions WHERE id = :sid),"
        " (SELECT count(*) FROM events WHERE session_id = :sid)"
    )

    async def stored(call_sid: str) -> tuple[int, ...]:
        async with engine.connect() as connection:
            row = (await connection.execute(text(counts), {"sid": call_sid})).one()
        return tuple(row)

    before = await stored(sid)
    assert before[0] == before[2] == before[3] == 1
    assert before[1] >= 3
    assert before[4] >= 1  # ADK's durable events of the call
    async with client(server) as http:
        placed = (await http.get(f"/calls/{sid}")).json()["call"]
        assert (placed["agent"], placed["route"], placed["direction"]) == (
            "receptionist",
            "default",
            "inbound",
        )
        deleted = await http.delete(f"/calls/{sid}")
        assert deleted.status_code == 204
        assert (await http.get(f"/calls/{sid}")).status_code == 404
        again = await http.delete(f"/calls/{sid}")
        assert again.status_code == 404
        assert await listed(http) == [other]
    assert await stored(sid) == (0, 0, 0, 0, 0)
    assert erased_by_hook == [sid]
    assert (await stored(other))[:2] == (1, 1)


async def test_the_server_erases_calls_past_retention(database_url: str) -> None:
    async with TranscriptStore.from_url(database_url) as store:
        await store.create_schema()
        await StorageKeeper(store).start()  # another live instance, carrying a call
        old = await seed(store, at=NOW - timedelta(days=40))
        young = await seed(store, at=NOW - timedelta(days=20))
        carried = await seed(store, at=NOW - timedelta(days=40), end=None)  # still in progress
        lost = await seed(store, at=NOW - timedelta(days=40), end=None)
        async with store.engine.begin() as connection:  # a call nobody carries any more
            await connection.execute(
                text("DELETE FROM call_carriers WHERE call_sid = :sid"), {"sid": lost}
            )
    async with running_server(database_url, retention_days=30) as server, client(server) as http:
        async with asyncio.timeout(30):
            while True:
                remaining = await listed(http)
                if not {old, lost} & set(remaining):  # erased in the order they came
                    break
                await asyncio.sleep(0.05)
    assert old not in remaining
    assert lost not in remaining
    assert young in remaining
    assert carried in remaining


async def test_privacy_applies_before_storage(database_url: str) -> None:
    settings = {"transcript_redaction": "mask", "caller_number_storage": "hashed"}
    async with running_server(database_url, **settings) as server, client(server) as http:
        sid = await seed(
            server.services.store,
            turns=(
                caller("my card is 4111 1111 1111 1111, mail me at a.b@example.com", 0, 900),
                caller("order 12345678", 1000, 1900),
            ),
        )
        detail = (await http.get(f"/calls/{sid}")).json()
        assert await listed(http, q="4111") == []

    said = [turn["text"] for turn in detail["turns"]]
    assert said == [f"my card is {CARD}, mail me at {EMAIL}", "order 12345678"]
    assert detail["call"]["from_number"].startswith(HASH_PREFIX)
    assert CALLER not in detail["call"]["from_number"]
    assert detail["call"]["to_number"] == LINE  # our own line is not the caller's
    async with TranscriptStore.from_url(database_url) as raw, raw.engine.connect() as connection:
        stored = (await connection.execute(text("SELECT text FROM call_turns"))).scalars().all()
    assert not any("4111" in words for words in stored)


async def test_a_failed_erasure_keeps_the_call_to_try_again(call_server: RunningServer) -> None:
    sid = await seed(call_server.services.store, turns=(caller("hello", 0, 500),))
    failures = [RuntimeError("the recordings service is down")]

    async def flaky(call: Any) -> None:
        if failures:
            raise failures.pop()

    call_server.services.erasure.register("recordings", flaky)
    async with client(call_server) as http:
        failed = await http.delete(f"/calls/{sid}")
        assert failed.status_code == 503
        assert error_code(failed) == "storage_unavailable"
        assert (await http.get(f"/calls/{sid}")).json()["call"]["turn_count"] == 1
        assert (await http.delete(f"/calls/{sid}")).status_code == 204
        assert (await http.get(f"/calls/{sid}")).status_code == 404


async def test_a_masked_call_keeps_no_card_number_anywhere(database_url: str) -> None:
    card = "4111 1111 1111 1111"
    async with running_server(database_url, transcript_redaction="mask") as server:
        server.emulator.script.next_reply(f"Hello! I see the card {card} on file.")
        server.emulator.script.next_transcription(f"My card is {card}, mail me at a@b.io")
        result = await server.place(
            [WaitForGreeting(timeout=20), Speak(1.0), WaitForReply(timeout=20), Hangup()]
        )
        transcript = await server.finished_transcript(result.call_sid)
        async with server.services.store.engine.connect() as connection:
            turns = (await connection.execute(text("SELECT * FROM call_turns"))).all()
            events = (await connection.execute(text("SELECT * FROM events"))).all()
            live = (await connection.execute(text("SELECT * FROM call_events"))).all()

    said = [turn.text for turn in transcript.turns]
    assert said[0] == f"Hello! I see the card {CARD} on file."
    assert said[1] == f"My card is {CARD}, mail me at {EMAIL}"
    assert any(row.kind == "turn" for row in live)
    stored = repr(turns) + repr(events) + repr(live)
    assert "1111" not in stored
    assert "a@b.io" not in stored
