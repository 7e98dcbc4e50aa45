"""Calls against the Live emulator's realistic default (PROTOCOLS.md section 8): transcriptions
out of order with the reply, handles that cannot resume while the model is busy."""

from telephony.transcripts import EndReason, Speaker
from tests.callserver import PREAMBLE, RunningServer
from twins.gemini_live import RECEPTIONIST, DuringToolCall, MidReply
from twins.twilio import Hangup, Speak, WaitForGreeting, WaitForReply


async def test_a_late_transcription_fragment_stays_in_the_callers_turn(
    call_server: RunningServer,
) -> None:
    emulator = call_server.emulator
    # The last fragment of the caller's question comes after the reply's first audio.
    emulator.script.late_input_transcription(True)
    result = await call_server.place(
        [WaitForGreeting(timeout=20), Speak(1.5), WaitForReply(timeout=20), Hangup()]
    )
    transcript = await call_server.finished_transcript(result.call_sid)

    speakers = [turn.speaker for turn in transcript.turns]
    assert speakers == [Speaker.AGENT, Speaker.CALLER, Speaker.AGENT, Speaker.AGENT]
    question = transcript.turns[1]
    assert question.text == RECEPTIONIST.exchanges[0].caller  # one turn, every word
    assert transcript.turns[2].text == PREAMBLE
    # A fragment arriving while the reply plays is not the caller talking over it.
    assert result.metrics.clears_received == 0
    assert not any(turn.interrupted for turn in transcript.turns)


async def test_a_drop_during_a_tool_call_resumes_from_the_last_handle_that_can(
    call_server: RunningServer,
) -> None:
    emulator = call_server.emulator
    # While the model runs a tool it is `resumable: false` with no handle; the connection
    # drops then. The handle after the greeting still resumes the session.
    emulator.script.close(1011, "Internal error encountered.", when=DuringToolCall(connection=0))
    result = await call_server.place(
        [
            WaitForGreeting(timeout=20),
            Speak(1.5),
            WaitForReply(timeout=20),
            Speak(1.2, seed=2),
            WaitForReply(timeout=20),
            Hangup(),
        ]
    )
    transcript = await call_server.finished_transcript(result.call_sid)
    totals = (await call_server.metrics_when_idle())["totals"]

    record = emulator.record
    first = record.connections[0]
    assert record.connection_count == 2
    assert first.handles_issued, "the greeting's turn left a handle"
    assert record.resumptions == [first.handles_issued[-1]]
    assert totals["fresh_sessions"] == 0
    assert not result.timed_out_steps
    assert len(result.metrics.reply_latencies_ms) == 2
    assert transcript.call.end_reason is EndReason.CALLER_HUNG_UP
    speakers = [turn.speaker for turn in transcript.turns]
    assert speakers[:3] == [Speaker.AGENT, Speaker.CALLER, Speaker.AGENT]
    assert speakers.count(Speaker.CALLER) == 2
    assert speakers[-1] is Speaker.AGENT


async def test_a_drop_mid_reply_closes_the_reply_and_the_call_goes_on(
    call_server: RunningServer,
) -> None:
    emulator = call_server.emulator
    # The greeting is being generated when the connection drops; no handle has been issued
    # yet (one follows a completed turn), so the call goes on in a fresh, seeded session.
    emulator.script.next_reply(words=40)
    emulator.script.close(1011, "Internal error encountered.", when=MidReply(40, connection=0))
    result = await call_server.place(
        [WaitForGreeting(timeout=20), Speak(1.5), WaitForReply(timeout=20), Hangup()]
    )
    transcript = await call_server.finished_transcript(result.call_sid)
    totals = (await call_server.metrics_when_idle())["totals"]

    assert emulator.record.connection_count == 2
    assert totals["fresh_sessions"] == 1
    assert not result.timed_out_steps
    assert result.metrics.violations == 0
    cut = transcript.turns[0]
    assert cut.speaker is Speaker.AGENT
    assert cut.interrupted, "the reply the drop cut off is a finished, interrupted turn"
    assert cut.text and cut.text.startswith(cut.heard_text or "")
    # The fresh session's words are turns of their own, after the caller's question.
    speakers = [turn.speaker for turn in transcript.turns]
    assert Speaker.CALLER in speakers[1:]
    assert speakers[-1] is Speaker.AGENT
    assert all(cut.text not in turn.text for turn in transcript.turns[1:]), [
        (t.speaker, t.text, t.interrupted) for t in transcript.turns
    ]
