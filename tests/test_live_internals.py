"""The seam into the libraries' internals: checked against the installed versions, and a call
that still works on the public API when they do not match."""

import logging
from pathlib import Path

import pytest
from google.genai.live import AsyncSession

from telephony.live import internals
from telephony.transcripts import EndReason, Speaker
from tests.callserver import PREAMBLE, running_server
from twins.twilio import Hangup, Speak, WaitForGreeting, WaitForReply


def test_the_installed_libraries_match_every_private_name_used() -> None:
    checked = internals.verify()
    assert checked.problems == ()
    assert (checked.direct_line, checked.queue_depth, checked.session_events) == (True,) * 3


def simulate_a_google_genai_that_reads_its_socket_differently(mp: pytest.MonkeyPatch) -> None:
    """As if an upgrade of google-genai no longer read server messages with ``_ws.recv()``:
    the session works exactly as before, but a tap on ``_ws`` would see nothing."""
    original = AsyncSession._receive

    async def _receive(self: AsyncSession) -> object:
        return await original(self)

    mp.setattr(AsyncSession, "_receive", _receive)


def test_a_mismatch_is_found_and_only_that_feature_turns_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    simulate_a_google_genai_that_reads_its_socket_differently(monkeypatch)
    checked = internals.verify()
    assert not checked.direct_line
    assert (checked.queue_depth, checked.session_events) == (True, True)
    assert len(checked.problems) == 1
    assert "_receive" in checked.problems[0]


async def test_with_a_mismatch_calls_run_on_the_public_api(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    simulate_a_google_genai_that_reads_its_socket_differently(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="telephony.live.internals"):
        async with running_server(f"sqlite+aiosqlite:///{tmp_path}/calls.db") as server:
            result = await server.place(
                [WaitForGreeting(timeout=20), Speak(1.5), WaitForReply(timeout=20), Hangup()]
            )
            transcript = await server.finished_transcript(result.call_sid)
            totals = (await server.metrics_when_idle())["totals"]
            assert not server.services.internals.direct_line
    warnings = [r for r in caplog.records if r.name == "telephony.live.internals"]
    assert len(warnings) == 1, "one clear warning at start-up"
    assert "public API" in warnings[0].getMessage()

    # The call works as before: greeted, answered, transcribed...
    assert result.metrics.first_audio_ms is not None
    assert len(result.metrics.reply_latencies_ms) == 1
    assert result.metrics.violations == 0
    assert transcript.call.end_reason is EndReason.CALLER_HUNG_UP
    speakers = [t.speaker for t in transcript.turns]
    assert speakers == [Speaker.AGENT, Speaker.CALLER, Speaker.AGENT, Speaker.AGENT]
    assert transcript.turns[2].text == PREAMBLE
    # ...with every frame through ADK's queue, none over the direct line.
    assert totals["audio_direct"] == 0
    assert totals["audio_queued"] == totals["frames_in"] > 0
