"""``python -m telephony demo --scenario outbound|voicemail``: an outbound call, offline.

The server runs on loopback with the Live API emulator; Twilio's REST API is the simulator,
which dials a simulated callee when the server creates the call. ``outbound``: a person answers
("hello?"), detection says human, the agent greets and they talk. ``voicemail``: a machine
answers with a five-second greeting and a beep; the agent says nothing into it, leaves its
message after the beep and hangs up. Both record what the callee heard (a stereo WAV).
Prints the transcript, who answered, the time from the beep to the message, and the recording.
"""

import asyncio
import secrets
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from telephony.app import create_app
from telephony.cli.demo import fetch_transcript, offline_settings
from telephony.cli.report import print_transcript
from telephony.server import bind, serve_in_process
from twins.speech import tone_end_s, voicemail_greeting
from twins.twilio import (
    Callee,
    CallResult,
    Hangup,
    Pickup,
    Silence,
    Speak,
    SpeakWav,
    TwilioRestSim,
    WaitForReply,
)
from twins.twilio.wavfile import write_wav

ACCOUNT_SID = "AC" + "0" * 31 + "2"
OUR_NUMBER = "+14155550100"
CALLEE_NUMBER = "+14155550123"
GREETING_S = 5.0
FINAL = ("completed", "busy", "no-answer", "failed", "canceled")


async def demo(out_dir: Path, scenario: str) -> int:
    auth_token, api_token = secrets.token_hex(16), secrets.token_urlsafe(24)
    sock = bind()
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    async with TwilioRestSim(account_sid=ACCOUNT_SID, auth_token=auth_token) as rest:
        settings = offline_settings(
            base_url,
            auth_token,
            api_token,
            out_dir / "demo.db",
            account_sid=ACCOUNT_SID,
            twilio_api_base_url=rest.url,
            outbound_from_numbers=OUR_NUMBER,
            record_heard=True,
            recordings_dir=str(out_dir / "recordings"),
        )
        rest.state.callee = _callee(base_url, scenario, out_dir)
        print(f"Server on {base_url}, offline: the local Live API emulator answers as the model;")
        print(f"Twilio's REST API is the simulator at {rest.url}.")
        async with serve_in_process(create_app(settings), sock):
            headers = {"Authorization": f"Bearer {api_token}"}
            async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=10) as client:
                body = {
                    "to": CALLEE_NUMBER,
                    "from": OUR_NUMBER,
                    "purpose": "confirm Sam Lee's dental appointment tomorrow at 10:30",
                    "variables": {"patient": "Sam Lee", "time": "10:30"},
                }
                print(f"POST /calls to {CALLEE_NUMBER} ({scenario})...")
                queued = (await client.post("/calls", json=body)).json()
                print(f"  -> {queued['id']}: {queued['status']}")
                final = await _follow(client, queued["id"])
                recordings = await _recordings(client, final["call_sid"])
            result = await rest.placed_result(final["call_sid"])
            transcript = await fetch_transcript(base_url, api_token, final["call_sid"])
    print()
    print_transcript(transcript)
    print()
    return _report(scenario, final, result, recordings)


def _callee(base_url: str, scenario: str, out_dir: Path) -> Callee:
    if scenario == "outbound":
        script = (Speak(0.8, seed=4), WaitForReply(timeout=20), Speak(1.5, seed=5))
        return Callee(server_url=base_url, script=(*script, WaitForReply(timeout=20), Hangup()))
    greeting = out_dir / "voicemail-greeting.wav"
    write_wav(greeting, voicemail_greeting(GREETING_S, 8000).tobytes())
    return Callee(
        server_url=base_url,
        pickup=Pickup(kind="machine", speech_s=GREETING_S + 0.2, greeting_end="beep"),
        script=(SpeakWav(greeting), Silence(60)),
    )


async def _follow(client: httpx.AsyncClient, call_id: str) -> dict[str, Any]:
    last = "queued"
    async with asyncio.timeout(120):
        while True:
            found: dict[str, Any] = (await client.get(f"/outbound/{call_id}")).json()
            if found["status"] != last:
                last = found["status"]
                print(f"  -> {last}")
            if last in FINAL:
                return found
            await asyncio.sleep(0.05)


async def _recordings(client: httpx.AsyncClient, call_sid: str) -> list[dict[str, Any]]:
    async with asyncio.timeout(10):
        while True:
            found: list[dict[str, Any]] = (await client.get(f"/calls/{call_sid}/recordings")).json()
            if found and all(item["status"] != "recording" for item in found):
                return found
            await asyncio.sleep(0.05)


def _report(
    scenario: str, final: dict[str, Any], result: CallResult, recordings: list[dict[str, Any]]
) -> int:
    print(f"Call {final['call_sid']}: {final['status']}")
    print(f"  answered by: {final['answered_by']}; the agent: {final['outcome']}")
    heard = np.frombuffer(result.heard_pcm16, "<i2")
    spoken = np.flatnonzero(heard)
    first_audio = spoken[0] / 8000 if spoken.size else None
    problems = []
    if scenario == "voicemail":
        beep_end = tone_end_s(np.frombuffer(result.said_pcm16, "<i2"), 8000)
        if beep_end is not None and first_audio is not None:
            message_s = (spoken[-1] - spoken[0]) / 8000
            print(f"  beep ended at {beep_end:.2f} s; the message began at {first_audio:.2f} s")
            print(f"  beep -> message: {1000 * (first_audio - beep_end):.0f} ms")
            print(f"  message heard: {message_s:.1f} s, then the agent hung up")
            if first_audio < beep_end:
                problems.append("the agent spoke before the beep")
        if final["outcome"] != "voicemail_left":
            problems.append("no voicemail was left")
    elif final["outcome"] != "greeted":
        problems.append("the agent did not greet the person")
    elif first_audio is not None:
        print(f"  answer -> greeting: {first_audio:.2f} s (the agent listened until detection)")
    for item in recordings:
        size = item["size_bytes"] or 0
        print(
            f"  recording ({item['kind']}, {item['status']}): {item['path']} "
            f"({(item['duration_ms'] or 0) / 1000:.1f} s, {size / 1024:.0f} KiB, "
            "stereo: left the callee, right the agent as heard)"
        )
    for problem in problems:
        print(f"PROBLEM: {problem}")
    return 0 if not problems else 1
