"""Agent trees on the phone: a hand-over to a sub-agent with ADK's ``transfer_to_agent`` keeps
the caller and the agent hearing each other, on the sub-agent's own live connection."""

from pathlib import Path

from telephony.transcripts import EndReason, Speaker
from tests.callserver import running_server
from twins.gemini_live import Tools
from twins.twilio import Hangup, Speak, WaitForGreeting, WaitForReply

FRAME_MS = 20


async def test_a_hand_over_to_a_sub_agent_keeps_the_call_going(tmp_path: Path) -> None:
    async with running_server(f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}") as server:
        emulator = server.emulator
        # The receptionist's first turn hands the call to the appointments desk (after a short
        # spoken preamble, as a voice model does), which runs on a live connection of its own.
        emulator.script.call_tool("transfer_to_agent", {"agent_name": "appointments"})
        result = await server.place(
            [
                WaitForGreeting(timeout=20),
                Speak(1.2, seed=1),
                WaitForReply(timeout=20),
                Speak(1.2, seed=2),
                WaitForReply(timeout=20),
                Hangup(),
            ]
        )
        transcript = await server.finished_transcript(result.call_sid)
        connections = list(emulator.record.connections)
        totals = (await server.metrics_when_idle())["totals"]

    assert len(connections) == 2, "the sub-agent opens its own live connection"
    first, second = connections
    assert first.tool_calls == ["transfer_to_agent"]
    # After the hand-over the agent still hears the caller...
    assert second.audio_ms >= 1000
    assert second.caller_turns >= 1
    # ...and the caller still hears the agent: a reply after each of their two questions.
    assert len(result.metrics.reply_latencies_ms) >= 2
    assert result.metrics.violations == 0
    assert not result.timed_out_steps

    # The transcript goes on after the hand-over, in order.
    assert transcript.call.end_reason is EndReason.CALLER_HUNG_UP
    speakers = [turn.speaker for turn in transcript.turns]
    assert speakers[:3] == [Speaker.AGENT, Speaker.AGENT, Speaker.CALLER]
    assert transcript.turns[0].text == Tools.realistic().preamble
    assert speakers.count(Speaker.CALLER) == 2
    assert speakers[-1] is Speaker.AGENT
    assert [turn.seq for turn in transcript.turns] == list(range(1, len(speakers) + 1))

    # The direct line re-attached to the new connection: caller audio kept going straight to
    # the model's socket, and the call played the model's audio from the tap.
    assert totals["model_connections"] == 2
    assert totals["audio_direct"] == totals["frames_in"]
    # ADK stops reading a connection it hands over from, then closes it: the close must not
    # keep the caller's audio waiting (it did, for the socket's 10 s close timeout).
    assert totals["frames_dropped"] == 0
    assert second.opened_at - first.opened_at < 5
