"""Property-based fuzzing of the real voice webhook over a real socket.

Signed forms with anything in their fields go to a running server (its own event loop in a
thread, so that hypothesis can drive it example by example): every answer is a 200 with
well-formed TwiML, or a 400 / 403 refusal, never a server error; and the server stays healthy.
"""

import asyncio
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.callserver import ACCOUNT_SID, RunningServer, running_server
from twins.twilio import twilio_signature

FIELDS = ["CallSid", "AccountSid", "From", "To", "Direction", "CallStatus", "CallerName"]
values = (
    st.text(max_size=60)
    | st.from_regex(r"CA[0-9a-f]{32}", fullmatch=True)
    | st.from_regex(r"\+[0-9]{6,15}", fullmatch=True)
    | st.sampled_from(["inbound", "outbound-api", "ringing", "in-progress", ACCOUNT_SID])
)
forms = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=12), values, max_size=8)


class ThreadedServer:
    """A ``running_server`` in a thread with its own event loop, for synchronous callers."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.server: RunningServer | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="fuzzed server", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with running_server(self._url) as server:
            self.server = server
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> RunningServer:
        self._thread.start()
        self._ready.wait(timeout=120)
        if self._error is not None or self.server is None:
            raise RuntimeError("the server did not start") from self._error
        return self.server

    def __exit__(self, *exc_info: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=60)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    path: Path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    with ThreadedServer(f"sqlite+aiosqlite:///{path}") as server:
        yield server


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(form=forms)
def test_any_signed_form_gets_well_formed_twiml_or_a_refusal(
    fuzzed: RunningServer, form: dict[str, str]
) -> None:
    url = fuzzed.base_url + "/twilio/voice"
    headers = {"X-Twilio-Signature": twilio_signature(fuzzed.auth_token, url, form)}
    response = httpx.post(url, data=form, headers=headers, timeout=30)
    assert response.status_code in (200, 400, 403), response.text
    if response.status_code == 200:
        document = ET.fromstring(response.text)
        assert document.tag == "Response"
        assert len(document) > 0, "never an empty answer: the caller must hear something"


def test_after_the_fuzzing_the_server_is_healthy(fuzzed: RunningServer) -> None:
    assert httpx.get(fuzzed.base_url + "/healthz", timeout=10).status_code == 200
