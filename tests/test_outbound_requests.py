"""Outbound call requests: bad ones are refused with a 4xx and a message, and place no call;
good ones are paced (never more calls live than allowed)."""

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from telephony.__main__ import main
from tests.callserver import running_server
from tests.outbound import CALLEE_NUMBER, OUR_NUMBER, callee, dialling_server
from twins.twilio import Hangup, Silence

FINAL = ("completed", "busy", "no-answer", "failed", "canceled")


def body(**overrides: Any) -> dict[str, Any]:
    return {"to": CALLEE_NUMBER, "from": OUR_NUMBER, "purpose": "a reminder"} | overrides


@pytest.mark.parametrize(
    ("request_body", "status", "message"),
    [
        (body(to="4155550123"), 422, "to: Value error, must be an E.164 number"),
        (body(to="+1 415 555 0123"), 422, "to: Value error, must be an E.164 number"),
        (body(to="+0415550123"), 422, "to: Value error, must be an E.164 number"),
        (body(**{"from": "+14155550199"}), 422, "from: not one of our numbers"),
        (body(agent="no_such_agent"), 422, "agent: no agent package agents.no_such_agent"),
        (body(agent="../etc"), 422, "agent: invalid agent name"),
        (body(variables={"bad name": "x"}), 422, "variables: Value error, variable names"),
        (body(purpose="x" * 501), 422, "purpose: String should have at most 500 characters"),
        (body(colour="red"), 422, "colour: Extra inputs are not permitted"),
        ({"from": OUR_NUMBER}, 422, "to: Field required"),
    ],
)
async def test_a_bad_request_is_refused_with_a_message_and_places_no_call(
    tmp_path: Path, request_body: dict[str, Any], status: int, message: str
) -> None:
    async with dialling_server(tmp_path) as (server, rest):
        headers = {"Authorization": f"Bearer {server.api_token}"}
        async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as client:
            answer = await client.post("/calls", json=request_body)
            await asyncio.sleep(0.2)  # a call wrongly queued would be created by now
    assert answer.status_code == status
    assert message in answer.json()["detail"]
    assert rest.calls == {}


async def test_without_a_token_or_credentials_nothing_is_placed(tmp_path: Path) -> None:
    async with dialling_server(tmp_path) as (server, rest):
        client = httpx.AsyncClient(base_url=server.base_url)
        async with client:
            anonymous = await client.post("/calls", json=body())
            wrong = await client.post(
                "/calls", json=body(), headers={"Authorization": "Bearer nope"}
            )
    assert (anonymous.status_code, wrong.status_code) == (401, 401)
    assert rest.calls == {}

    database = f"sqlite+aiosqlite:///{tmp_path / 'other.db'}"
    async with (
        running_server(
            database, twilio_account_sid=None, outbound_from_numbers=OUR_NUMBER
        ) as server,
        httpx.AsyncClient(base_url=server.base_url) as client,
    ):
        headers = {"Authorization": f"Bearer {server.api_token}"}
        answer = await client.post("/calls", json=body(), headers=headers)
    assert answer.status_code == 409
    assert "outbound calls are not configured" in answer.json()["detail"]


async def test_twenty_calls_with_five_allowed_at_once_never_have_more_than_five_live(
    tmp_path: Path,
) -> None:
    async with dialling_server(tmp_path, outbound_max_concurrent=5) as (server, rest):
        rest.state.callee = callee(server, script=(Silence(0.4), Hangup()))
        most_live = 0
        async with httpx.AsyncClient(base_url=server.base_url) as client:
            headers = {"Authorization": f"Bearer {server.api_token}"}
            answers = [await client.post("/calls", json=body(), headers=headers) for _ in range(20)]
            assert [a.status_code for a in answers] == [202] * 20
            assert {a.json()["status"] for a in answers} == {"queued"}
            ids = [a.json()["id"] for a in answers]
            async with asyncio.timeout(120):
                while True:
                    live = [c for c in rest.calls.values() if c.status not in FINAL]
                    most_live = max(most_live, len(live))
                    states = [
                        (await client.get(f"/outbound/{i}", headers=headers)).json()["status"]
                        for i in ids
                    ]
                    if all(state in FINAL for state in states):
                        break
                    await asyncio.sleep(0.02)
        peak = server.services.outbound.pacer.peak

    assert len(rest.calls) == 20
    assert states == ["completed"] * 20
    assert most_live <= 5
    assert peak == 5, "the limit was reached, and held"


async def test_the_dial_command_places_a_call_and_follows_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with dialling_server(tmp_path) as (server, rest):
        rest.state.callee = callee(server, script=(Silence(0.4), Hangup()))
        argv = [
            "dial",
            CALLEE_NUMBER,
            "--server",
            server.base_url,
            "--api-token",
            server.api_token,
            "--from",
            OUR_NUMBER,
            "--purpose",
            "a reminder",
            "--var",
            "time=10:30",
        ]
        code = await asyncio.wait_for(asyncio.to_thread(main, argv), 60)
        bad = await asyncio.to_thread(main, [*argv[:8], "--var", "no-equals-sign"])
    out = capsys.readouterr().out
    assert code == 0
    assert "queued" in out and "completed" in out
    [placed] = rest.calls.values()
    assert placed.to == CALLEE_NUMBER
    assert bad == 2 and "--var takes name=value" in out
