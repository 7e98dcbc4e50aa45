"""Groups of behaviour options of the emulated model, each with an idealised default.

Every group's defaults are the emulator's original, idealised behaviour; ``realistic()`` gives
the behaviour of the real Live API as PROTOCOLS.md section 8 describes it (sources there and in
each docstring). ``EmulatorConfig`` holds one of each; its profiles pick all of them at once.
Ranges are ``(low, high)`` pairs, drawn from uniformly by the session's seeded random source.
"""

import math
from dataclasses import dataclass

from twins.gemini_live.closes import Refusal

IntRange = tuple[int, int]


def _check_range(name: str, value: IntRange, *, low: int = 0) -> None:
    if not low <= value[0] <= value[1]:
        raise ValueError(f"{name} must be a range (low, high) with {low} <= low <= high")


@dataclass(frozen=True)
class Pacing:
    """When reply audio is sent, and when the turn completes.

    The first ``burst_ms`` of a reply go out at once; the rest is generated at ``speed`` times
    real time (``math.inf``: all at once). Without ``burst_range_ms`` every later chunk goes out
    on its own when its time comes (smooth); with it, audio leaves in bursts of that many ms,
    back to back, each when generation has reached it. ``chunk_range_ms`` varies the audio in a
    message (else ``EmulatorConfig.reply_chunk_ms``). The real service generates "as quickly as
    possible, and not in real time" (google-genai ``LiveServerContent``), in bursts.

    ``turn_complete_after_playback``: ``generationComplete`` when the audio is out, then
    ``turnComplete`` once the audio would have played (counted from the first chunk of the
    turn, plus ``playback_margin_ms``): "there will be delay between generation_complete and
    turn_complete that is caused by model waiting for playback to finish" (google-genai
    ``LiveServerContent.generation_complete``). Otherwise both are sent at once.
    """

    speed: float = 1.0
    burst_ms: int = 200
    burst_range_ms: IntRange | None = None
    chunk_range_ms: IntRange | None = None
    turn_complete_after_playback: bool = False
    playback_margin_ms: int = 0

    def __post_init__(self) -> None:
        if not self.speed > 0 or self.burst_ms < 0 or self.playback_margin_ms < 0:
            raise ValueError("speed must be positive, burst_ms and playback_margin_ms not negative")
        if self.burst_range_ms is not None:
            _check_range("burst_range_ms", self.burst_range_ms, low=1)
        if self.chunk_range_ms is not None:
            _check_range("chunk_range_ms", self.chunk_range_ms, low=1)

    @classmethod
    def unpaced(cls) -> "Pacing":
        """Every reply's audio at once, ``turnComplete`` right after it."""
        return cls(speed=math.inf, burst_ms=0)

    @classmethod
    def real_time(cls) -> "Pacing":
        """The idealised pacing: 200 ms at once, then smoothly in real time; no playback wait."""
        return cls()

    @classmethod
    def realistic(cls, speed: float = 3.0) -> "Pacing":
        """Bursts of 80-400 ms of 20-120 ms chunks at about ``speed`` times real time;
        ``turnComplete`` after playback. The sizes are plausible, not measured."""
        return cls(
            speed=speed,
            burst_ms=400,
            burst_range_ms=(80, 400),
            chunk_range_ms=(20, 120),
            turn_complete_after_playback=True,
            playback_margin_ms=100,
        )


@dataclass(frozen=True)
class Interruptions:
    """What caller speech does to a turn that is no longer generating.

    ``during_playback``: the chance that speech while the model waits for playback (after
    ``generationComplete``, before ``turnComplete``) still interrupts it (``interrupted`` then
    ``turnComplete``); otherwise the turn completes at its time. ``after_turn_complete``: the
    chance of a stray ``interrupted`` when the caller speaks within
    ``after_turn_complete_window_ms`` of a ``turnComplete`` (reported: python-genai issue 2333).
    ``turn_complete_after_interrupted``: an interrupted turn ends ``interrupted`` ->
    ``turnComplete``, with no ``generationComplete`` (google-genai ``LiveServerContent``).
    The script can decide single cases (``Script.decide_late_interruption``).
    """

    turn_complete_after_interrupted: bool = False
    during_playback: float = 1.0
    after_turn_complete: float = 0.0
    after_turn_complete_window_ms: int = 500

    def __post_init__(self) -> None:
        if not (0 <= self.during_playback <= 1 and 0 <= self.after_turn_complete <= 1):
            raise ValueError("probabilities must be between 0 and 1")

    @classmethod
    def realistic(cls) -> "Interruptions":
        return cls(turn_complete_after_interrupted=True, during_playback=0.5)


