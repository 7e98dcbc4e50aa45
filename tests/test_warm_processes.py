"""Warm transfers behind a load balancer: two server processes on one PostgreSQL, the Twilio
simulator and the Live emulator in front of them as Twilio and Gemini would be.

The balancer sends the caller's webhook and media stream to instance A, and every request about
the warm transfer (hold music, the room's and the person's callbacks, the person's ``join``, the
caller's return) to instance B: B never started the transfer, and must still settle it at once
(a decline returns the caller to the agent without waiting for A's timeout, a ``join`` joins),
with exactly one outcome stored.
"""

import asyncio
import contextlib
import secrets
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from telephony.transcripts import Speaker, Transcript, TranscriptStore
from telephony.warm_state import WARM_PATH
from tests.balancer import Balancer
from tests.callserver import ACCOUNT_SID
from tests.test_call_control import BILLING, DESK, ROUTES, system_turns
from tests.test_processes import ServerProcesses
from tests.test_warm_transfer import FAST_SPEECH, REASON, REPLY, WAITING, transferred
from twins.gemini_live import LiveEmulator
from twins.twilio import (
    CallConfig,
    Callees,
    CallResult,
    Conferenced,
    Party,
    People,
    PersonCall,
    Silence,
    SimulatedCall,
    Speak,
    Step,
    TwilioRestSim,
    WaitForGreeting,
    WaitForReply,
)

pytestmark = pytest.mark.postgres

A, B = 0, 1


def warm_requests_to_b(path: str) -> int:
    """The balancer's rule: the transfer's requests to B, the rest (the call itself) to A."""
    return B if path.startswith(WARM_PATH + "/") else A


@dataclass
class Deployment:
    balancer: Balancer
    sim: TwilioRestSim
    emulator: LiveEmulator
    auth_token: str
    logs: list[str]


@contextlib.asynccontextmanager
async def two_instances(
    tmp_path: Path, postgres_url: str, person: Party
) -> AsyncIterator[Deployment]:
    """Instances A and B behind the balancer, their public URL the balancer's."""
    routes = tmp_path / "routes.toml"
    routes.write_text(ROUTES)
    auth_token = secrets.token_hex(16)
    instances = [ServerProcesses(tmp_path / name) for name in ("a", "b")]
    for instance in instances:
        instance.workdir.mkdir()
    balancer = Balancer([instance.base_url for instance in instances], warm_requests_to_b)
    logs: list[str] = []
    async with (
        LiveEmulator() as emulator,
        TwilioRestSim(account_sid=ACCOUNT_SID, auth_token=auth_token) as sim,
        balancer,
    ):
        sim.switchboard.callees = Callees(parties={BILLING: person})
        sim.people = People(server_url=balancer.url, after_stream=FAST_SPEECH)
        env = emulator.client_env() | {
            "PUBLIC_URL": balancer.url,
            "DATABASE_URL": postgres_url,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": auth_token,
            "TWILIO_API_BASE_URL": sim.url,
            "ROUTES_FILE": str(routes),
            "LOG_LEVEL": "INFO",
        }
        command = [sys.executable, "-m", "telephony", "serve", "--host", "127.0.0.1"]
        try:
            for instance in instances:  # one after the other: the first creates the schema
                await asyncio.to_thread(instance.start, [*command, "--port", instance.port], **env)
            yield Deployment(balancer, sim, emulator, auth_token, logs)
        finally:
            for instance in instances:
                await asyncio.to_thread(instance.stop_all)
                logs.append("".join(p.communicate()[0] for p in instance.started))


async def warm_call(
    deployment: Deployment, return_script: list[Step]
) -> tuple[CallResult, PersonCall]:
    """A caller asks about an invoice; the agent warm-transfers them to billing."""
    sim, emulator = deployment.sim, deployment.emulator
    call = SimulatedCall(
        CallConfig(
            server_url=deployment.balancer.url,
            auth_token=deployment.auth_token,
            account_sid=ACCOUNT_SID,
            to_number=DESK,
            script=(WaitForGreeting(timeout=30), Speak(1.2, seed=3), Silence(90)),
            callees=WAITING,
            return_script=tuple(return_script),
        )
    )
    return await transferred(call, sim, emulator, wait_s=90)


