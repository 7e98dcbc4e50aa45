"""Settings of the Live emulator: voice activity detection, reply pacing, default phrases."""

import math
from dataclasses import dataclass, field

DEFAULT_CALLER_PHRASES = (
    "Hi, I'd like to check on my order.",
    "It's order number four five six.",
    "Can you tell me when it will arrive?",
    "Okay, and can I change the delivery address?",
    "Great, thank you very much.",
    "No, that's everything. Goodbye.",
)

DEFAULT_REPLIES = (
    "Of course, I can help with that. Could you give me your order number, please?",
    "Thank you. Let me look that up for you, it will only take a moment.",
    "Your order has shipped and should arrive on Thursday.",
    "Yes, I can update the address for you. What is the new address?",
    "You're welcome. Is there anything else I can help you with today?",
    "Thank you for calling. Have a wonderful day.",
)

DEFAULT_GREETING = "Thank you for calling. How can I help you today?"

TRANSCRIPT_TAG = "[c{index}] "
"""What ``tag_transcripts`` puts before a reply's first transcribed word (``index``: the
connection's)."""


@dataclass(frozen=True)
class Pacing:
    """How fast reply audio is sent.

    The first ``burst_ms`` of each reply go out at once, the rest at ``speed`` times real time
    (1.0 is real time; ``math.inf`` sends everything at once).
    """

    speed: float = 1.0
    burst_ms: int = 200

    def __post_init__(self) -> None:
        if not self.speed > 0 or self.burst_ms < 0:
            raise ValueError("speed must be positive and burst_ms not negative")

    @classmethod
    def unpaced(cls) -> "Pacing":
        return cls(speed=math.inf, burst_ms=0)


@dataclass(frozen=True)
class EmulatorConfig:
    """Behaviour of the emulated model. Defaults resemble a real voice model on a phone line."""

    silence_ms: int = 500
    """Caller silence that ends the caller's turn."""
    speech_start_ms: int = 150
    """Voiced audio that starts a caller turn; during a reply it is a barge-in (``interrupted``)."""
    vad_threshold_dbfs: float = -40.0
    """Block RMS level at or above which audio counts as voiced."""
    vad_block_ms: int = 10
    reply_chunk_ms: int = 40
    """Duration of the audio in one ``serverContent.modelTurn`` message."""
    pacing: Pacing = field(default_factory=Pacing)
    words_per_second: float = 2.75
    """Speaking rate: sets the reply audio duration and when each transcribed word is sent."""
    reply_latency_ms: int = 0
    """Wait between the end of the caller's turn and the reply's first audio."""
    caller_phrases: tuple[str, ...] = DEFAULT_CALLER_PHRASES
    """Input transcriptions for caller turns, used in order, cycling."""
    replies: tuple[str, ...] = DEFAULT_REPLIES
    """Reply texts, used in order, cycling."""
    greeting: str | None = DEFAULT_GREETING
    """Reply to a text turn that opens a new session (None: use ``replies``)."""
    api_keys: frozenset[str] | None = None
    """Accepted API keys; None accepts any non-empty key."""
    reject_unknown_messages: bool = True
    """Close with 1007 on a client message with unknown top-level keys (else log and ignore)."""
    seed: int = 0
    """Seed of the synthetic reply audio."""
    tag_transcripts: bool = False
    """Start each reply's output transcription with a tag naming the connection, ``[c17] ``
    (``TRANSCRIPT_TAG``), so that a client's stored transcript tells which connection it had."""
    record_timings: bool = False
    """Keep compact timing logs per connection (``ConnectionRecord.timings``), for benchmarks."""

    def __post_init__(self) -> None:
        if min(self.silence_ms, self.vad_block_ms, self.reply_chunk_ms) <= 0:
            raise ValueError("silence_ms, vad_block_ms and reply_chunk_ms must be positive")
        if self.speech_start_ms < 0 or self.reply_latency_ms < 0:
            raise ValueError("speech_start_ms and reply_latency_ms must not be negative")
        if not self.words_per_second > 0:
            raise ValueError("words_per_second must be positive")
        if not self.caller_phrases or not self.replies:
            raise ValueError("caller_phrases and replies must not be empty")
