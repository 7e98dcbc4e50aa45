"""Outbound calls end to end: POST /calls, the Twilio REST simulator dials a callee who answers
(a person or a voicemail box), asynchronous answering machine detection reports, the agent
greets or leaves its message after the beep and hangs up."""

import asyncio
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from telephony.audio import ulaw_to_pcm16
from telephony.transcripts import CallDirection, Speaker
from telephony.twilio.security import pseudonym
from tests.callserver import RunningServer
from tests.outbound import (
    CALLEE_NUMBER,
    OUR_NUMBER,
    beep_end_s,
    callee,
    dialling_server,
    greeting_with_beep,
)
from twins.twilio import Hangup, Pickup, Silence, Speak, SpeakWav, WaitForReply

TIMEOUT_S = 60


async def dial(client: httpx.AsyncClient, token: str, **body: Any) -> httpx.Response:
    return await client.post("/calls", json=body, headers={"Authorization": f"Bearer {token}"})


async def settled(client: httpx.AsyncClient, token: str, call_id: str) -> dict[str, Any]:
    """The outbound call once it has a final status."""
    headers = {"Authorization": f"Bearer {token}"}
    async with asyncio.timeout(TIMEOUT_S):
        while True:
            found: dict[str, Any] = (
                await client.get(f"/outbound/{call_id}", headers=headers)
            ).json()
            if found["status"] in ("completed", "busy", "no-answer", "failed", "canceled"):
                return found
            await asyncio.sleep(0.05)


async def dial_to_the_end(server: RunningServer, **body: Any) -> dict[str, Any]:
    """Ask the server to call the callee from our number; the call's status once it has ended."""
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        answer = await dial(
            client, server.api_token, to=CALLEE_NUMBER, **{"from": OUR_NUMBER}, **body
        )
        assert answer.status_code == 202, answer.text
        return await settled(client, server.api_token, answer.json()["id"])


async def test_a_person_answers_the_agent_greets_after_detection(tmp_path: Path) -> None:
    async with dialling_server(tmp_path) as (server, rest):
        rest.state.callee = callee(
            server,
            script=(Speak(0.8), WaitForReply(timeout=20), Speak(1.0), WaitForReply(20), Hangup()),
        )
        async with httpx.AsyncClient(base_url=server.base_url) as client:
            answer = await dial(
                client,
                server.api_token,
                to=CALLEE_NUMBER,
                **{"from": OUR_NUMBER},
                purpose="confirm tomorrow's appointment",
                variables={"patient": "Sam Lee", "time": "10:30"},
            )
            assert answer.status_code == 202, answer.text
            queued = answer.json()
            assert queued["status"] == "queued" and queued["id"].startswith("OB")
            final = await settled(client, server.api_token, queued["id"])
        result = await asyncio.wait_for(rest.placed_result(final["call_sid"]), TIMEOUT_S)
        transcript = await server.finished_transcript(final["call_sid"])
        session = await server.services.session_service.get_session(
            app_name="receptionist",
            user_id="caller-" + pseudonym(server.services.secret, CALLEE_NUMBER),
            session_id=final["call_sid"],
        )
        texts = [t.text for c in server.emulator.record.connections for t in c.texts]

    assert (final["status"], final["answered_by"], final["outcome"]) == (
        "completed",
        "human",
        "greeted",
    )
    created = rest.calls[final["call_sid"]]
    assert created.param("MachineDetection") == "DetectMessageEnd"
    assert created.param("AsyncAmd") == "true"
    assert result.answered_by == "human"
    # The agent listened first: nothing played before detection reported (2.2 s after the
    # "hello?"), then it greeted with the purpose.
    first_audio_s = np.flatnonzero(np.frombuffer(result.heard_pcm16, "<i2"))[0] / 8000
    assert first_audio_s > 0.8 + 1.2
    assert any("confirm tomorrow's appointment" in text for text in texts)
    assert transcript.call.direction is CallDirection.OUTBOUND_API
    speakers = [turn.speaker for turn in transcript.turns]
    assert speakers[0] is Speaker.AGENT and Speaker.CALLER in speakers
    assert session is not None
    assert session.state["direction"] == "outbound"
    assert session.state["variables"] == {"patient": "Sam Lee", "time": "10:30"}


