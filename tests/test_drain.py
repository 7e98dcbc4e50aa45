"""Deploys that cut no call: ``serve`` drains on SIGTERM.

A real server process carries live simulated calls when it is sent SIGTERM: it stops being
ready, answers new calls with the overflow, lets the live calls finish, and exits when the last
one has ended. In process, with a short budget: the calls still live at its end hear the agent's
closing line and go to the fallback.
"""

import asyncio
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from telephony.config import Settings
from tests.callserver import RunningServer, running_server
from tests.test_processes import ServerProcesses
from tests.twilio_peer import post_voice, voice_form
from twins.twilio import (
    CallConfig,
    CallResult,
    Hangup,
    Silence,
    SimulatedCall,
    Speak,
    WaitForGreeting,
    WaitForReply,
    parse_twiml,
)
from twins.twilio import EndReason as SimEnd

AUTH_TOKEN = "4" * 32
OVERFLOW_MESSAGE = Settings.model_fields["overflow_message"].default
LIVE_CALLS = 5
# Each caller talks for a while after the SIGTERM: long enough to see the drain, short enough
# for a test; they hang up themselves (a normal end).
CONVERSATION = (
    WaitForGreeting(timeout=30),
    Speak(1.2),
    WaitForReply(timeout=30),
    Silence(4.0),
    Speak(1.2),
    WaitForReply(timeout=30),
    Hangup(),
)


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[ServerProcesses]:
    processes = ServerProcesses(tmp_path)
    yield processes
    processes.stop_all()


def call_config(base_url: str, script: tuple[object, ...], index: int) -> CallConfig:
    return CallConfig(
        server_url=base_url,
        auth_token=AUTH_TOKEN,
        script=script,  # type: ignore[arg-type]
        seed=index,
        max_duration_s=120,
    )


