"""Warm transfers end to end: the real server, the Twilio simulator (REST, TwiML, conferences,
the dialled person), the Live emulator as the model (and the briefing's text model), real ADK.

The caller talks to the agent, which calls ``warm_transfer``; the caller waits in a conference
room on hold music while the person is dialled; the person hears the briefing, then joins; or
declines, does not answer, hangs up during the briefing: the caller is back with the agent.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from telephony.briefing import BriefingWriter
from telephony.routing import Route
from telephony.transcripts import CallInfo, EndReason, Speaker, Transcript, TranscriptStore
from telephony.twilio.destinations import Destination, Kind
from telephony.warm_state import Outcome, WarmTransfer
from telephony.warm_transfer import WarmTransfers
from tests.callserver import ACCOUNT_SID, RunningServer
from tests.test_call_control import BILLING, desk, system_turns
from tests.test_metrics_prometheus import scrape, value
from twins.gemini_live import LiveEmulator
from twins.twilio import (
    AfterStream,
    Callees,
    CallResult,
    Conferenced,
    ConferencePlan,
    HungUp,
    Party,
    People,
    PersonCall,
    Redirected,
    Said,
    Silence,
    SimulatedCall,
    Speak,
    Step,
    TwilioRestSim,
    WaitForGreeting,
    WaitForReply,
)

ASKED = "I need help with the invoice you sent me in March."
REPLY = "Of course. You will hear some music while I brief a colleague in billing."
REASON = "a question about the March invoice"
WAITING = Callees(default_conference=ConferencePlan(joiners=()))
"""The caller's side: nobody joins the room by themselves (the person is dialled over REST)."""
FAST_SPEECH = AfterStream(words_per_minute=600.0)
"""The person hears the briefing at four times a voice's pace (the test's time, not Twilio's)."""


@contextlib.asynccontextmanager
async def warm_desk(
    tmp_path: Path, person: Party
) -> AsyncIterator[tuple[RunningServer, TwilioRestSim]]:
    """The desk of the cold-transfer tests, with billing played by ``person``."""
    async with desk(tmp_path) as (server, sim):
        sim.switchboard.callees = Callees(parties={BILLING: person})
        sim.people = People(server_url=server.base_url, after_stream=FAST_SPEECH)
        yield server, sim


async def warm_call(
    server: RunningServer,
    sim: TwilioRestSim,
    *,
    script: list[Step] | None = None,
    return_script: list[Step] | None = None,
    after_stream: AfterStream | None = None,
) -> tuple[CallResult, PersonCall]:
    """A caller asks about an invoice; the agent answers and warm-transfers them to billing."""
    overrides: dict[str, object] = {
        "to_number": "+14155550100",
        "callees": WAITING,
        "return_script": tuple(return_script or ()),
    }
    if after_stream is not None:
        overrides["after_stream"] = after_stream
    steps = script or [WaitForGreeting(timeout=20), Speak(1.2, seed=3), Silence(60)]
    call = SimulatedCall(server.call_config(steps, **overrides))
    return await transferred(call, sim, server.emulator, wait_s=60)


async def transferred(
    call: SimulatedCall, sim: TwilioRestSim, emulator: LiveEmulator, *, wait_s: float
) -> tuple[CallResult, PersonCall]:
    """Run ``call``; once the agent has greeted, the caller asks and the model answers with a
    warm transfer to billing. The caller's result, and the person's once their call ended."""
    sim.attach(call)
    running = asyncio.create_task(call.run())
    await emulator.record.wait_for(
        lambda record: bool(record.connections) and record.last.turns_completed >= 1,
        timeout=wait_s,
    )
    emulator.script.next_transcription(ASKED)
    emulator.script.call_tool("warm_transfer", {"target": "billing", "reason": REASON})
    emulator.script.next_reply(REPLY)
    person = await asyncio.wait_for(sim.next_created_call(), wait_s)
    result = await asyncio.wait_for(running, 2 * wait_s)
    return result, await asyncio.wait_for(sim.person_result(person.sid), wait_s)


async def transfers_counted(server: RunningServer, outcome: str) -> float:
    """``telephony_transfers_total{kind="warm",outcome=...}`` as Prometheus scrapes it."""
    _, scraped = await scrape(server)
    return value(
        scraped["telephony_transfers"], "telephony_transfers_total", kind="warm", outcome=outcome
    )


def caller_words(transcript: Transcript) -> list[str]:
    return [t.text for t in transcript.turns if t.speaker is Speaker.CALLER]