async def stored(postgres_url: str, call_sid: str) -> Transcript:
    """The call's transcript once its end is stored, read as any client of the database."""
    store = TranscriptStore.from_url(postgres_url)
    try:
        async with asyncio.timeout(30):
            while True:
                found = await store.transcript(call_sid)
                if found is not None and found.call.ended_at is not None:
                    return found
                await asyncio.sleep(0.1)
    finally:
        await store.close()


def instances_of(deployment: Deployment, kind: str) -> set[int]:
    """The instances that received the requests of ``kind`` (the last part of the path)."""
    return {
        index
        for path, index in deployment.balancer.routed
        if path.startswith(WARM_PATH) and path.endswith("/" + kind)
    }


async def test_a_decline_reported_to_another_instance_returns_the_caller_at_once(
    tmp_path: Path, postgres_url: str
) -> None:
    async with two_instances(tmp_path, postgres_url, Party("decline", after_s=0.5)) as deployment:
        result, person = await warm_call(
            deployment, [WaitForGreeting(timeout=60), Speak(1.0, seed=4), WaitForReply(60)]
        )
        transcript = await stored(postgres_url, result.call_sid)
        connections = deployment.emulator.record.connections
    a_log, b_log = deployment.logs

    assert result.error is None, a_log + b_log
    assert not person.answered and person.status == "busy"
    # The person's status callback reached B, which never started the transfer.
    assert instances_of(deployment, "person") == {B}
    kinds = [type(entry).__name__ for entry in result.journey]
    assert kinds[:2] == ["Redirected", "Conferenced"], kinds
    room = result.journey[1]
    assert isinstance(room, Conferenced) and room.ended == "interrupted", "taken out over REST"
    # Back with the agent on a second stream, cued with the decline (not A's timeout, which
    # would have said no-answer), heard there.
    assert len(connections) == 2
    cues = [t.text for t in connections[-1].texts if "did not go through (busy)" in t.text]
    assert len(cues) == 1, [t.text for t in connections[-1].texts]
    assert connections[-1].caller_turns == 1
    # One outcome, decided by B; A learnt it from the database and stopped waiting.
    assert system_turns(transcript) == [
        f"Warm transfer to billing ({REASON}).",
        "Warm transfer to billing: busy.",
    ]
    assert "warm transfer to target billing: busy" in b_log
    assert "warm transfer to target billing: busy" not in a_log
    assert "decided by another instance" in a_log
    assert "no word of the warm transfer's person" not in a_log
    assert [t.seq for t in transcript.turns] == list(range(1, len(transcript.turns) + 1))


async def test_a_join_that_reaches_another_instance_joins(
    tmp_path: Path, postgres_url: str
) -> None:
    async with two_instances(tmp_path, postgres_url, Party(after_s=0.5, talk_s=1.0)) as deployment:
        result, person = await warm_call(deployment, [])
        transcript = await stored(postgres_url, result.call_sid)
    a_log, b_log = deployment.logs

    assert result.error is None, a_log + b_log
    assert instances_of(deployment, "join") == {B}
    assert person.answered and person.joined and person.status == "completed"
    kinds = [type(entry).__name__ for entry in result.journey]
    assert kinds == ["Redirected", "Conferenced", "HungUp"], kinds
    room = result.journey[1]
    assert isinstance(room, Conferenced) and room.waited_s < room.duration_s
    assert system_turns(transcript) == [
        f"Warm transfer to billing ({REASON}).",
        "Warm transfer to billing: joined.",
    ]
    assert [t.text for t in transcript.turns if t.speaker is Speaker.AGENT][-1] == REPLY
    assert "warm transfer to target billing: joined" in b_log
    assert "decided by another instance" in a_log
