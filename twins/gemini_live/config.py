"""Settings of the Live emulator, and the two profiles of its behaviour.

``EmulatorConfig.realistic()`` behaves like the real Live API (PROTOCOLS.md section 8): audio in
bursts ahead of playback, ``turnComplete`` after playback, transcriptions streamed and out of
order, ``resumable: false`` while busy, connections that end with ``goAway``, spoken preambles
before tool calls. ``EmulatorConfig.idealised()`` is the original behaviour: smooth real-time
audio, everything of a turn in order and at once. ``EmulatorConfig()`` takes its behaviour groups
from ``DEFAULT_PROFILE``: the one line that switches the default for every user at once.
"""

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from twins.gemini_live.conversation import RECEPTIONIST, Conversation
from twins.gemini_live.options import (
    Failures,
    Interruptions,
    Lifetime,
    Pacing,
    Resumption,
    Tools,
    Transcripts,
    WireVariants,
)

TRANSCRIPT_TAG = "[c{index}] "
"""What ``tag_transcripts`` puts before a reply's first transcribed word (``index``: the
connection's)."""


@dataclass(frozen=True)
class Profile:
    """One value of every behaviour group: a whole way of behaving."""

    pacing: Pacing
    interruptions: Interruptions
    transcripts: Transcripts
    resumption: Resumption
    lifetime: Lifetime
    tools: Tools
    wire: WireVariants
    failures: Failures
    reply_latency_ms: int

    def values(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


IDEALISED = Profile(
    pacing=Pacing.real_time(),
    interruptions=Interruptions(),
    transcripts=Transcripts(),
    resumption=Resumption(),
    lifetime=Lifetime(),
    tools=Tools(),
    wire=WireVariants(),
    failures=Failures(),
    reply_latency_ms=0,
)
REALISTIC = Profile(
    pacing=Pacing.realistic(),
    interruptions=Interruptions.realistic(),
    transcripts=Transcripts.realistic(),
    resumption=Resumption.realistic(),
    lifetime=Lifetime.realistic(),
    tools=Tools.realistic(),
    wire=WireVariants.realistic(),
    failures=Failures(),
    reply_latency_ms=300,
)

DEFAULT_PROFILE = REALISTIC
"""The behaviour of ``EmulatorConfig()`` (and of ``LiveEmulator()``): switch to ``REALISTIC``
here to make every test, the demo and the benchmark meet the realistic model."""


def _default(name: str) -> Callable[[], Any]:
    return lambda: getattr(DEFAULT_PROFILE, name)


@dataclass(frozen=True)
class EmulatorConfig:
    """Behaviour of the emulated model. Groups not given come from ``DEFAULT_PROFILE``."""

    silence_ms: int = 500
    """Caller silence that ends the caller's turn (unless the setup asks otherwise)."""
    speech_start_ms: int = 150
    """Voiced audio that starts a caller turn; during a reply it is a barge-in (``interrupted``)."""
    vad_threshold_dbfs: float = -40.0
    """Block RMS level at or above which audio counts as voiced."""
    vad_block_ms: int = 10
    reply_chunk_ms: int = 40
    """Duration of the audio in one ``serverContent.modelTurn`` message (fixed-size chunks)."""
    words_per_second: float = 2.75
    """Speaking rate: sets the reply audio duration and when each transcribed word is due."""
    conversation: Conversation = RECEPTIONIST
    """What the caller is heard to say and what the model answers (``conversation.py``)."""
    api_keys: frozenset[str] | None = None
    """Accepted API keys; None accepts any non-empty key."""
    reject_unknown_messages: bool = True
    """Close with 1007 on a client message with unknown top-level keys (else log and ignore)."""
    seed: int = 0
    """Seed of the synthetic reply audio and of every random choice (per connection)."""
    tag_transcripts: bool = False
    """Start each reply's output transcription with a tag naming the connection, ``[c17] ``
    (``TRANSCRIPT_TAG``), so that a client's stored transcript tells which connection it had."""
    record_timings: bool = False
    """Keep compact timing logs per connection (``ConnectionRecord.timings``), for benchmarks."""
    pacing: Pacing = field(default_factory=_default("pacing"))
    interruptions: Interruptions = field(default_factory=_default("interruptions"))
    transcripts: Transcripts = field(default_factory=_default("transcripts"))
    resumption: Resumption = field(default_factory=_default("resumption"))
    lifetime: Lifetime = field(default_factory=_default("lifetime"))
    tools: Tools = field(default_factory=_default("tools"))
    wire: WireVariants = field(default_factory=_default("wire"))
    failures: Failures = field(default_factory=_default("failures"))
    reply_latency_ms: int = field(default_factory=_default("reply_latency_ms"))
    """Wait between the end of the caller's turn and the model's first output."""

    def __post_init__(self) -> None:
        if min(self.silence_ms, self.vad_block_ms, self.reply_chunk_ms) <= 0:
            raise ValueError("silence_ms, vad_block_ms and reply_chunk_ms must be positive")
        if self.speech_start_ms < 0 or self.reply_latency_ms < 0:
            raise ValueError("speech_start_ms and reply_latency_ms must not be negative")
        if not self.words_per_second > 0:
            raise ValueError("words_per_second must be positive")

    @classmethod
    def idealised(cls, **overrides: Any) -> "EmulatorConfig":
        """The original behaviour: smooth pacing, each turn in order, nothing unexpected."""
        return cls(**{**IDEALISED.values(), **overrides})

    @classmethod
    def realistic(cls, **overrides: Any) -> "EmulatorConfig":
        """The real Live API's behaviour in time (PROTOCOLS.md section 8)."""
        return cls(**{**REALISTIC.values(), **overrides})