async def test_the_person_is_briefed_then_joins_the_caller_who_waited_on_hold_music(
    tmp_path: Path,
) -> None:
    async with warm_desk(tmp_path, Party(after_s=0.5, talk_s=1.0)) as (server, sim):
        result, person = await warm_call(server, sim)
        transcript = await server.finished_transcript(result.call_sid)
        created = next(record for record in sim.calls.values() if record.sid == person.call_sid)
        joined = await transfers_counted(server, "joined")

    # The caller: moved over REST into the room, on hold music until the person joined, then
    # with the person until they hung up (which ended the conference and the call).
    kinds = [type(entry).__name__ for entry in result.journey]
    assert kinds == ["Redirected", "Conferenced", "HungUp"], kinds
    redirected, room, hung_up = result.journey
    assert isinstance(redirected, Redirected) and redirected.by == "rest"
    assert isinstance(room, Conferenced) and room.ended == "conference-ended"
    assert room.wait_url_requests >= 1, "no hold music while the person was dialled"
    assert room.waited_s < room.duration_s, "the caller never heard the person"
    assert isinstance(hung_up, HungUp)
    # The person: dialled from the desk's number, heard the briefing, then joined the room.
    assert created.to == BILLING and created.from_ == "+14155550100"
    assert person.answered and person.joined and person.status == "completed"
    order = [type(entry).__name__ for entry in person.journey]
    assert order.index("Said") < order.index("Conferenced"), order
    said = next(entry for entry in person.journey if isinstance(entry, Said))
    assert said.text == person.briefing
    assert person.briefing is not None
    assert REASON in person.briefing and "invoice you sent me in March" in person.briefing
    assert "+1415" not in person.briefing, "the caller's number is not the route's to share"
    # The story: the transfer, then its outcome; the call ended as transferred.
    assert transcript.call.end_reason is EndReason.TRANSFERRED
    assert system_turns(transcript) == [
        f"Warm transfer to billing ({REASON}).",
        "Warm transfer to billing: joined.",
    ]
    last_words = [t for t in transcript.turns if t.speaker is Speaker.AGENT][-1]
    assert last_words.text == REPLY and last_words.heard_text == REPLY
    assert joined == 1.0


@pytest.mark.parametrize(
    ("person", "outcome"),
    [
        pytest.param(Party("decline", after_s=0.5), "busy", id="declined"),
        pytest.param(Party("no-answer"), "no-answer", id="no-answer"),
        pytest.param(
            Party(after_s=0.5, hangs_up_after_s=1.0), "hung-up-during-briefing", id="hung-up"
        ),
    ],
)
async def test_a_person_who_does_not_take_the_call_sends_the_caller_back_to_the_agent(
    tmp_path: Path, person: Party, outcome: str
) -> None:
    async with warm_desk(tmp_path, person) as (server, sim):
        result, called = await warm_call(
            server,
            sim,
            return_script=[WaitForGreeting(timeout=30), Speak(1.0, seed=4), WaitForReply(30)],
        )
        transcript = await server.finished_transcript(result.call_sid)
        connections = server.emulator.record.connections
        counted = await transfers_counted(server, outcome)

    assert not called.joined
    kinds = [type(entry).__name__ for entry in result.journey]
    assert kinds[:2] == ["Redirected", "Conferenced"], kinds
    room = result.journey[1]
    assert isinstance(room, Conferenced) and room.ended == "interrupted", "taken out over REST"
    assert room.wait_url_requests >= 1
    # Back with the agent: a second stream on the same ADK session, cued once with the outcome
    # and the conversation so far.
    assert len(connections) == 2
    cues = [t.text for t in connections[-1].texts if f"did not go through ({outcome})" in t.text]
    assert len(cues) == 1, [t.text for t in connections[-1].texts]
    assert ASKED in cues[0] and REPLY in cues[0], "the agent keeps the conversation"
    assert "called tool `warm_transfer`" in " ".join(t.text for t in connections[-1].texts)
    assert connections[-1].caller_turns == 1, "the caller is heard on return"
    assert system_turns(transcript) == [
        f"Warm transfer to billing ({REASON}).",
        f"Warm transfer to billing: {outcome}.",
    ]
    assert transcript.call.end_reason is EndReason.CALLER_HUNG_UP
    assert [t.seq for t in transcript.turns] == list(range(1, len(transcript.turns) + 1))
    assert counted == 1.0


