"""Several server processes on one PostgreSQL are one deployment.

Three ``serve`` processes on loopback, each with its own port, public URL and Live emulator,
share one database and one Twilio auth token: a stream token used at one is refused at the
other two, and a call live on one is listed live by the others, with the instance carrying it.
"""

import asyncio
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.outages import until
from tests.test_processes import ServerProcesses
from tests.twilio_peer import (
    CALL_SID,
    CONNECTED,
    STOP,
    closed_by_server,
    media,
    start,
    voice_form,
)
from twins.twilio import parse_twiml, twilio_signature

pytestmark = pytest.mark.postgres

AUTH_TOKEN = secrets.token_hex(16)
API_TOKEN = secrets.token_urlsafe(16)
OTHER_STREAM_SID = "MZ" + "7" * 32
INSTANCES = 3


@pytest.fixture
def instances(tmp_path: Path, postgres_url: str) -> Iterator[list[ServerProcesses]]:
    started = [ServerProcesses(tmp_path) for _ in range(INSTANCES)]
    try:
        for server in started:
            server.start(
                [sys.executable, "-m", "telephony", "serve", "--host", "127.0.0.1"],
                PORT=server.port,
                PUBLIC_URL=server.base_url,
                TWILIO_AUTH_TOKEN=AUTH_TOKEN,
                API_TOKEN=API_TOKEN,
                DATABASE_URL=postgres_url,
            )
        yield started
    finally:
        for server in started:
            server.stop_all()


def stream(server: ServerProcesses) -> Any:
    url = server.base_url.replace("http://", "ws://") + "/twilio/media"
    headers = {"x-twilio-signature": twilio_signature(AUTH_TOKEN, url, {})}
    return connect(url, additional_headers=headers, open_timeout=10)


async def live_calls(server: ServerProcesses) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
        response = await client.get("/calls/live", headers={"Authorization": f"Bearer {API_TOKEN}"})
    response.raise_for_status()
    found: dict[str, Any] = response.json()
    return found


async def refused_elsewhere(server: ServerProcesses, parameters: dict[str, str]) -> int:
    ws: ClientConnection
    async with stream(server) as ws:
        await ws.send(CONNECTED)
        await ws.send(start(parameters, stream_sid=OTHER_STREAM_SID))
        return await closed_by_server(ws)


async def test_a_token_used_at_one_instance_is_refused_at_the_others_and_its_call_is_seen_live(
    instances: list[ServerProcesses],
) -> None:
    first, *others = instances
    url = first.base_url + "/twilio/voice"
    form = voice_form()
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.post(
            url, data=form, headers={"X-Twilio-Signature": twilio_signature(AUTH_TOKEN, url, form)}
        )
    spec = parse_twiml(answer.text).stream
    assert spec is not None
    async with stream(first) as ws:
        await ws.send(CONNECTED)
        await ws.send(start(spec.parameters))
        await ws.send(media())
        carrier = (await live_calls(first))["instance"]

        async def listed_everywhere() -> bool:
            for server in others:
                calls = (await live_calls(server))["calls"]
                if [(c["call_sid"], c["instance"]) for c in calls] != [(CALL_SID, carrier)]:
                    return False
            return True

        await until(listed_everywhere, wait_s=30)
        codes = [await refused_elsewhere(server, spec.parameters) for server in others]
        assert await asyncio.wait_for(ws.recv(), timeout=30), "the call itself goes on"
        await ws.send(STOP)

    async def gone_everywhere() -> bool:
        listed = [(await live_calls(server))["calls"] for server in instances]
        return not any(listed)

    await until(gone_everywhere, wait_s=30)
    assert codes == [1008] * len(others)
    assert len({(await live_calls(server))["instance"] for server in instances}) == INSTANCES
