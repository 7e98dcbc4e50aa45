"""``python -m telephony demo``: one simulated phone call through the real server, offline.

Starts the server on loopback with the local Live API emulator, places a call through the
Twilio simulator (signed webhook, signed media stream, real-time audio), in which the caller
hears the greeting, asks something, listens to the answer, asks again and talks over the reply.
Then prints the stored transcript, the latencies the simulated caller measured, and where the
recording of what the caller heard is.
"""

import asyncio
import json
import secrets
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from telephony.app import create_app
from telephony.cli.report import print_call, print_transcript
from telephony.config import Settings
from telephony.server import bind, configure_logging, serve_in_process
from twins.gemini_live import LiveEmulator
from twins.twilio import (
    CallConfig,
    CallResult,
    Hangup,
    Interrupt,
    SimulatedCall,
    Speak,
    WaitForGreeting,
    WaitForReply,
)

DEMO_SCRIPT = (
    WaitForGreeting(timeout=20),
    Speak(1.6, seed=1),
    WaitForReply(timeout=20),
    Speak(1.2, seed=2),
    Interrupt(after_ms=900, speak_s=1.2, timeout=20, seed=3),
    WaitForReply(timeout=20),
    Hangup(),
)
ACCOUNT_SID = "AC" + "0" * 31 + "1"


def run(out_dir: Path, scenario: str = "inbound") -> int:
    configure_logging("WARNING")
    out_dir.mkdir(parents=True, exist_ok=True)
    if scenario != "inbound":
        from telephony.cli import demo_outbound

        return asyncio.run(demo_outbound.demo(out_dir, scenario))
    return asyncio.run(_demo(out_dir))


def offline_settings(
    base_url: str,
    auth_token: str,
    api_token: str,
    database: Path,
    *,
    account_sid: str = ACCOUNT_SID,
    **more: Any,
) -> Settings:
    """A demo server's settings: on loopback, offline (the Live emulator answers), signatures
    on, a SQLite file. The simulated callers share the server's event loop, so its lag guard is
    lifted: their work is not overload."""
    return Settings(
        public_url=base_url,
        twilio_account_sid=account_sid,
        twilio_auth_token=SecretStr(auth_token),
        google_api_key=None,
        google_genai_use_vertexai=False,
        database_url=f"sqlite+aiosqlite:///{database}",
        api_token=SecretStr(api_token),
        max_loop_lag_ms=1e9,
        **more,
    )


async def _demo(out_dir: Path) -> int:
    auth_token, api_token = secrets.token_hex(16), secrets.token_urlsafe(24)
    sock = bind()
    port = sock.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    settings = offline_settings(base_url, auth_token, api_token, out_dir / "demo.db")
    print(f"Server on {base_url}, offline: the local Live API emulator answers as the model.")
    app = create_app(settings)
    async with serve_in_process(app, sock):
        config = CallConfig(
            server_url=base_url,
            auth_token=auth_token,
            account_sid=ACCOUNT_SID,
            script=DEMO_SCRIPT,
            heard_wav=out_dir / "heard.wav",
        )
        print("Placing a call: the caller listens, asks, listens, asks again and interrupts...")
        result = await SimulatedCall(config).run()
        transcript = await fetch_transcript(base_url, api_token, result.call_sid)
        tools = _tool_calls(app.state.services.emulator)
    print()
    print_transcript(transcript)
    for line in tools:
        print(line)
    print()
    print_call(result)
    return 0 if _went_as_planned(result, transcript) else 1


async def fetch_transcript(
    base_url: str, api_token: str, call_sid: str, *, wait_s: float = 5.0
) -> dict[str, Any]:
    """The stored transcript, through the API a contact centre would use.

    The server finishes a call's transcript just after the stream closes: wait for its end.
    """
    headers = {"Authorization": f"Bearer {api_token}"}
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        deadline = asyncio.get_running_loop().time() + wait_s
        while True:
            response = await client.get(f"/calls/{call_sid}/transcript", headers=headers)
            response.raise_for_status()
            found: dict[str, Any] = response.json()
            if found["call"]["ended_at"] or asyncio.get_running_loop().time() > deadline:
                return found
            await asyncio.sleep(0.05)


def _tool_calls(emulator: object) -> list[str]:
    """The agent's tool calls, as the model saw them answered (the emulator's record)."""
    if not isinstance(emulator, LiveEmulator):
        return []
    return [
        f"  tool call: {response.name} -> {json.dumps(response.response, ensure_ascii=False)}"
        for connection in emulator.record.connections
        for response in connection.tool_responses
    ]


def _went_as_planned(result: CallResult, transcript: dict[str, Any]) -> bool:
    problems = []
    if result.metrics.first_audio_ms is None:
        problems.append("no greeting was heard")
    if not result.metrics.reply_latencies_ms:
        problems.append("no reply was heard")
    if not result.metrics.clears_received:
        problems.append("the interruption did not clear the agent's audio")
    if result.metrics.violations:
        problems.append(f"{result.metrics.violations} protocol violations")
    if not transcript.get("turns"):
        problems.append("no transcript was stored")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    return not problems
