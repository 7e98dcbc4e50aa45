"""Barge-in the model does not report: the caller talks over the rest of a reply the model has
already generated (the real service only *may* send ``interrupted`` then). The call notices the
caller's speech itself and stops playback."""

from pathlib import Path

import pytest

from telephony.transcripts import Speaker
from tests.callserver import PREAMBLE, server_online_against
from twins.gemini_live import EmulatorConfig, LiveEmulator, Pacing
from twins.twilio import Echo, Hangup, Interrupt, WaitForReply

SPEAK_S = 1.2


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

    greeting, question, preamble, answer = transcript.turns
    assert greeting.speaker is Speaker.AGENT
    assert greeting.interrupted
    assert greeting.heard_text is not None
    assert len(greeting.heard_text) < len(greeting.text)
    assert greeting.text.startswith(greeting.heard_text)
    assert question.speaker is Speaker.CALLER
    assert (preamble.speaker, preamble.text) == (Speaker.AGENT, PREAMBLE)
    assert answer.speaker is Speaker.AGENT


@pytest.mark.parametrize("echo_db", [-12.0, -20.0])
async def test_the_agents_echo_on_the_line_does_not_cut_the_agent_off(
    tmp_path: Path, echo_db: float
) -> None:
    # The whole greeting is buffered at Twilio while the model waits; the line returns it to the
    # server, 12 or 20 dB down, 60 ms late, and the caller says nothing.
    emulator = LiveEmulator(EmulatorConfig(pacing=Pacing.unpaced()))
    async with emulator, server_online_against(emulator, tmp_path) as server:
        result = await server.place(
            [WaitForReply(timeout=20), Hangup()], echo=Echo(level_db=echo_db, delay_ms=60)
        )
        transcript = await server.finished_transcript(result.call_sid)
        totals = (await server.metrics_when_idle())["totals"]

    assert totals["local_barge_ins"] == 0, "the call took the agent's echo for the caller"
    assert result.metrics.clears_received == 0
    # The emulator's own voice detector hears the echo as the caller speaking and transcribes
    # it (a real model hears the line's echo too); what matters is that nothing cut the agent off.
    greeting = transcript.turns[0]
    assert not any(turn.interrupted for turn in transcript.turns)
    assert not greeting.interrupted
    assert greeting.heard_text == greeting.text
