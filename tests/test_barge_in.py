"""Barge-in the model does not report: the caller talks over the rest of a reply the model has
already generated (the real service only *may* send ``interrupted`` then). The call notices the
caller's speech itself and stops playback."""

import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from pydantic import SecretStr

from telephony.transcripts import Speaker
from tests.callserver import RunningServer, running_server
from twins.gemini_live import DEFAULT_API_KEY, EmulatorConfig, LiveEmulator, Pacing
from twins.twilio import Hangup, Interrupt, WaitForReply

SPEAK_S = 1.2


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


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


async def test_talking_over_a_finished_reply_stops_playback(tmp_path: Path) -> None:
    # The whole greeting is generated at once, long before it has played: by the time the
    # caller talks over it, the model is done and sends no `interrupted`.
    async with LiveEmulator(EmulatorConfig(pacing=Pacing.unpaced())) as emulator:
        async with server_online_against(emulator, tmp_path) as server:
            result = await server.place(
                [
                    Interrupt(after_ms=900, speak_s=SPEAK_S, timeout=20),
                    WaitForReply(timeout=20),
                    Hangup(),
                ]
            )
            transcript = await server.finished_transcript(result.call_sid)
            totals = (await server.metrics_when_idle())["totals"]
        interruptions = sum(c.interruptions for c in emulator.record.connections)

    assert interruptions == 0, "the model did not interrupt itself"
    assert totals["local_barge_ins"] == 1
    metrics = result.metrics
    assert metrics.clears_received == 1
    # The clear came while the caller was still talking (how soon: bench/, the README).
    assert len(metrics.clear_latencies_ms) == 1
    assert metrics.clear_latencies_ms[0] < SPEAK_S * 1000
    assert metrics.violations == 0

    greeting, question, answer = transcript.turns
    assert greeting.speaker is Speaker.AGENT
    assert greeting.interrupted
    assert greeting.heard_text is not None
    assert len(greeting.heard_text) < len(greeting.text)
    assert greeting.text.startswith(greeting.heard_text)
    assert question.speaker is Speaker.CALLER
    assert answer.speaker is Speaker.AGENT
