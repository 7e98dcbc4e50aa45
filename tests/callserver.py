"""A real call server on loopback for end-to-end tests: uvicorn + the app + its emulator.

The app runs exactly as in production (signatures on, stream tokens, the server's message cap),
offline, so the Live API emulator it starts in-process answers as the model.
"""

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from telephony.app import create_app
from telephony.config import Settings
from telephony.server import bind, serve_in_process
from telephony.services import Services
from telephony.transcripts import Transcript
from twins.environment import environment
from twins.gemini_live import DEFAULT_API_KEY, LiveEmulator
from twins.twilio import CallConfig, CallResult, SimulatedCall, Step, twilio_signature

ACCOUNT_SID = "AC" + "5" * 32
PREAMBLE = "Let me check."
"""What the emulator's receptionist says before it calls ``opening_hours`` in answer to the first
question. A 2.5 model ends that preamble as a turn of its own (``turnComplete``), then calls the
tool and answers in the next turn: the transcript has two agent turns there."""


@dataclass
class RunningServer:
    base_url: str
    auth_token: str
    api_token: str
    app: FastAPI

    @property
    def services(self) -> Services:
        found: Services = self.app.state.services
        return found

    @property
    def emulator(self) -> LiveEmulator:
        emulator = self.services.emulator
        assert isinstance(emulator, LiveEmulator)
        return emulator

    @property
    def stream_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/twilio/media"

    def call_config(self, script: Sequence[Step], **overrides: Any) -> CallConfig:
        values: dict[str, Any] = {
            "server_url": self.base_url,
            "auth_token": self.auth_token,
            "account_sid": ACCOUNT_SID,
            "script": tuple(script),
        }
        values.update(overrides)
        return CallConfig(**values)

    async def place(self, script: Sequence[Step], **overrides: Any) -> CallResult:
        return await asyncio.wait_for(
            SimulatedCall(self.call_config(script, **overrides)).run(), timeout=90
        )

    def sign(self, url: str, params: dict[str, str] | None = None) -> str:
        return twilio_signature(self.auth_token, url, params or {})

    async def finished_transcript(self, call_sid: str, wait_s: float = 10.0) -> Transcript:
        """The stored transcript once the server has recorded the end of the call."""
        async with asyncio.timeout(wait_s):
            while True:
                found = await self.services.store.transcript(call_sid)
                if found is not None and found.call.ended_at is not None:
                    return found
                await asyncio.sleep(0.05)

    async def metrics_when_idle(self, wait_s: float = 10.0) -> dict[str, Any]:
        """``GET /metrics`` once no call is in progress."""
        headers = {"Authorization": f"Bearer {self.api_token}"}
        async with httpx.AsyncClient(base_url=self.base_url) as client, asyncio.timeout(wait_s):
            while True:
                response = await client.get("/metrics", headers=headers)
                response.raise_for_status()
                report: dict[str, Any] = response.json()
                if report["calls_active"] == 0:
                    return report
                await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def running_server(
    database_url: str, *, auth_token: str | None = None, **settings: Any
) -> AsyncIterator[RunningServer]:
    """A server on a free loopback port. Instances given one ``auth_token`` and one database
    are one deployment: each accepts the other's stream tokens, as worker processes do."""
    auth_token = auth_token or secrets.token_hex(16)
    api_token = secrets.token_urlsafe(16)
    sock = bind()
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    values: dict[str, Any] = {
        "public_url": base_url,
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": SecretStr(auth_token),
        "google_api_key": None,
        "google_genai_use_vertexai": False,
        "database_url": database_url,
        "api_token": SecretStr(api_token),
        # The simulated callers share the server's event loop here (and a busy machine's CPU):
        # its lag is the test's, not the server's. The tests of the lag guard set their own.
        "max_loop_lag_ms": 1e9,
    }
    values.update(settings)
    # No .env: a test server has exactly the settings given here.
    app = create_app(Settings(_env_file=None, **values))  # type: ignore[call-arg]
    async with serve_in_process(app, sock):
        yield RunningServer(base_url, auth_token, api_token, app)


@contextlib.asynccontextmanager
async def server_online_against(
    emulator: LiveEmulator, tmp_path: Path
) -> AsyncIterator[RunningServer]:
    """The server "online", its Gemini client pointed at ``emulator`` as a deployment's would
    be at Google (the way the benchmark runs it)."""
    with environment(emulator.client_env()):
        async with running_server(
            f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}",
            google_api_key=SecretStr(DEFAULT_API_KEY),
        ) as server:
            yield server
