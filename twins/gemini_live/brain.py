"""The default conversational behaviour: what the emulated model hears, says and counts.

Not a language model. It "hears" the next caller phrase from a list, answers with the next reply
from another list (or what the script asks for), and speaks it as speech-like 24 kHz audio whose
length follows from the word count at a fixed speaking rate. Each word's transcription is tied to
the audio chunk in which the word starts, so transcription and audio stay in step as a real voice
model's do.
"""

import dataclasses
import functools
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

from twins.gemini_live.config import EmulatorConfig
from twins.gemini_live.events import OUTPUT_RATE
from twins.gemini_live.messages import Usage
from twins.gemini_live.script import Script
from twins.speech import speech_like

AUDIO_TOKENS_PER_SECOND = 32
TOKENS_PER_WORD = 1.3
_SEEDS = 8  # distinct reply voices; audio is cached per (duration, seed)


@dataclass(frozen=True)
class ReplyChunk:
    """One audio message of a reply and the transcription pieces sent with it."""

    pcm: bytes
    words: tuple[str, ...]


@dataclass(frozen=True)
class ReplyPlan:
    text: str
    chunks: tuple[ReplyChunk, ...]

    @property
    def audio_ms(self) -> float:
        return sum(len(c.pcm) for c in self.chunks) / 2 / OUTPUT_RATE * 1000.0


def plan_reply(text: str, *, words_per_second: float, chunk_ms: int, seed: int) -> ReplyPlan:
    """Cut the spoken ``text`` into ``chunk_ms`` audio chunks with the words each one starts."""
    words = text.split()
    duration_ms = max(1, math.ceil(len(words) / words_per_second * 1000.0))
    pcm = _speech(duration_ms, seed)
    chunk_bytes = 2 * OUTPUT_RATE * chunk_ms // 1000
    count = max(1, math.ceil(len(pcm) / chunk_bytes))
    pieces: list[list[str]] = [[] for _ in range(count)]
    for i, word in enumerate(words):
        start_ms = i / words_per_second * 1000.0
        pieces[min(count - 1, int(start_ms // chunk_ms))].append(word if i == 0 else " " + word)
    chunks = tuple(
        ReplyChunk(pcm[i * chunk_bytes : (i + 1) * chunk_bytes], tuple(pieces[i]))
        for i in range(count)
    )
    return ReplyPlan(text, chunks)


@functools.lru_cache(maxsize=256)
def _speech(duration_ms: int, seed: int) -> bytes:
    return speech_like(duration_ms / 1000.0, OUTPUT_RATE, seed=seed).astype("<i2").tobytes()


def text_tokens(text: str) -> int:
    return math.ceil(len(text.split()) * TOKENS_PER_WORD)


def audio_tokens(ms: float) -> int:
    return math.ceil(ms / 1000.0 * AUDIO_TOKENS_PER_SECOND)


@dataclass
class Conversation:
    """The model's memory of one session: what a resumption handle restores."""

    turns: int = 0
    context_text_tokens: int = 0
    context_audio_tokens: int = 0
    spoke: bool = False

    def snapshot(self) -> "Conversation":
        return dataclasses.replace(self)

    def heard_text(self, text: str) -> None:
        self.context_text_tokens += text_tokens(text)

    def heard_audio(self, ms: float) -> None:
        self.context_audio_tokens += audio_tokens(ms)

    def spoke_reply(self, plan: ReplyPlan) -> Usage:
        """Count a finished reply; return the usage of the turn that produced it."""
        usage = Usage(
            prompt_text=self.context_text_tokens,
            prompt_audio=self.context_audio_tokens,
            response_audio=audio_tokens(plan.audio_ms),
        )
        self.context_audio_tokens += usage.response_audio
        self.turns += 1
        self.spoke = True
        return usage


class Brain:
    """Chooses transcriptions and replies; shared by all connections of one emulator."""

    def __init__(self, config: EmulatorConfig, script: Script) -> None:
        self._config = config
        self._script = script
        self._phrases = itertools.cycle(config.caller_phrases)
        self._replies = itertools.cycle(config.replies)
        self._filler = itertools.cycle(" ".join(config.replies).split())
        self._seeds = itertools.count()

    def hear(self) -> str:
        """What the caller said in the turn that just ended."""
        return self._script.take_transcription() or next(self._phrases)

    def reply_text(self, *, opening: bool) -> str:
        """The next reply; ``opening`` when it answers a text turn at the start of a session."""
        spec = self._script.take_reply()
        if spec is not None:
            if spec.text is not None:
                return spec.text
            assert spec.words is not None
            return " ".join(next(self._filler) for _ in range(spec.words)).rstrip(".,?!") + "."
        if opening and self._config.greeting:
            return self._config.greeting
        return next(self._replies)

    def prepare(self) -> None:
        """Synthesize the greeting and every reply in every voice now (the audio is cached), so
        that no reply waits for synthesis, and no synthesis competes with serving, later."""
        config = self._config
        texts = dict.fromkeys(
            (config.greeting, *config.replies) if config.greeting else config.replies
        )
        for text in texts:
            for voice in range(_SEEDS):
                plan_reply(
                    text,
                    words_per_second=config.words_per_second,
                    chunk_ms=config.reply_chunk_ms,
                    seed=config.seed + voice,
                )

    def planner(self, text: str) -> Callable[[], ReplyPlan]:
        """A function that synthesizes ``text``: CPU-bound, so call it off the event loop."""
        return functools.partial(
            plan_reply,
            text,
            words_per_second=self._config.words_per_second,
            chunk_ms=self._config.reply_chunk_ms,
            seed=self._config.seed + next(self._seeds) % _SEEDS,
        )