async def get(base_url: str, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        return await client.get(path)


async def wait_for_status(base_url: str, path: str, status: int) -> None:
    async with asyncio.timeout(30):
        while True:
            if (await get(base_url, path)).status_code == status:
                return
            await asyncio.sleep(0.1)


async def wait_for_live_calls(base_url: str, count: int, process: subprocess.Popen[str]) -> None:
    async with asyncio.timeout(60):
        while True:
            assert process.poll() is None, "the server exited"
            if (await get(base_url, "/healthz")).json()["calls"] == count:
                return
            await asyncio.sleep(0.1)


async def serve(
    server_process: ServerProcesses, database: Path, **env: str
) -> subprocess.Popen[str]:
    """``python -m telephony serve`` on the fixture's port, with a SQLite file of its own."""
    process, _ = await asyncio.to_thread(
        server_process.start,
        [sys.executable, "-m", "telephony", "serve", "--host", "127.0.0.1"],
        PORT=server_process.port,
        PUBLIC_URL=server_process.base_url,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        **env,
    )
    return process


async def test_sigterm_lets_live_calls_finish_refuses_new_ones_and_exits_after_the_last(
    tmp_path: Path, server_process: ServerProcesses
) -> None:
    base_url = server_process.base_url
    process = await serve(server_process, tmp_path / "drain.db", DRAIN_BUDGET_S="300")
    assert (await get(base_url, "/readyz")).status_code == 200
    calls = [
        asyncio.create_task(SimulatedCall(call_config(base_url, CONVERSATION, i)).run())
        for i in range(LIVE_CALLS)
    ]
    await wait_for_live_calls(base_url, LIVE_CALLS, process)

    process.send_signal(signal.SIGTERM)
    await wait_for_status(base_url, "/readyz", 503)
    health = await get(base_url, "/healthz")
    assert health.status_code == 200, "a draining process is alive"
    late = await SimulatedCall(call_config(base_url, (WaitForGreeting(timeout=5),), 99)).run()
    assert process.poll() is None, "the live calls are not over yet"

    results: list[CallResult] = await asyncio.wait_for(asyncio.gather(*calls), timeout=120)
    output, _ = await asyncio.to_thread(process.communicate, timeout=60)

    assert late.end_reason is SimEnd.NO_STREAM
    assert [verb.name for verb in late.next_verbs] == ["Say", "Hangup"]
    assert late.webhook is not None
    assert OVERFLOW_MESSAGE in late.webhook.body
    for result in results:
        assert result.end_reason is SimEnd.CALLER_HANGUP, result.error
        assert not result.violations
        assert len(result.metrics.turns) >= 2, "every caller was answered through the drain"
    assert process.returncode in (0, -signal.SIGTERM)
    assert output.count("stream started") == LIVE_CALLS
    assert "drain" in output
    assert "server_shutdown" not in output, "no call was cut"


async def test_at_the_end_of_the_budget_the_agent_says_a_line_and_the_caller_goes_on(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'budget.db'}"
    async with running_server(url, drain_budget_s=1.0) as server:
        script = (WaitForGreeting(timeout=30), Speak(1.0), WaitForReply(timeout=30), Silence(60))
        call = asyncio.create_task(server.place(script))
        before = await wait_for_agent_turns(server, 1)  # the greeting has been heard
        server.services.drain.begin()
        result = await call
        await asyncio.wait_for(server.services.drain.finished(), timeout=30)
        transcript = await server.finished_transcript(result.call_sid)
    assert result.end_reason is SimEnd.SERVER_CLOSED
    assert result.close_code == 1000
    assert [verb.name for verb in result.next_verbs] == ["Say", "Hangup"], "the fallback"
    assert transcript.call.end_reason == "server_shutdown"
    agent_turns = [turn for turn in transcript.turns if turn.speaker == "agent"]
    assert len(agent_turns) > before, "the closing line came after the drain began"
    assert agent_turns[-1].heard_text, "and was heard"
    assert not agent_turns[-1].interrupted


async def wait_for_agent_turns(server: RunningServer, count: int) -> int:
    """Until the one live call has stored ``count`` agent turns; how many it has then."""
    async with asyncio.timeout(60):
        while True:
            for call_sid in list(server.services.calls):
                found = await server.services.store.transcript(call_sid)
                stored = sum(t.speaker == "agent" for t in found.turns) if found else 0
                if stored >= count:
                    return stored
            await asyncio.sleep(0.05)


async def test_a_draining_process_is_not_ready_and_answers_new_calls_with_the_overflow(
    call_server: RunningServer,
) -> None:
    assert (await get(call_server.base_url, "/readyz")).status_code == 200
    call_server.services.drain.begin()
    ready = await get(call_server.base_url, "/readyz")
    assert ready.status_code == 503
    assert ready.json()["status"] == "draining"
    assert (await get(call_server.base_url, "/healthz")).status_code == 200
    response = await post_voice(call_server, voice_form())
    twiml = parse_twiml(response.text)
    assert twiml.stream is None
    assert "token" not in response.text
    assert [verb.name for verb in twiml.verbs] == ["Say", "Hangup"]
    # No call was waiting: the drain is over at once.
    await asyncio.wait_for(call_server.services.drain.finished(), timeout=10)


async def test_a_second_sigterm_stops_at_once_and_the_live_call_goes_to_its_fallback(
    tmp_path: Path, server_process: ServerProcesses
) -> None:
    base_url = server_process.base_url
    process = await serve(server_process, tmp_path / "twice.db")
    script = (WaitForGreeting(timeout=30), Silence(90), Hangup())
    call = asyncio.create_task(SimulatedCall(call_config(base_url, script, 0)).run())
    await wait_for_live_calls(base_url, 1, process)
    process.send_signal(signal.SIGTERM)
    await wait_for_status(base_url, "/readyz", 503)
    assert process.poll() is None, "the first SIGTERM drains"
    process.send_signal(signal.SIGTERM)
    result = await asyncio.wait_for(call, timeout=60)
    await asyncio.to_thread(process.communicate, timeout=60)
    assert result.end_reason is SimEnd.SERVER_CLOSED
    assert [verb.name for verb in result.next_verbs] == ["Say", "Hangup"], "not a cut line"
    assert process.returncode in (0, -signal.SIGTERM)
