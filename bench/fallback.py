"""How long a caller waits when the model fails: for the fallback (the server closes the media
stream with 1011 and Twilio runs the TwiML after ``</Connect>``), or for the model to be back
(a resumed or fresh live session).

Run ``python bench/fallback.py`` (each scenario three times; ``--runs N``). The server runs in
process, online against the Live emulator, reached through a relay that can freeze
(``twins.freezer``); the caller is the Twilio simulator. Times are from the caller's side:

- frozen at start: the model's connection opens but nothing ever comes back (no
  ``setupComplete``): ``start`` sent -> the stream closed;
- frozen mid-call: the model answers the greeting, then goes silent without closing:
  the caller stops speaking -> the stream closed;
- refused at setup: the model closes the connection at setup with 1011 (quota, overload), and
  the fresh session too: ``start`` sent -> the stream closed;
- lost mid-call: the model closes mid-reply with a code ADK does not resume from (1007), and
  refuses the fresh session too: the close -> the stream closed;
- dropped, resumed: the connection drops (1011) after a resumption handle; ADK resumes:
  the drop -> the new connection is set up;
- dropped, fresh session: the connection drops before any handle; the call starts a fresh
  session seeded with the conversation: the drop -> the new connection is set up;
- the route's fallback: the number's route sends callers to a queue after a message; the
  model refuses at setup (1011) or is frozen at start: ``start`` sent -> the caller hears the
  route's fallback message begin (the TwiML after ``</Connect>``, run by the simulator).

``--only WORDS`` runs the scenarios whose name contains WORDS.
"""

import argparse
import asyncio
import contextlib
import secrets
import statistics
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

if __name__ == "__main__" and not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic import SecretStr

from telephony.app import create_app
from telephony.config import Settings
from telephony.server import bind, configure_logging, serve_in_process
from twins.environment import environment
from twins.freezer import Freezer
from twins.gemini_live import (
    DEFAULT_API_KEY,
    AfterTurns,
    BeforeFirstHandle,
    LiveEmulator,
    MidReply,
    OnSetup,
)
from twins.twilio import (
    CallConfig,
    CallResult,
    EventKind,
    Said,
    Silence,
    SimulatedCall,
    Speak,
    Step,
    WaitForGreeting,
)

ACCOUNT_SID = "AC" + "7" * 32


class Stage:
    """A server online against an emulator behind a freezable relay."""

    def __init__(self, emulator: LiveEmulator, freezer: Freezer, base_url: str, token: str):
        self.emulator = emulator
        self.freezer = freezer
        self.base_url = base_url
        self.token = token

    async def call(self, *steps: Step) -> CallResult:
        config = CallConfig(
            server_url=self.base_url,
            auth_token=self.token,
            account_sid=ACCOUNT_SID,
            script=steps,
        )
        return await asyncio.wait_for(SimulatedCall(config).run(), timeout=60)


@contextlib.asynccontextmanager
async def stage(frozen: bool, workdir: Path, routes: str | None = None) -> AsyncIterator[Stage]:
    async with LiveEmulator() as emulator:
        freezer = Freezer(emulator.port, frozen=frozen)
        async with freezer.running():
            relayed = {"GOOGLE_GEMINI_BASE_URL": f"https://127.0.0.1:{freezer.port}"}
            with environment(emulator.client_env() | relayed):
                token = secrets.token_hex(16)
                sock = bind()
                base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
                settings = Settings(
                    _env_file=None,  # type: ignore[call-arg]
                    public_url=base_url,
                    twilio_account_sid=ACCOUNT_SID,
                    twilio_auth_token=SecretStr(token),
                    google_api_key=SecretStr(DEFAULT_API_KEY),
                    database_url=f"sqlite+aiosqlite:///{workdir / f'{secrets.token_hex(4)}.db'}",
                    max_loop_lag_ms=1e9,  # the simulated caller shares this event loop
                    routes_file=_routes_file(workdir, routes),
                )
                async with serve_in_process(create_app(settings), sock):
                    yield Stage(emulator, freezer, base_url, token)


ROUTES = """\
[default]
[default.fallback]
say = "Sorry, our assistant is not available. Connecting you to the team."
queue = "support"
"""


def _routes_file(workdir: Path, routes: str | None) -> Path | None:
    if routes is None:
        return None
    path = workdir / f"routes-{secrets.token_hex(4)}.toml"
    path.write_text(routes)
    return path


def _fallback_heard(result: CallResult) -> float:
    said = [entry.t for entry in result.journey if isinstance(entry, Said)]
    if not said:
        raise RuntimeError("the caller heard no fallback")
    return said[0] + result.timeline.origin - _t(result, EventKind.START_SENT)


