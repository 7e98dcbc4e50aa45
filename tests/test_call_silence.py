"""Silence and the longest call, end to end: the agent re-prompts a silent caller, then says
goodbye and the call ends over REST; a call at its time limit is warned, then ended."""

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

from telephony.silence_watch import REPROMPT_CUE, SILENT_GOODBYE_CUE, TIME_UP_CUE
from telephony.transcripts import EndReason, Speaker
from tests.callserver import ACCOUNT_SID, PREAMBLE, RunningServer, running_server
from twins.twilio import CallResult, HungUp, Silence, SimulatedCall, TwilioRestSim, WaitForGreeting

DESK = "+14155550100"


@contextlib.asynccontextmanager
async def server_with(
    tmp_path: Path, silence: str
) -> AsyncIterator[tuple[RunningServer, TwilioRestSim]]:
    routes = tmp_path / "routes.toml"
    routes.write_text(f'[[route]]\nname = "desk"\nnumbers = ["{DESK}"]\n[route.silence]\n{silence}')
    token = secrets.token_hex(16)
    database = f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}"
    async with (
        TwilioRestSim(account_sid=ACCOUNT_SID, auth_token=token) as sim,
        running_server(
            database, auth_token=token, routes_file=routes, twilio_api_base_url=sim.url
        ) as server,
    ):
        yield server, sim


async def place(server: RunningServer, sim: TwilioRestSim) -> CallResult:
    call = SimulatedCall(
        server.call_config([WaitForGreeting(timeout=20), Silence(90)], to_number=DESK)
    )
    sim.attach(call)
    return await asyncio.wait_for(call.run(), 120)


def cues(server: RunningServer) -> list[str]:
    return [t.text for t in server.emulator.record.last.texts if t.text != "" and "[" in t.text]


async def test_a_silent_caller_is_reprompted_then_the_call_ends(tmp_path: Path) -> None:
    async with server_with(tmp_path, "reprompt_after_s = 2\nmax_reprompts = 1\n") as (server, sim):
        result = await place(server, sim)
        transcript = await server.finished_transcript(result.call_sid)
        texts = cues(server)

    assert texts.count(REPROMPT_CUE) == 1 and texts.count(SILENT_GOODBYE_CUE) == 1
    assert texts.index(REPROMPT_CUE) < texts.index(SILENT_GOODBYE_CUE)
    assert result.journey[-1] == HungUp(t=result.journey[-1].t, by="rest")
    assert transcript.call.end_reason is EndReason.TIMEOUT
    agent = [t for t in transcript.turns if t.speaker is Speaker.AGENT]
    # The greeting; the answer to the re-prompt (the emulator's next line: a spoken preamble, a
    # tool call and its answer, two turns); the goodbye.
    assert len(agent) == 4, [(t.text, t.start_ms) for t in transcript.turns]
    assert agent[1].text == PREAMBLE
    assert not agent[-1].interrupted and agent[-1].heard_text == agent[-1].text
    assert transcript.turns[-1].text == "The call was ended (the caller stayed silent)."


async def test_a_call_at_its_time_limit_is_warned_then_ended(tmp_path: Path) -> None:
    async with server_with(tmp_path, "max_duration_s = 12\nwarn_before_s = 6\n") as (server, sim):
        result = await place(server, sim)
        transcript = await server.finished_transcript(result.call_sid)
        texts = cues(server)

    warnings = [text for text in texts if "time limit in about" in text]
    assert len(warnings) == 1 and texts.count(TIME_UP_CUE) == 1
    assert texts.index(warnings[0]) < texts.index(TIME_UP_CUE)
    assert transcript.call.end_reason is EndReason.TIMEOUT
    assert transcript.turns[-1].text == "The call was ended (the call's time limit)."
    assert isinstance(result.journey[-1], HungUp)