@dataclass(frozen=True)
class Transcripts:
    """How transcriptions are cut and when they are sent.

    Input (the caller): with ``input_streaming``, 2.5-style models send fragments of
    ``input_fragment_words`` words while the caller speaks, each word ``input_lag_ms`` of audio
    after it was said at ``caller_words_per_second``, the rest when the turn ends; otherwise all
    fragments when the turn ends. 3.x-style models send one final transcription at the end
    (google-adk 2.13 ``gemini_llm_connection``). With chance ``late_input``, the last fragment
    comes only after the reply's first audio. Output (the model): fragments of
    ``output_fragment_words`` words, each sent ``output_offset_ms`` after the audio message in
    which its first word starts (negative: before it). Neither stream is ordered with the turn
    (google-genai ``LiveServerContent.input_transcription``).
    """

    input_streaming: bool = False
    input_lag_ms: int = 0
    input_fragment_words: IntRange = (3, 3)
    caller_words_per_second: float = 2.5
    late_input: float = 0.0
    output_fragment_words: IntRange = (1, 1)
    output_offset_ms: IntRange = (0, 0)

    def __post_init__(self) -> None:
        _check_range("input_fragment_words", self.input_fragment_words, low=1)
        _check_range("output_fragment_words", self.output_fragment_words, low=1)
        low, high = self.output_offset_ms
        if low > high or self.input_lag_ms < 0 or not 0 <= self.late_input <= 1:
            raise ValueError("bad transcription timing")
        if not self.caller_words_per_second > 0:
            raise ValueError("caller_words_per_second must be positive")

    @classmethod
    def realistic(cls) -> "Transcripts":
        return cls(
            input_streaming=True,
            input_lag_ms=300,
            input_fragment_words=(1, 4),
            late_input=0.3,
            output_fragment_words=(1, 5),
            output_offset_ms=(-150, 400),
        )


HANDLE_VALIDITY_S = 2 * 60 * 60.0
"""Resumption handles are valid for 2 hours after the session ended (ai.google.dev, Live API
session management)."""


@dataclass(frozen=True)
class Resumption:
    """``sessionResumptionUpdate``s, when the setup asks for them.

    A handle follows every completed turn. ``update_interval_s`` adds one periodically;
    ``not_resumable_while_busy`` sends ``resumable: false`` with no handle when the model starts
    generating or calling a tool, and in periodic updates while it does ("Example of such case
    could be model executing function calls or just generating", google-genai
    ``LiveServerSessionResumptionUpdate``). Such updates arrive with no fields at all (proto3
    JSON omits false and empty values; an empty update is logged in kazunori279/
    adk-streaming-guide issue 11). A handle expires ``handle_validity_s`` after it was issued or
    after its connection closed, whichever is later; then it is refused like an unknown one.
    """

    update_interval_s: float | None = None
    not_resumable_while_busy: bool = False
    handle_validity_s: float = HANDLE_VALIDITY_S

    def __post_init__(self) -> None:
        if self.update_interval_s is not None and not self.update_interval_s > 0:
            raise ValueError("update_interval_s must be positive")
        if not self.handle_validity_s > 0:
            raise ValueError("handle_validity_s must be positive")

    @classmethod
    def realistic(cls) -> "Resumption":
        return cls(update_interval_s=10.0, not_resumable_while_busy=True)


