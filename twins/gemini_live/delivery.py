"""When each message of a spoken reply is due: audio in bursts, transcription in fragments.

Pure: from a ``ReplyPlan`` and the options, the reply's messages with the time each is due,
in seconds after the reply started to be generated. ``speaking.py`` sends them on time.

- Audio is cut into chunks (fixed, or of varying length), chunks are grouped into bursts sent
  back to back, and a burst is due once generation, running at ``Pacing.speed`` times real time
  after the first ``burst_ms``, has reached it. Chunks of one burst may share a message
  (``WireVariants.audio_parts``).
- The output transcription is cut into fragments of a few words, independently of the audio,
  each due ``Transcripts.output_offset_ms`` after the audio message in which its first word
  starts: later (lagging) or earlier (leading), never after the last audio.
"""

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from twins.gemini_live.brain import ReplyPlan
from twins.gemini_live.events import OUTPUT_RATE
from twins.gemini_live.options import IntRange, Pacing, Transcripts

_BYTES_PER_MS = 2 * OUTPUT_RATE / 1000.0


@dataclass(frozen=True)
class AudioOut:
    """One audio message: its chunks (one part each)."""

    at_s: float
    pcms: tuple[bytes, ...]

    @property
    def ms(self) -> float:
        return sum(len(pcm) for pcm in self.pcms) / _BYTES_PER_MS


@dataclass(frozen=True)
class TextOut:
    """One output transcription message."""

    at_s: float
    text: str


Outgoing = AudioOut | TextOut


@dataclass(frozen=True)
class Delivery:
    """The options a reply's schedule depends on."""

    pacing: Pacing
    chunk_ms: int
    """The fixed chunk length, unless ``pacing.chunk_range_ms`` varies it."""
    transcripts: Transcripts
    audio_parts: int = 1
    transcribe: bool = True
    tag: str = ""
    """Put before the first transcription fragment."""
    text_before_last_audio: bool = False
    """No transcription after the last audio message (it carries the turn's end flags)."""


def schedule(plan: ReplyPlan, delivery: Delivery, rng: random.Random) -> list[Outgoing]:
    """The messages of ``plan`` in the order they are sent, each with the time it is due."""
    pacing = delivery.pacing
    chunks = _cut(plan.pcm, delivery.chunk_ms, pacing.chunk_range_ms, rng)
    audio = _group(chunks, _due_times(chunks, pacing, rng), delivery.audio_parts)
    if not delivery.transcribe or not plan.words:
        return list(audio)
    texts = _fragments(plan, audio, delivery, rng)
    ordered = [item for _, item in sorted(texts + _keyed(audio), key=lambda pair: pair[0])]
    if delivery.text_before_last_audio:
        last = max(i for i, item in enumerate(ordered) if isinstance(item, AudioOut))
        ordered = [*ordered[:last], *ordered[last + 1 :], ordered[last]]
    return ordered


def _cut(pcm: bytes, chunk_ms: int, varying: IntRange | None, rng: random.Random) -> list[bytes]:
    chunks = []
    start = 0
    while start < len(pcm):
        ms = chunk_ms if varying is None else rng.randint(*varying)
        size = max(2, 2 * round(ms * _BYTES_PER_MS / 2))
        chunks.append(pcm[start : start + size])
        start += size
    return chunks or [b""]


def _due_times(chunks: Sequence[bytes], pacing: Pacing, rng: random.Random) -> list[float]:
    """When each chunk is due: smoothly, or with every chunk of a burst due at its start."""
    due: list[float] = []
    start_ms = 0.0
    burst_end_ms = -1.0
    burst_due = 0.0
    for chunk in chunks:
        generated = max(0.0, start_ms - pacing.burst_ms)
        at = 0.0 if math.isinf(pacing.speed) else generated / 1000.0 / pacing.speed
        if pacing.burst_range_ms is None:
            burst_due = at
        elif start_ms >= burst_end_ms and start_ms > pacing.burst_ms:
            burst_due = at
            burst_end_ms = start_ms + rng.randint(*pacing.burst_range_ms)
        due.append(burst_due)
        start_ms += len(chunk) / _BYTES_PER_MS
    return due


def _group(chunks: Sequence[bytes], due: Sequence[float], parts: int) -> list[AudioOut]:
    """Chunks due at the same time share messages of up to ``parts`` chunks."""
    messages: list[AudioOut] = []
    pending: list[bytes] = []
    for i, chunk in enumerate(chunks):
        pending.append(chunk)
        last = i + 1 == len(chunks) or due[i + 1] != due[i]
        if last or len(pending) == parts:
            messages.append(AudioOut(due[i], tuple(pending)))
            pending = []
    return messages


Key = tuple[float, int, int, int]


def _keyed(audio: Sequence[AudioOut]) -> list[tuple[Key, Outgoing]]:
    return [((item.at_s, index, 0, 0), item) for index, item in enumerate(audio)]


def _fragments(
    plan: ReplyPlan, audio: Sequence[AudioOut], delivery: Delivery, rng: random.Random
) -> list[tuple[Key, Outgoing]]:
    """Transcription fragments, each keyed to sort after (or, when leading, before) the audio
    message in which its first word starts."""
    ends_ms = []
    total = 0.0
    for item in audio:
        total += item.ms
        ends_ms.append(total)
    last_due = audio[-1].at_s
    low, high = delivery.transcripts.output_offset_ms
    found: list[tuple[Key, Outgoing]] = []
    previous: Key = (0.0, 0, -1, -1)
    first = 0
    while first < len(plan.words):
        count = rng.randint(*delivery.transcripts.output_fragment_words)
        words = plan.words[first : first + count]
        text = (delivery.tag if first == 0 else "") + "".join(words)
        anchor = _containing(ends_ms, plan.word_starts_ms[first])
        offset_ms = rng.randint(low, high) if low < high else low
        at = min(last_due, max(0.0, audio[anchor].at_s + offset_ms / 1000.0))
        key = (at, anchor, -1 if offset_ms < 0 else 1, first)
        if key < previous:  # the text itself stays in order
            key = (*previous[:3], first)
        found.append((key, TextOut(key[0], text)))
        previous = key
        first += count
    return found


def _containing(ends_ms: Sequence[float], at_ms: float) -> int:
    """The index of the audio message whose span contains ``at_ms`` (the last one if none)."""
    for index, end in enumerate(ends_ms):
        if at_ms < end:
            return index
    return len(ends_ms) - 1
