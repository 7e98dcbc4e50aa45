"""Call control end to end: the agent's tools end and transfer real calls. The Twilio simulator
calls the real server and serves the REST API it uses; the Live emulator calls the tools."""

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

from telephony.transcripts import EndReason, Speaker, Transcript
from tests.callserver import ACCOUNT_SID, RunningServer, running_server
from tests.test_metrics_prometheus import scrape, value
from twins.gemini_live.script import Immediately
from twins.twilio import (
    Callees,
    CallResult,
    Dialled,
    EventKind,
    HungUp,
    Party,
    Redirected,
    Requested,
    Silence,
    SimulatedCall,
    Speak,
    TwilioRestSim,
    WaitForGreeting,
    WaitForReply,
)

DESK = "+14155550100"
BILLING = "+14155550111"
ROUTES = f"""\
[[route]]
name = "desk"
numbers = ["{DESK}"]
agent = "frontdesk"
business_name = "Acme"
[route.targets.billing]
number = "{BILLING}"
timeout_s = 5
"""
GOODBYE = "Thank you for calling Acme. Goodbye!"


@contextlib.asynccontextmanager
async def desk(
    tmp_path: Path, *, rest: bool = True
) -> AsyncIterator[tuple[RunningServer, TwilioRestSim]]:
    routes = tmp_path / "routes.toml"
    routes.write_text(ROUTES)
    token = secrets.token_hex(16)
    database = f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}"
    async with TwilioRestSim(account_sid=ACCOUNT_SID, auth_token=token) as sim:
        settings: dict[str, object] = {"routes_file": routes}
        if rest:
            settings["twilio_api_base_url"] = sim.url
        else:
            settings["twilio_account_sid"] = None  # no REST credentials: call control is off
        async with running_server(database, auth_token=token, **settings) as server:
            yield server, sim


async def call_and_act(
    server: RunningServer,
    sim: TwilioRestSim,
    script: list[object],
    act: "asyncio.Future[None] | None" = None,
    *,
    tool: str,
    args: dict[str, str],
    reply: str,
    callees: Callees | None = None,
    return_script: list[object] | None = None,
) -> CallResult:
    """Place a call to the desk; once the greeting has been spoken, the model says ``reply``
    after calling ``tool``."""
    overrides: dict[str, object] = {"to_number": DESK}
    if callees is not None:
        overrides["callees"] = callees
    if return_script is not None:
        overrides["return_script"] = tuple(return_script)
    call = SimulatedCall(server.call_config(script, **overrides))  # type: ignore[arg-type]
    sim.attach(call)
    running = asyncio.create_task(call.run())
    emulator = server.emulator
    await emulator.record.wait_for(
        lambda record: bool(record.connections) and record.last.turns_completed >= 1, timeout=30
    )
    emulator.script.next_reply(reply)
    emulator.script.call_tool(tool, args, when=Immediately())
    return await asyncio.wait_for(running, 90)


def agent_turns(transcript: Transcript) -> list[str]:
    return [t.text for t in transcript.turns if t.speaker is Speaker.AGENT]


def system_turns(transcript: Transcript) -> list[str]:
    return [t.text for t in transcript.turns if t.speaker is Speaker.SYSTEM]


async def test_end_call_after_the_goodbye_was_heard(tmp_path: Path) -> None:
    async with desk(tmp_path) as (server, sim):
        result = await call_and_act(
            server,
            sim,
            [WaitForGreeting(timeout=20), Silence(60)],
            tool="end_call",
            args={"reason": "the caller is done"},
            reply=GOODBYE,
        )
        transcript = await server.finished_transcript(result.call_sid)
        tools = server.emulator.record.last.tool_calls

    assert tools == ["end_call"]
    assert len(result.journey) == 1, result.journey
    assert result.journey[-1] == HungUp(t=result.journey[-1].t, by="rest")
    assert result.final_status == "completed"
    assert transcript.call.end_reason is EndReason.AGENT_HUNG_UP
    goodbye = [t for t in transcript.turns if t.speaker is Speaker.AGENT][-1]
    assert goodbye.text == GOODBYE
    assert goodbye.heard_text == GOODBYE and not goodbye.interrupted, "the goodbye was cut"
    assert system_turns(transcript) == ["The agent ended the call (the caller is done)."]
    assert transcript.turns[-1].speaker is Speaker.SYSTEM
    # Twilio's buffer had played everything the server sent before the call ended.
    events = result.timeline.events()
    assert not [e for e in events if e.kind is EventKind.CLEAR_RECEIVED]
    assert result.metrics.violations == 0


async def test_a_cold_transfer_dials_the_target_after_the_last_words(tmp_path: Path) -> None:
    callees = Callees(parties={BILLING: Party(after_s=0.5, talk_s=0.5)})
    async with desk(tmp_path) as (server, sim):
        result = await call_and_act(
            server,
            sim,
            [WaitForGreeting(timeout=20), Silence(60)],
            tool="transfer_call",
            args={"target": "billing", "reason": "a question about an invoice"},
            reply="Putting you through to billing now.",
            callees=callees,
        )
        transcript = await server.finished_transcript(result.call_sid)

    kinds = [type(entry).__name__ for entry in result.journey]
    assert kinds[:3] == ["Redirected", "Dialled", "Requested"], kinds
    redirected, dialled, requested = result.journey[:3]
    assert isinstance(redirected, Redirected) and redirected.by == "rest"
    assert isinstance(dialled, Dialled) and dialled.targets == (BILLING,)
    assert dialled.status == "completed"
    assert isinstance(requested, Requested) and "/twilio/transfer/" in requested.url
    assert isinstance(result.journey[-1], HungUp)
    assert transcript.call.end_reason is EndReason.TRANSFERRED
    last_words = [t for t in transcript.turns if t.speaker is Speaker.AGENT][-1]
    assert last_words.text == "Putting you through to billing now."
    assert last_words.heard_text == last_words.text and not last_words.interrupted
    assert system_turns(transcript) == [
        "Cold transfer to billing (a question about an invoice).",
        "Transfer to billing: completed.",
    ]


