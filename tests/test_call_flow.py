"""A phone call end to end over loopback: the Twilio simulator calls the real server, whose
agent runs on real ADK against the Live API emulator."""

from pathlib import Path

from telephony.transcripts import EndReason, Speaker
from tests.callserver import PREAMBLE, RunningServer, running_server
from twins.twilio import (
    EventKind,
    Hangup,
    Interrupt,
    Silence,
    Speak,
    WaitForGreeting,
    WaitForReply,
)

FRAME_MS = 20
MODEL_3X = "gemini-3.1-flash-live-preview"


async def test_a_call_is_answered_and_transcribed(database_url: str) -> None:
    async with running_server(database_url) as server:
        result = await server.place(
            [WaitForGreeting(timeout=20), Speak(1.5), WaitForReply(timeout=20), Hangup()]
        )
        transcript = await server.finished_transcript(result.call_sid)
        connection = server.emulator.record.last
        totals = (await server.metrics_when_idle())["totals"]

    metrics = result.metrics
    assert metrics.first_audio_ms is not None, "the caller heard no greeting"
    assert len(metrics.reply_latencies_ms) == 1, "the caller heard no reply to their question"
    assert metrics.violations == 0, metrics.violations_by_kind
    assert not result.timed_out_steps

    # Every caller frame reached the model as 16 kHz PCM, nothing added on the way and nothing
    # lost but what the server reports dropping (audio older than the half second it holds while
    # the model connects, on a slow start); at most two frames were still in flight at hang-up.
    assert {(fmt.mime_type, fmt.rate) for fmt in connection.audio_formats} == {
        ("audio/pcm;rate=16000", 16000)
    }
    sent_ms = metrics.frames_sent * FRAME_MS
    dropped_ms = totals["frames_dropped"] * FRAME_MS
    assert sent_ms - dropped_ms - 2 * FRAME_MS <= connection.audio_ms <= sent_ms
    assert connection.caller_turns == 1

    assert transcript.call.end_reason is EndReason.CALLER_HUNG_UP
    assert transcript.call.agent == "receptionist"
    assert transcript.call.from_number == server.call_config([]).from_number
    speakers = [turn.speaker for turn in transcript.turns]
    assert speakers == [Speaker.AGENT, Speaker.CALLER, Speaker.AGENT, Speaker.AGENT]
    assert [turn.seq for turn in transcript.turns] == [1, 2, 3, 4]
    greeting, question, preamble, answer = transcript.turns
    assert greeting.text and greeting.heard_text == greeting.text and not greeting.interrupted
    assert question.text and question.heard_text is None
    assert preamble.text == PREAMBLE and preamble.heard_text == PREAMBLE
    assert answer.text and answer.heard_text == answer.text and not answer.interrupted
    assert greeting.start_ms < answer.start_ms

    # One message to the model per caller frame (but those dropped while the model connected),
    # over the direct line (see live/link.py).
    sent = totals["audio_direct"] + totals["audio_queued"]
    assert sent + totals["frames_dropped"] == totals["frames_in"]
    assert totals["audio_direct"] >= 0.9 * totals["frames_in"]


async def test_a_call_on_a_3x_live_model(tmp_path: Path) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}"
    async with running_server(database, agent_model=MODEL_3X) as server:
        result = await server.place(
            [WaitForGreeting(timeout=20), Speak(1.5), WaitForReply(timeout=20), Hangup()]
        )
        transcript = await server.finished_transcript(result.call_sid)
        connection = server.emulator.record.last
        totals = (await server.metrics_when_idle())["totals"]

    assert connection.model == MODEL_3X
    assert connection.audio_forms == {"audio"}
    sent_ms = result.metrics.frames_sent * FRAME_MS
    dropped_ms = totals["frames_dropped"] * FRAME_MS
    assert sent_ms - dropped_ms - 2 * FRAME_MS <= connection.audio_ms <= sent_ms
    assert totals["audio_direct"] >= 0.9 * totals["frames_in"]
    assert len(result.metrics.reply_latencies_ms) == 1
    assert [t.speaker for t in transcript.turns] == [Speaker.AGENT, Speaker.CALLER, Speaker.AGENT]
    assert result.metrics.violations == 0