async def test_a_caller_who_hangs_up_while_waiting_cancels_the_persons_call(
    tmp_path: Path,
) -> None:
    async with warm_desk(tmp_path, Party("no-answer")) as (server, sim):
        result, person = await warm_call(server, sim, after_stream=AfterStream(hang_up_after_s=1.5))
        transcript = await server.finished_transcript(result.call_sid)
        counted = await transfers_counted(server, "caller-left")

    kinds = [type(entry).__name__ for entry in result.journey]
    assert kinds == ["Redirected", "Conferenced", "HungUp"], kinds
    room = result.journey[1]
    assert isinstance(room, Conferenced) and room.ended == "hung-up"
    assert person.status == "canceled" and not person.answered
    assert system_turns(transcript) == [
        f"Warm transfer to billing ({REASON}).",
        "Warm transfer to billing: caller-left.",
    ]
    assert transcript.call.end_reason is EndReason.CALLER_HUNG_UP
    assert counted == 1.0


async def test_racing_reports_settle_a_transfer_once(transcript_store: TranscriptStore) -> None:
    """The person's join, their call's end and the caller leaving arrive together: one wins,
    one system turn is written, one outcome is counted."""
    call_sid = "CA" + "4" * 32
    await transcript_store.start_call(CallInfo(call_sid=call_sid, started_at=datetime.now(UTC)))
    counted: list[tuple[str, str]] = []
    transfers = WarmTransfers(
        None,  # no REST: nobody to return or cancel, only the decision is under test
        transcript_store,
        BriefingWriter(None, model="unused"),
        on_outcome=lambda kind, outcome: counted.append((kind, outcome)),
    )
    transfer = to_billing(call_sid)
    won = await asyncio.gather(
        transfers.person_joined(transfer),
        transfers.settle(transfer, Outcome.BUSY, person_gone=True),
        transfers.settle(transfer, Outcome.CALLER_LEFT),
    )
    stored = await transcript_store.transcript(call_sid)

    assert list(won) == [True, False, False]
    assert transfer.outcome is Outcome.JOINED and transfer.settled.is_set()
    assert counted == [("warm", "joined")]
    assert stored is not None
    assert system_turns(stored) == ["Warm transfer to billing: joined."]


async def test_the_warm_transfer_webhooks_are_signed_and_about_their_call(
    tmp_path: Path,
) -> None:
    call_sid = "CA" + "7" * 32
    form = {"CallSid": call_sid, "AccountSid": ACCOUNT_SID, "CallStatus": "in-progress"}
    async with desk(tmp_path) as (server, _sim), httpx.AsyncClient() as client:

        async def post(path: str, data: dict[str, str], *, signed: bool = True) -> httpx.Response:
            url = server.base_url + path
            headers = {"X-Twilio-Signature": server.sign(url, data)} if signed else {}
            return await client.post(url, data=data, headers=headers)

        base = f"/twilio/warm/{call_sid}"
        unsigned = await post(f"{base}/back?target=billing&outcome=busy", form, signed=False)
        bad_outcome = await post(f"{base}/back?target=billing&outcome=joined", form)
        other_call = await post(
            f"/twilio/warm/{'CA' + '8' * 32}/back?target=billing&outcome=busy", form
        )
        bad_target = await post(f"{base}/hold?target=Bad%20Name", form)
        music = await post(f"{base}/hold?target=billing", form)
        unknown_person = await post(f"{base}/person?target=billing", form | {"CallStatus": "busy"})
        join = await post(f"{base}/join?target=billing", form)
        never_transferred = await post(f"{base}/back?target=billing&outcome=busy", form)

    assert unsigned.status_code == 403
    assert (bad_outcome.status_code, other_call.status_code, bad_target.status_code) == (
        400,
        400,
        400,
    )
    assert music.status_code == 200 and "<Play>http" in music.text
    assert unknown_person.status_code == 204  # no transfer here: nothing to return
    # A person who asks to join a transfer this process does not know still joins its room.
    assert join.status_code == 200 and f">warm-{call_sid}</Conference>" in join.text
    # A call this server never transferred gets no stream back: the safety net only.
    assert never_transferred.status_code == 200
    assert "<Stream" not in never_transferred.text and "<Hangup" in never_transferred.text


def to_billing(call_sid: str) -> WarmTransfer:
    """A warm transfer of ``call_sid`` to billing, as the front desk's control starts one."""
    return WarmTransfer(
        call_sid=call_sid,
        target="billing",
        reason="an invoice",
        destination=Destination(Kind.NUMBER, BILLING),
        origin="https://calls.example.com",
        caller_id="+14155550100",
        route=Route(name="desk", agent="frontdesk"),
    )