async def test_an_unanswered_transfer_brings_the_caller_back_to_the_agent(
    tmp_path: Path,
) -> None:
    callees = Callees(parties={BILLING: Party("no-answer")})
    async with desk(tmp_path) as (server, sim):
        emulator = server.emulator
        result = await call_and_act(
            server,
            sim,
            [
                WaitForGreeting(timeout=20),
                Silence(12),
                WaitForReply(timeout=30),
                Speak(1.0),
                WaitForReply(timeout=30),
            ],
            tool="transfer_call",
            args={"target": "billing", "reason": "an invoice"},
            reply="Putting you through to billing now.",
            callees=callees,
            return_script=[WaitForGreeting(timeout=30), Speak(1.0), WaitForReply(timeout=30)],
        )
        transcript = await server.finished_transcript(result.call_sid)
        texts = [text.text for conn in emulator.record.connections for text in conn.texts]
        connections = emulator.record.connections
        _, scraped = await scrape(server)

    transfers = scraped["telephony_transfers"]
    assert value(transfers, "telephony_transfers_total", kind="cold", outcome="dialled") == 1
    assert value(transfers, "telephony_transfers_total", kind="cold", outcome="no-answer") == 1
    kinds = [type(entry).__name__ for entry in result.journey]
    assert kinds[:3] == ["Redirected", "Dialled", "Requested"], kinds
    dialled = result.journey[1]
    assert isinstance(dialled, Dialled) and dialled.status == "no-answer"
    assert len(server.services.calls) == 0
    back = [text for text in texts if "did not go through (no-answer)" in text]
    assert len(back) == 1
    assert "Putting you through to billing now." in back[0], "the agent keeps the conversation"
    assert transcript.call.end_reason is EndReason.CALLER_HUNG_UP
    assert system_turns(transcript) == [
        "Cold transfer to billing (an invoice).",
        "Transfer to billing: no-answer.",
    ]
    speakers = [t.speaker for t in transcript.turns]
    assert speakers.count(Speaker.AGENT) >= 3
    assert [t.seq for t in transcript.turns] == list(range(1, len(transcript.turns) + 1))
    turns = transcript.turns
    outcome = [t.text for t in turns].index("Transfer to billing: no-answer.")
    first_leg_end = max(t.end_ms for t in turns[:outcome])
    assert min(t.start_ms for t in turns[outcome + 1 :]) >= first_leg_end, (
        "the return leg's turns are timed from the call's start, after the first leg's"
    )
    assert len(connections) == 2 and connections[-1].caller_turns == 1, "heard on return"
    # The same ADK session: its history (the transfer tool call) reaches the new connection.
    assert "called tool `transfer_call`" in " ".join(t.text for t in connections[-1].texts)


async def test_without_rest_credentials_the_tools_say_so(tmp_path: Path) -> None:
    async with desk(tmp_path, rest=False) as (server, sim):
        result = await call_and_act(
            server,
            sim,
            [WaitForGreeting(timeout=20), Silence(3)],
            tool="end_call",
            args={"reason": "done"},
            reply="I cannot end the call myself; you can hang up whenever you like.",
        )
        transcript = await server.finished_transcript(result.call_sid)
        responses = server.emulator.record.last.tool_responses

    assert [r.name for r in responses] == ["end_call"]
    assert "not configured" in str(responses[0].response)
    assert transcript.call.end_reason is EndReason.CALLER_HUNG_UP
    assert system_turns(transcript) == []


async def test_the_transfer_outcome_webhook_is_signed_and_about_its_call(tmp_path: Path) -> None:
    import httpx

    call_sid = "CA" + "7" * 32
    form = {"CallSid": call_sid, "AccountSid": ACCOUNT_SID, "DialCallStatus": "busy"}
    async with desk(tmp_path) as (server, _sim), httpx.AsyncClient() as client:
        path = f"/twilio/transfer/{call_sid}?target=billing"
        url = server.base_url + path
        unsigned = await client.post(url, data=form)
        other = "CA" + "8" * 32
        elsewhere = server.base_url + f"/twilio/transfer/{other}?target=billing"
        mismatched = await client.post(
            elsewhere, data=form, headers={"X-Twilio-Signature": server.sign(elsewhere, form)}
        )
        bad_target = server.base_url + f"/twilio/transfer/{call_sid}?target=Bad%20Name"
        refused_target = await client.post(
            bad_target, data=form, headers={"X-Twilio-Signature": server.sign(bad_target, form)}
        )
        never_transferred = await client.post(
            url, data=form, headers={"X-Twilio-Signature": server.sign(url, form)}
        )

    assert unsigned.status_code == 403
    assert (mismatched.status_code, refused_target.status_code) == (400, 400)
    # A call this server never transferred gets no stream back: the safety net only.
    assert never_transferred.status_code == 200
    assert "<Stream" not in never_transferred.text and "<Hangup" in never_transferred.text