async def test_caller_barges_in_and_the_turn_keeps_what_was_heard(
    call_server: RunningServer,
) -> None:
    call_server.emulator.script.next_reply(words=60)  # the greeting: long enough to cut into
    result = await call_server.place(
        [
            Interrupt(after_ms=1200, speak_s=1.0, timeout=20),
            WaitForReply(timeout=20),
            Hangup(),
        ]
    )
    transcript = await call_server.finished_transcript(result.call_sid)

    metrics = result.metrics
    assert metrics.violations == 0, metrics.violations_by_kind
    assert metrics.clears_received == 1
    [barge_in] = metrics.barge_ins
    assert barge_in.clear_ms is not None and barge_in.discarded_ms
    # Nothing of the cut-off reply reaches the caller after the clear: the next audio is the
    # answer to what the caller said, which can only start after they stopped speaking.
    events = result.timeline.events()
    [clear] = [e for e in events if e.kind is EventKind.CLEAR_RECEIVED]
    speech_end = max(e.t for e in events if e.kind is EventKind.SPEECH_ENDED)
    late_media = [
        e for e in events if e.kind is EventKind.MEDIA_RECEIVED and clear.t < e.t < speech_end
    ]
    assert late_media == []
    assert len(metrics.reply_latencies_ms) == 1

    greeting = transcript.turns[0]
    assert greeting.speaker is Speaker.AGENT and greeting.interrupted
    assert greeting.heard_text is not None and greeting.heard_text
    assert greeting.text.startswith(greeting.heard_text)
    assert len(greeting.heard_text) < len(greeting.text), "heard text must be a strict prefix"
    assert [t.text for t in transcript.turns[2:]][:1] == [PREAMBLE]
    assert [t.speaker for t in transcript.turns[1:]] == [Speaker.CALLER] + [Speaker.AGENT] * 2
    assert not transcript.turns[3].interrupted

    report = await call_server.metrics_when_idle()
    assert report["totals"]["calls"] == 1
    assert report["totals"]["clears"] == 1
    assert report["barge_in_reaction_ms"]["samples"] == 1
    assert report["loop_lag_ms"]["samples"] > 0


async def test_an_interrupted_answer_is_stored_after_the_question_it_answered(
    call_server: RunningServer,
) -> None:
    emulator = call_server.emulator
    emulator.script.next_reply(words=6)  # greeting
    emulator.script.next_reply(words=60)  # the answer the caller cuts short
    result = await call_server.place(
        [
            WaitForGreeting(timeout=20),
            Speak(1.2),
            Interrupt(after_ms=900, speak_s=1.0, timeout=20),
            WaitForReply(timeout=20),
            Hangup(),
        ]
    )
    transcript = await call_server.finished_transcript(result.call_sid)
    assert [(t.speaker, t.interrupted) for t in transcript.turns] == [
        (Speaker.AGENT, False),
        (Speaker.CALLER, False),
        (Speaker.AGENT, True),
        (Speaker.CALLER, False),
        (Speaker.AGENT, False),
    ]
    assert result.metrics.clears_received == 1
    assert result.metrics.violations == 0


async def test_caller_hangs_up_mid_reply(call_server: RunningServer) -> None:
    emulator = call_server.emulator
    emulator.script.next_reply(words=8)  # greeting
    emulator.script.next_reply(words=60)  # the answer the caller will not wait for
    result = await call_server.place(
        [WaitForGreeting(timeout=20), Speak(1.2), Silence(1.5), Hangup()]
    )
    hung_up = max(e.t for e in result.timeline.events() if e.kind is EventKind.STOP_SENT)
    # The hang-up closes the model session (the reply alone would keep it open far longer).
    await emulator.record.wait_for(lambda record: record.last.closed, timeout=10)
    connection = emulator.record.last
    assert connection.closed_at is not None
    assert connection.closed_at > hung_up
    assert not connection.closed_by_server

    transcript = await call_server.finished_transcript(result.call_sid)
    assert transcript.call.end_reason is EndReason.CALLER_HUNG_UP
    assert [t.speaker for t in transcript.turns] == [Speaker.AGENT, Speaker.CALLER, Speaker.AGENT]
    cut = transcript.turns[2]
    assert cut.interrupted
    assert cut.heard_text is not None and cut.text.startswith(cut.heard_text)
    assert len(cut.heard_text) < len(cut.text)
    assert result.metrics.violations == 0


async def test_keypad_digits_reach_the_agent_as_one_entry(call_server: RunningServer) -> None:
    from twins.twilio import Dtmf

    result = await call_server.place([WaitForGreeting(timeout=20), Dtmf("42#"), Silence(0.5)])
    texts = [text.text for text in call_server.emulator.record.last.texts]
    assert [text for text in texts if "keypad" in text] == [
        "[On the phone keypad the caller typed: 42.]"
    ]
    transcript = await call_server.finished_transcript(result.call_sid)
    assert "[keypad] **" in [t.text for t in transcript.turns], "digits masked by default"
    assert result.metrics.violations == 0


async def test_with_the_direct_line_off_adk_carries_the_whole_call(tmp_path: Path) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}"
    async with running_server(database, live_direct_line=False) as server:
        server.emulator.script.next_reply(words=60)
        result = await server.place(
            [Interrupt(after_ms=1200, speak_s=1.0, timeout=20), WaitForReply(timeout=20), Hangup()]
        )
        transcript = await server.finished_transcript(result.call_sid)
        totals = (await server.metrics_when_idle())["totals"]

    assert totals["audio_direct"] == 0
    assert totals["audio_queued"] == totals["frames_in"]
    assert result.metrics.clears_received == 1
    assert len(result.metrics.reply_latencies_ms) == 1
    assert result.metrics.violations == 0
    greeting = transcript.turns[0]
    assert greeting.interrupted
    assert greeting.heard_text
    assert greeting.text.startswith(greeting.heard_text)
    assert len(greeting.heard_text) < len(greeting.text)
    assert [t.speaker for t in transcript.turns[1:]] == [Speaker.CALLER] + [Speaker.AGENT] * 2
