"""A model that stops answering without closing its connection: the caller goes to the
fallback (the server closes the stream with 1011, Twilio runs the TwiML after </Connect>)."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from pydantic import SecretStr

from telephony.closecodes import CloseCode
from telephony.transcripts import EndReason
from tests.callserver import RunningServer, running_server
from twins.environment import environment
from twins.freezer import Freezer
from twins.gemini_live import DEFAULT_API_KEY, LiveEmulator
from twins.twilio import EndReason as SimEndReason
from twins.twilio import Hangup, Interrupt, Silence, Speak, WaitForGreeting, WaitForReply


@contextlib.asynccontextmanager
async def server_behind_a_freezer(
    tmp_path: Path, *, frozen: bool
) -> AsyncIterator[tuple[RunningServer, LiveEmulator, Freezer]]:
    """The server online, reaching the emulator through a relay that can freeze."""
    async with LiveEmulator() as emulator:
        freezer = Freezer(emulator.port, frozen=frozen)
        async with freezer.running():
            relayed = {"GOOGLE_GEMINI_BASE_URL": f"https://127.0.0.1:{freezer.port}"}
            with environment(emulator.client_env() | relayed):
                async with running_server(
                    f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}",
                    google_api_key=SecretStr(DEFAULT_API_KEY),
                ) as server:
                    yield server, emulator, freezer


async def test_a_model_frozen_from_the_start_sends_the_caller_to_the_fallback(
    tmp_path: Path,
) -> None:
    # The connection opens, but no setupComplete, no greeting, nothing ever comes back.
    async with server_behind_a_freezer(tmp_path, frozen=True) as (server, _, _):
        result = await server.place([Silence(30)])
        transcript = await server.finished_transcript(result.call_sid, wait_s=30)

    assert result.end_reason is SimEndReason.SERVER_CLOSED
    assert result.close_code == CloseCode.INTERNAL_ERROR
    assert result.metrics.first_audio_ms is None
    assert transcript.call.end_reason is EndReason.MODEL_ERROR


async def test_a_model_that_freezes_mid_call_sends_the_caller_to_the_fallback(
    tmp_path: Path,
) -> None:
    async with server_behind_a_freezer(tmp_path, frozen=False) as (server, emulator, freezer):

        async def freeze_after_the_greeting() -> None:
            await emulator.record.wait_for(
                lambda r: r.connections and r.last.turns_completed >= 1, timeout=20
            )
            freezer.freeze()

        freezing = asyncio.create_task(freeze_after_the_greeting())
        result = await server.place(
            [WaitForGreeting(timeout=20), Silence(0.5), Speak(1.2), Silence(30)]
        )
        await freezing
        transcript = await server.finished_transcript(result.call_sid, wait_s=30)

    assert result.metrics.first_audio_ms is not None, "the greeting came through"
    assert result.end_reason is SimEndReason.SERVER_CLOSED
    assert result.close_code == CloseCode.INTERNAL_ERROR
    assert transcript.call.end_reason is EndReason.MODEL_ERROR


async def test_a_model_mute_after_a_barge_in_is_nudged_and_answers(
    call_server: RunningServer,
) -> None:
    emulator = call_server.emulator
    # Gemini sometimes hears a caller who barged in and never answers them.
    emulator.script.next_reply(words=40)
    emulator.script.stay_silent_after_barge_in()
    result = await call_server.place(
        [
            Interrupt(after_ms=800, speak_s=1.2, timeout=20),
            WaitForReply(timeout=20),
            Hangup(),
        ]
    )
    totals = (await call_server.metrics_when_idle())["totals"]
    transcript = await call_server.finished_transcript(result.call_sid)

    assert emulator.record.last.interruptions == 1, (
        emulator.record.connection_count,
        result.metrics.clears_received,
        totals,
        [(t.speaker, t.text) for t in transcript.turns],
    )
    assert totals["model_nudges"] == 1
    assert not result.timed_out_steps, "the caller got an answer after the nudge"
    assert len(result.metrics.reply_latencies_ms) == 1
    assert transcript.call.end_reason is EndReason.CALLER_HUNG_UP
    nudges = [t.text for t in emulator.record.last.texts if "waiting for your answer" in t.text]
    assert len(nudges) == 1
