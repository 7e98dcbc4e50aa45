"""The default conversational behaviour: what the emulated model hears, says and counts.

Not a language model. It follows the configured ``Conversation``: the caller's next turn is heard
as the next exchange's caller phrase, the model answers with its reply (or what the script asks
for), and speaks it as speech-like 24 kHz audio whose length follows from the word count at a
fixed speaking rate. Each word starts at a known point of that audio, so transcriptions can be
sent in step with the audio, or deliberately out of step (``delivery.py``).
"""

import dataclasses
import functools
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

from twins.gemini_live.config import EmulatorConfig
from twins.gemini_live.conversation import Exchange
from twins.gemini_live.events import OUTPUT_RATE
from twins.gemini_live.messages import Usage
from twins.gemini_live.script import Script
from twins.speech import speech_like

AUDIO_TOKENS_PER_SECOND = 32
TOKENS_PER_WORD = 1.3
_SEEDS = 8  # distinct reply voices; audio is cached per (duration, seed)


@dataclass(frozen=True)
class ReplyPlan:
    """A reply to speak: its audio and where in it each word starts."""

    text: str
    pcm: bytes
    words: tuple[str, ...]
    """The words as transcription pieces: every word after the first has its leading space."""
    word_starts_ms: tuple[float, ...]

    @property
    def audio_ms(self) -> float:
        return len(self.pcm) / 2 / OUTPUT_RATE * 1000.0


def plan_reply(text: str, *, words_per_second: float, seed: int) -> ReplyPlan:
    """Synthesize ``text`` spoken at ``words_per_second``: word ``i`` starts at ``i / rate``."""
    words = text.split()
    duration_ms = max(1, math.ceil(len(words) / words_per_second * 1000.0))
    return ReplyPlan(
        text,
        _speech(duration_ms, seed),
        tuple(word if i == 0 else " " + word for i, word in enumerate(words)),
        tuple(i / words_per_second * 1000.0 for i in range(len(words))),
    )


@functools.lru_cache(maxsize=256)
def _speech(duration_ms: int, seed: int) -> bytes:
    return speech_like(duration_ms / 1000.0, OUTPUT_RATE, seed=seed).astype("<i2").tobytes()


def text_tokens(text: str) -> int:
    return math.ceil(len(text.split()) * TOKENS_PER_WORD)


def audio_tokens(ms: float) -> int:
    return math.ceil(ms / 1000.0 * AUDIO_TOKENS_PER_SECOND)


@dataclass
class Memory:
    """The model's memory of one session: what a resumption handle restores."""

    turns: int = 0
    context_text_tokens: int = 0
    context_audio_tokens: int = 0
    spoke: bool = False

    def snapshot(self) -> "Memory":
        return dataclasses.replace(self)

    def heard_text(self, text: str) -> None:
        self.context_text_tokens += text_tokens(text)

    def heard_audio(self, ms: float) -> None:
        self.context_audio_tokens += audio_tokens(ms)

    def usage(self, audio_ms: float) -> Usage:
        """The usage of a turn that spoke ``audio_ms`` of audio, given what was heard so far."""
        return Usage(
            prompt_text=self.context_text_tokens,
            prompt_audio=self.context_audio_tokens,
            response_audio=audio_tokens(audio_ms),
        )

    def spoke_turn(self, usage: Usage) -> None:
        """Count a completed turn whose usage was ``usage``."""
        self.context_audio_tokens += usage.response_audio
        self.turns += 1
        self.spoke = True


class Brain:
    """Chooses what is heard and said; shared by all connections of one emulator, so that the
    conversation goes on across resumptions and agent hand-overs."""

    def __init__(self, config: EmulatorConfig, script: Script) -> None:
        self._config = config
        self._script = script
        conversation = config.conversation
        self._exchanges = itertools.cycle(conversation.exchanges)
        self._filler = itertools.cycle(" ".join(conversation.texts).split())
        self._seeds = itertools.count()

    def hear(self) -> tuple[str, Exchange]:
        """The caller's next turn: what they are heard to say (the script may set it) and the
        exchange the model answers it with."""
        exchange = self.next_exchange()
        return self._script.take_transcription() or exchange.caller, exchange

    def next_exchange(self) -> Exchange:
        """The exchange that answers the next input (spoken or typed)."""
        return next(self._exchanges)

    def reply_text(self, exchange: Exchange | None, *, opening: bool, result: str | None) -> str:
        """The next reply: scripted, the greeting when ``opening``, or ``exchange``'s answer
        (with the tool's ``result``); with no exchange, the next exchange's answer."""
        spec = self._script.take_reply()
        if spec is not None:
            if spec.text is not None:
                return spec.text
            assert spec.words is not None
            return " ".join(next(self._filler) for _ in range(spec.words)).rstrip(".,?!") + "."
        greeting = self._config.conversation.greeting
        if opening and greeting:
            return greeting
        return (exchange or self.next_exchange()).answer(result)

    def prepare(self) -> None:
        """Synthesize every text of the conversation in every voice now (the audio is cached),
        so that no reply waits for synthesis, and no synthesis competes with serving, later."""
        for text in self._config.conversation.texts:
            for voice in range(_SEEDS):
                plan_reply(
                    text,
                    words_per_second=self._config.words_per_second,
                    seed=self._config.seed + voice,
                )

    def planner(self, text: str) -> Callable[[], ReplyPlan]:
        """A function that synthesizes ``text``: CPU-bound, so call it off the event loop."""
        return functools.partial(
            plan_reply,
            text,
            words_per_second=self._config.words_per_second,
            seed=self._config.seed + next(self._seeds) % _SEEDS,
        )
