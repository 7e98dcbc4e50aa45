"""A stored transcript as plain text and as WebVTT; pure functions over `Transcript`.

Both tell what the caller heard: an agent turn the caller cut short shows the words that were
played (``heard_text``), and its WebVTT cue ends where the caller stopped hearing it (the turn's
``end_ms``, set by the playback truth when the audio was cleared). Times are on the call's
clock: milliseconds from the start of its media stream.
"""

from telephony.transcripts.values import Speaker, Transcript, Turn

MIN_CUE_MS = 1
"""WebVTT wants every cue to end after it starts; a turn of no length gets this much."""

_NAMES = {Speaker.CALLER: "Caller", Speaker.AGENT: "Agent"}


def heard(turn: Turn) -> str:
    """What the caller heard of a turn (all of it, but for an agent turn cut short)."""
    return turn.heard_text if turn.heard_text is not None else turn.text


def as_text(transcript: Transcript) -> str:
    """One line per turn: ``[hh:mm:ss.mmm] Speaker: words``, after a short header."""
    call = transcript.call
    lines = [f"Call {call.call_sid}"]
    if call.started_at is not None:
        lines.append(f"Started: {call.started_at.isoformat()}")
    if call.ended_at is not None:
        lines.append(f"Ended: {call.ended_at.isoformat()} ({call.end_reason or 'unknown'})")
    if call.agent is not None:
        lines.append(f"Agent: {call.agent}")
    lines.append("")
    for turn in transcript.turns:
        words = heard(turn)
        if turn.interrupted:
            words += " [interrupted]"
        lines.append(f"[{_clock(turn.start_ms)}] {_NAMES[turn.speaker]}: {words}")
    return "\n".join(lines) + "\n"


def as_webvtt(transcript: Transcript) -> str:
    """A WebVTT file: one cue per turn, in order of start, voiced by its speaker."""
    blocks = [f"WEBVTT - call {transcript.call.call_sid}"]
    for turn in sorted(transcript.turns, key=lambda turn: (turn.start_ms, turn.seq)):
        end_ms = max(turn.end_ms, turn.start_ms + MIN_CUE_MS)
        cue = _escape(heard(turn)).replace("\n", " ") or "…"
        blocks.append(
            f"{turn.seq}\n{_clock(turn.start_ms)} --> {_clock(end_ms)}\n"
            f"<v {_NAMES[turn.speaker]}>{cue}"
        )
    return "\n\n".join(blocks) + "\n"


def _clock(ms: int) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
