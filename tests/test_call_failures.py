"""When the model fails: the caller is not left in dead air, nothing said is lost, and the
server goes on serving other calls."""

from telephony.transcripts import EndReason, Speaker
from tests.callserver import PREAMBLE, RunningServer
from twins.gemini_live import AfterTurns, BeforeFirstHandle, MidReply, OnSetup
from twins.twilio import EndReason as SimEnd
from twins.twilio import Hangup, Speak, WaitForGreeting, WaitForReply


async def test_model_error_mid_call_ends_the_call_cleanly(call_server: RunningServer) -> None:
    emulator = call_server.emulator
    emulator.script.next_reply(words=40)
    # 1007 is not a code ADK resumes from: the live session fails mid-greeting; the fresh
    # session the call then starts is refused at setup. The model has failed for good.
    emulator.script.close(1007, "Request contains an invalid argument.", when=MidReply(15))
    emulator.script.close(1011, "The service is currently unavailable.", when=OnSetup(1))
    result = await call_server.place([WaitForGreeting(timeout=20), Speak(1.0), Hangup()])

    assert result.end_reason is SimEnd.SERVER_CLOSED
    assert result.close_code == 1011
    # Twilio now runs the verbs after </Connect>: an apology and a hang-up, not dead air.
    assert [verb.name for verb in result.next_verbs] == ["Say", "Hangup"]
    assert result.metrics.violations == 0

    transcript = await call_server.finished_transcript(result.call_sid)
    assert transcript.call.end_reason is EndReason.MODEL_ERROR
    [greeting] = transcript.turns
    assert greeting.speaker is Speaker.AGENT
    assert greeting.interrupted
    assert greeting.heard_text
    assert greeting.text.startswith(greeting.heard_text)

    # The server keeps serving: the next call is answered normally.
    second = await call_server.place([WaitForGreeting(timeout=20), Hangup()])
    assert second.metrics.first_audio_ms is not None
    second_transcript = await call_server.finished_transcript(second.call_sid)
    assert second_transcript.call.end_reason is EndReason.CALLER_HUNG_UP


async def test_a_dropped_model_connection_is_resumed_without_the_caller_noticing(
    call_server: RunningServer,
) -> None:
    emulator = call_server.emulator
    # After the greeting (and the resumption handle that follows it) the connection drops.
    emulator.script.close(1011, "Internal error encountered.", when=AfterTurns(1, connection=0))
    result = await call_server.place(
        [WaitForGreeting(timeout=20), Speak(1.2), WaitForReply(timeout=20), Hangup()]
    )

    record = emulator.record
    assert record.connection_count == 2
    assert record.resumptions == [record.connections[0].handles_issued[-1]]
    assert result.metrics.first_audio_ms is not None
    assert len(result.metrics.reply_latencies_ms) == 1
    transcript = await call_server.finished_transcript(result.call_sid)
    assert transcript.call.end_reason is EndReason.CALLER_HUNG_UP
    speakers = [t.speaker for t in transcript.turns]
    assert speakers == [Speaker.AGENT, Speaker.CALLER, Speaker.AGENT, Speaker.AGENT]
    assert transcript.turns[2].text == PREAMBLE


async def test_go_away_is_followed_by_a_resumed_session(call_server: RunningServer) -> None:
    emulator = call_server.emulator
    emulator.script.go_away(time_left_s=5.0, when=AfterTurns(1, connection=0))
    result = await call_server.place(
        [WaitForGreeting(timeout=20), Speak(1.2), WaitForReply(timeout=20), Hangup()]
    )
    assert emulator.record.connection_count == 2
    assert len(emulator.record.resumptions) == 1
    assert len(result.metrics.reply_latencies_ms) == 1
    assert result.metrics.violations == 0


async def test_a_session_adk_cannot_resume_goes_on_fresh_with_the_conversation_so_far(
    call_server: RunningServer,
) -> None:
    emulator = call_server.emulator
    # The connection drops after the greeting but before any resumption handle: ADK gives up.
    emulator.script.close(1011, "Internal error encountered.", when=BeforeFirstHandle(0))
    result = await call_server.place(
        [WaitForGreeting(timeout=20), Speak(1.2), WaitForReply(timeout=20), Hangup()]
    )
    transcript = await call_server.finished_transcript(result.call_sid)
    totals = (await call_server.metrics_when_idle())["totals"]

    assert totals["fresh_sessions"] == 1
    record = emulator.record
    assert record.connection_count == 2
    assert record.resumptions == []  # a fresh session, not a resumed one
    # The fresh session was told what had been said, and not to greet again.
    seeded = " ".join(text.text for text in record.connections[1].texts)
    greeting = transcript.turns[0]
    assert greeting.speaker is Speaker.AGENT
    assert greeting.text in seeded
    assert "Do not greet the caller again" in seeded
    # The caller's question was answered on the fresh session.
    assert len(result.metrics.reply_latencies_ms) >= 1
    assert transcript.call.end_reason is EndReason.CALLER_HUNG_UP
    assert [t.speaker for t in transcript.turns][-3:] == [Speaker.CALLER] + [Speaker.AGENT] * 2
    assert transcript.turns[-2].text == PREAMBLE