@pytest.mark.parametrize("detection", ["twilio", "audio"])
async def test_a_machine_answers_the_message_starts_after_the_beep_and_the_call_ends(
    tmp_path: Path, detection: str
) -> None:
    greeting = greeting_with_beep(tmp_path / "greeting.wav", speech_s=3.0)
    async with dialling_server(tmp_path, outbound_amd=detection) as (server, rest):
        rest.state.callee = callee(
            server,
            pickup=Pickup(kind="machine", speech_s=3.2, greeting_end="beep"),
            script=(SpeakWav(greeting), Silence(40)),
        )
        final = await dial_to_the_end(server, purpose="confirm tomorrow's appointment")
        result = await asyncio.wait_for(rest.placed_result(final["call_sid"]), TIMEOUT_S)
        transcript = await server.finished_transcript(final["call_sid"])
        texts = [t.text for c in server.emulator.record.connections for t in c.texts]
        async with httpx.AsyncClient(base_url=server.base_url) as client:
            shown = (
                await client.get(
                    f"/calls/{final['call_sid']}/transcript",
                    headers={"Authorization": f"Bearer {server.api_token}"},
                )
            ).json()

    assert (final["answered_by"], final["outcome"]) == ("machine_end_beep", "voicemail_left")
    # The transcript shows the call we placed, who answered and the message left.
    assert shown["call"]["direction"] == "outbound-api"
    outbound = shown["outbound"]
    assert (outbound["answered_by"], outbound["outcome"]) == ("machine_end_beep", "voicemail_left")
    assert outbound["purpose"] == "confirm tomorrow's appointment"
    assert [turn["speaker"] for turn in shown["turns"]] == ["agent"]
    created = rest.calls[final["call_sid"]]
    assert created.param("MachineDetection") == (
        "DetectMessageEnd" if detection == "twilio" else None
    )
    heard = np.frombuffer(ulaw_to_pcm16(result.heard_ulaw), "<i2")
    beep_end = beep_end_s(result.said_ulaw)
    message_start = np.flatnonzero(heard)[0] / 8000
    assert message_start > beep_end, "nothing was said into the greeting or over the beep"
    assert any("voicemail" in text and "4 1 5 5 5 5 0 1 0 0" in text for text in texts)
    [message] = [turn for turn in transcript.turns if turn.speaker is Speaker.AGENT]
    assert not message.interrupted and message.heard_text == message.text
    # Hung up over REST once the message had played in full.
    updates = [dict(update) for update in rest.calls[final["call_sid"]].updates]
    assert {"Status": "completed"} in updates
    assert result.final_status == "completed"
    assert transcript.call.end_reason is not None
    assert transcript.call.end_reason.value == "agent_hung_up"


async def test_an_outbound_call_takes_the_route_of_its_from_number(tmp_path: Path) -> None:
    routes = tmp_path / "routes.toml"
    routes.write_text(
        f'[[route]]\nname = "reminders"\nnumbers = ["{OUR_NUMBER}"]\n'
        "[route.recording]\nheard = true\n"
    )
    recordings = tmp_path / "recordings"
    async with dialling_server(tmp_path, routes_file=routes, recordings_dir=str(recordings)) as (
        server,
        rest,
    ):
        rest.state.callee = callee(server, script=(Speak(0.8), WaitForReply(timeout=20), Hangup()))
        final = await dial_to_the_end(server, purpose="remind the callee of tomorrow's appointment")
        transcript = await server.finished_transcript(final["call_sid"])
        async with asyncio.timeout(20):
            while True:  # listed once the stream has started it
                listed = await server.services.recordings.of_call(final["call_sid"])
                if listed:
                    break
                await asyncio.sleep(0.05)

    assert transcript.call.route == "reminders"
    assert [recording.kind for recording in listed] == ["heard"], "the route records it"