CONNECTION_LIFETIME_S = 10 * 60.0
""""The lifetime of a connection is limited to around 10 minutes" (Vertex AI Live API docs,
start and manage sessions)."""
GO_AWAY_TIME_LEFT_S = 50.0
"""``goAway{timeLeft: "50s"}`` before a lifetime close (kizuna-ai-lab/sokuji issue 179)."""


@dataclass(frozen=True)
class Lifetime:
    """How long a connection lives (None: for ever). ``go_away_time_left_s`` before the end a
    ``goAway`` says so, whatever the conversation is doing; at the end the connection closes
    with 1011 "Deadline expired before operation could complete." (see ``closes``)."""

    connection_s: float | None = None
    go_away_time_left_s: float = GO_AWAY_TIME_LEFT_S

    def __post_init__(self) -> None:
        if self.connection_s is not None and not self.connection_s > 0:
            raise ValueError("connection_s must be positive")
        if self.go_away_time_left_s < 0:
            raise ValueError("go_away_time_left_s must not be negative")

    @classmethod
    def realistic(cls) -> "Lifetime":
        return cls(connection_s=CONNECTION_LIFETIME_S)


@dataclass(frozen=True)
class Tools:
    """How the model uses tools.

    With ``speak_preambles``, the model says something before a tool call made in answer to
    the caller: the conversation exchange's preamble, else ``preamble`` ("a voice model often
    speaks a short preamble before a function call", PROTOCOLS.md section 8). With
    ``cancel_on_barge_in``, caller speech while calls are pending sends ``toolCallCancellation``
    for them ("occurs only in cases where the clients interrupt server turns", google-genai
    ``LiveServerToolCallCancellation``); responses to them are ignored. The model waits for
    every response, however slow.
    """

    speak_preambles: bool = False
    preamble: str | None = None
    cancel_on_barge_in: bool = False

    @classmethod
    def realistic(cls) -> "Tools":
        return cls(
            speak_preambles=True, preamble="One moment, let me check.", cancel_on_barge_in=True
        )


@dataclass(frozen=True)
class WireVariants:
    """Valid shapes of server messages beyond one field per message.

    ``audio_parts``: up to this many audio chunks of a burst in one message (several parts).
    ``flags_with_last_audio``: ``generationComplete`` (and ``turnComplete`` when it is not
    delayed) in the message with the last audio ("Can be set alongside content", google-genai
    ``LiveServerContent.turn_complete``). ``usage_with_audio``: ``usageMetadata`` in the message
    with the last audio instead of with ``turnComplete``. ``interaction_status``: 3.x-style
    models send ``interactionStatus: IDLE`` with ``turnComplete`` ("Always sent alongside
    turn_complete", google-genai 2.34; passed on by google-adk 2.13).
    """

    audio_parts: int = 1
    flags_with_last_audio: bool = False
    usage_with_audio: bool = False
    interaction_status: bool = False

    def __post_init__(self) -> None:
        if self.audio_parts < 1:
            raise ValueError("audio_parts must be at least 1")

    @classmethod
    def realistic(cls) -> "WireVariants":
        return cls(audio_parts=2, interaction_status=True)


@dataclass(frozen=True)
class Failures:
    """Failures a deployment meets. ``refuse_setup``: every setup is refused (quota,
    unavailable: ``closes.QUOTA_EXCEEDED``...). ``setup_delay_s``: ``setupComplete`` comes that
    late. ``max_sessions``: at most that many sessions at once; a setup beyond is refused with
    ``closes.TOO_MANY_SESSIONS``. ``internal_error_after_s``: every connection closes with 1011
    "Internal error encountered." that long after its setup."""

    refuse_setup: Refusal | None = None
    setup_delay_s: float = 0.0
    max_sessions: int | None = None
    internal_error_after_s: float | None = None

    def __post_init__(self) -> None:
        if self.setup_delay_s < 0 or (self.max_sessions is not None and self.max_sessions < 0):
            raise ValueError("setup_delay_s and max_sessions must not be negative")
        if self.internal_error_after_s is not None and not self.internal_error_after_s > 0:
            raise ValueError("internal_error_after_s must be positive")