async def route_fallback_refused(workdir: Path) -> float:
    async with stage(False, workdir, ROUTES) as s:
        for connection in (0, 1):
            s.emulator.script.close(
                1011, "The service is currently unavailable.", when=OnSetup(connection)
            )
        result = await s.call(Silence(30))
    return _fallback_heard(result)


async def route_fallback_frozen(workdir: Path) -> float:
    async with stage(True, workdir, ROUTES) as s:
        result = await s.call(Silence(30))
    return _fallback_heard(result)


def _t(result: CallResult, kind: EventKind, last: bool = False) -> float:
    times = [e.t for e in result.timeline.events() if e.kind is kind]
    if not times:
        raise RuntimeError(f"no {kind} in the call")
    return times[-1] if last else times[0]


async def frozen_at_start(workdir: Path) -> float:
    async with stage(True, workdir) as s:
        result = await s.call(Silence(30))
    return _t(result, EventKind.SOCKET_CLOSED) - _t(result, EventKind.START_SENT)


async def frozen_mid_call(workdir: Path) -> float:
    async with stage(False, workdir) as s:

        async def freeze_after_the_greeting() -> None:
            await s.emulator.record.wait_for(
                lambda r: r.connections and r.last.turns_completed >= 1, timeout=20
            )
            s.freezer.freeze()

        freezing = asyncio.create_task(freeze_after_the_greeting())
        result = await s.call(WaitForGreeting(timeout=20), Silence(0.5), Speak(1.2), Silence(30))
        await freezing
    return _t(result, EventKind.SOCKET_CLOSED) - _t(result, EventKind.SPEECH_ENDED, last=True)


async def refused_at_setup(workdir: Path) -> float:
    async with stage(False, workdir) as s:
        for connection in (0, 1):  # the first session, then the fresh one
            s.emulator.script.close(
                1011, "The service is currently unavailable.", when=OnSetup(connection)
            )
        result = await s.call(Silence(30))
    return _t(result, EventKind.SOCKET_CLOSED) - _t(result, EventKind.START_SENT)


async def lost_mid_call(workdir: Path) -> float:
    async with stage(False, workdir) as s:
        s.emulator.script.next_reply(words=40)
        s.emulator.script.close(1007, "Request contains an invalid argument.", when=MidReply(15))
        s.emulator.script.close(1011, "The service is currently unavailable.", when=OnSetup(1))
        result = await s.call(WaitForGreeting(timeout=20), Silence(30))
        closed = s.emulator.record.connections[0].closed_at
    assert closed is not None
    return _t(result, EventKind.SOCKET_CLOSED) - closed


async def _swap(workdir: Path, when: AfterTurns | BeforeFirstHandle) -> float:
    async with stage(False, workdir) as s:
        s.emulator.script.close(1011, "Internal error encountered.", when=when)
        await s.call(WaitForGreeting(timeout=20), Silence(3))
        first, second = s.emulator.record.connections[:2]
    assert first.closed_at is not None
    return second.opened_at - first.closed_at


async def dropped_resumed(workdir: Path) -> float:
    return await _swap(workdir, AfterTurns(1, connection=0))


async def dropped_fresh(workdir: Path) -> float:
    return await _swap(workdir, BeforeFirstHandle(0))


SCENARIOS: dict[str, Callable[[Path], Awaitable[float]]] = {
    "model frozen at start (start -> fallback)": frozen_at_start,
    "model frozen mid-call (caller stops -> fallback)": frozen_mid_call,
    "model refuses at setup, 1011 (start -> fallback)": refused_at_setup,
    "model lost mid-call, 1007 (close -> fallback)": lost_mid_call,
    "model dropped, ADK resumes (drop -> model back)": dropped_resumed,
    "model dropped before a handle, fresh session (drop -> back)": dropped_fresh,
    "route fallback, model refuses at setup (start -> message)": route_fallback_refused,
    "route fallback, model frozen at start (start -> message)": route_fallback_frozen,
}


async def main(runs: int, only: str = "") -> int:
    configure_logging("ERROR")
    print(f"{'scenario':<60} | {'median s':>8} | {'max s':>6} | runs")
    print(f"{'-' * 60}-+-{'-' * 8}-+-{'-' * 6}-+-----")
    with tempfile.TemporaryDirectory() as tmp:
        for name, scenario in SCENARIOS.items():
            if only not in name:
                continue
            times = [await scenario(Path(tmp)) for _ in range(runs)]
            print(f"{name:<60} | {statistics.median(times):8.2f} | {max(times):6.2f} | {runs}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default="")
    arguments = parser.parse_args()
    sys.exit(asyncio.run(main(arguments.runs, arguments.only)))
