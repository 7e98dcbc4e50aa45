"""The live view across server processes: a call carried by one process, watched through
another, both on one PostgreSQL (LISTEN/NOTIFY), with a reconnect that resumes by
``Last-Event-ID``."""

import asyncio
import secrets
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from tests.sse import SseEvent, sse_events
from tests.test_processes import ServerProcesses
from twins.twilio import CallConfig, Hangup, SimulatedCall, Speak, WaitForGreeting, WaitForReply
from twins.twilio.ids import new_call_sid

pytestmark = pytest.mark.postgres


async def _start(workdir: Path, **env: str) -> tuple[ServerProcesses, str]:
    servers = ServerProcesses(workdir)
    command = [sys.executable, "-m", "telephony", "serve", "--host", "127.0.0.1"]
    await asyncio.to_thread(
        servers.start,
        [*command, "--port", servers.port],
        PUBLIC_URL=servers.base_url,
        LOG_LEVEL="INFO",
        **env,
    )
    return servers, servers.base_url


def _stop(servers: ServerProcesses) -> str:
    servers.stop_all()
    return "".join(process.communicate()[0] for process in servers.started)


async def _readers(client: httpx.AsyncClient, bearer: dict[str, str]) -> bool:
    report = (await client.get("/metrics", headers=bearer)).json()
    readers: int = report["feed"]["readers"]
    return readers > 0


async def _until(condition: Callable[[], Awaitable[bool]], timeout_s: float) -> None:
    async with asyncio.timeout(timeout_s):
        while True:
            if await condition():
                return
            await asyncio.sleep(0.05)


async def test_a_call_on_one_process_is_watched_live_from_another(
    tmp_path: Path, postgres_url: str
) -> None:
    url = postgres_url
    auth_token, api_token = secrets.token_hex(16), secrets.token_urlsafe(16)
    env = {"DATABASE_URL": url, "TWILIO_AUTH_TOKEN": auth_token, "API_TOKEN": api_token}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    carrier, carrier_url = await _start(tmp_path / "a", **env)
    watcher, watcher_url = await _start(tmp_path / "b", **env)
    bearer = {"Authorization": f"Bearer {api_token}"}
    call_sid = new_call_sid()
    config = CallConfig(
        server_url=carrier_url,
        auth_token=auth_token,
        call_sid=call_sid,
        script=(
            WaitForGreeting(timeout=30),
            Speak(1.5),
            WaitForReply(timeout=30),
            Speak(1.5),
            WaitForReply(timeout=30),
            Hangup(),
        ),
    )
    try:
        async with httpx.AsyncClient(base_url=watcher_url, timeout=60) as client:
            listed: list[SseEvent] = []
            list_seen = asyncio.Event()

            async def watch_list() -> None:
                async with client.stream("GET", "/calls/events", headers=bearer) as response:
                    async for event in sse_events(response):
                        if event.payload["call_sid"] == call_sid:
                            listed.append(event)
                            list_seen.set()
                            if event.kind == "call_ended":
                                return

            list_task = asyncio.create_task(watch_list())
            await _until(lambda: _readers(client, bearer), 30)  # the list's stream is open
            call_task = asyncio.create_task(asyncio.wait_for(SimulatedCall(config).run(), 120))
            async with asyncio.timeout(60):
                await list_seen.wait()
            assert listed[0].kind == "call_started"

            # The browser's way in: a ticket, no token in the URL.
            ticket = (await client.post("/calls/events/ticket", headers=bearer)).json()["ticket"]
            first: list[SseEvent] = []
            path = f"/calls/{call_sid}/events"
            async with (
                asyncio.timeout(90),
                client.stream("GET", path, params={"ticket": ticket}) as response,
            ):
                async for event in sse_events(response):
                    first.append(event)
                    if event.kind == "turn":
                        break  # the viewer drops out after the first turn
            resumed: list[SseEvent] = []
            headers = bearer | {"Last-Event-ID": str(first[-1].id)}
            async with (
                asyncio.timeout(120),
                client.stream("GET", path, headers=headers) as response,
            ):
                resumed = [event async for event in sse_events(response)]
            result = await call_task
            async with asyncio.timeout(60):
                await list_task
            stored = (await client.get(f"/calls/{call_sid}/transcript", headers=bearer)).json()
            again = await client.get(path, headers=bearer | {"Last-Event-ID": str(resumed[-1].id)})
    finally:
        logs = _stop(carrier) + _stop(watcher)

    assert result.error is None, logs

    events = first + resumed
    ids = [event.id for event in events]
    assert ids == sorted(set(ids)), "events out of order or repeated"
    assert events[0].kind == "call_started"
    assert events[-1].kind == "call_ended"
    assert events[-1].data["end_reason"] == "caller_hung_up"
    turns = [event.data for event in events if event.kind == "turn"]
    assert len(stored["turns"]) >= 5, "greeting, two questions, two answers"
    assert [turn["seq"] for turn in turns] == [turn["seq"] for turn in stored["turns"]]
    assert [turn["text"] for turn in turns] == [turn["text"] for turn in stored["turns"]]
    assert [turn["seq"] for turn in turns] == list(range(1, len(turns) + 1))
    assert resumed and all(event.kind != "call_started" for event in resumed)
    assert any(event.kind == "agent_partial" for event in events)
    assert [event.kind for event in listed] == ["call_started", "call_ended"]
    assert again.status_code == 204, "a stream resumed after the end tells the browser to stop"
