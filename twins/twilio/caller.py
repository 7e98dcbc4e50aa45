"""The simulated caller: runs a script on the 20 ms frame clock and says what to send.

Pure and synchronous. The stream calls :meth:`Caller.tick` once per frame slot with the slot's
time and the state of the playback buffer; the caller advances its script and hands back the
frame to send (speech or silence) plus any DTMF digits and whether to hang up.

Audio is cut into frames, and each frame base64-encoded, once: generated speech and line noise
are shared by every caller that uses the same step (same length, seed and level).
"""

from __future__ import annotations

import base64
import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from telephony.audio import ULAW_SILENCE, pcm16_to_ulaw
from twins.speech import SPEECH_LEVEL_DBFS, speech_like
from twins.twilio.playout import PlayoutState
from twins.twilio.protocol import FRAME_BYTES, SAMPLE_RATE
from twins.twilio.script import (
    Dtmf,
    Hangup,
    Interrupt,
    Silence,
    Speak,
    SpeakWav,
    Step,
    WaitForReply,
)
from twins.twilio.wavfile import read_wav

logger = logging.getLogger(__name__)

Outcome = Literal["done", "timeout"]
_EPSILON = 1e-9


@dataclass
class StepRecord:
    """How one script step went; times are monotonic seconds (frame slots)."""

    index: int
    step: Step
    started: float
    finished: float | None = None
    outcome: Outcome | None = None


@dataclass(frozen=True)
class Frames:
    """Audio cut into 20 ms frames (the last one padded with silence), each also in base64."""

    frames: tuple[bytes, ...]
    encoded: tuple[str, ...]

    @classmethod
    def of(cls, ulaw: bytes) -> Frames:
        padded = ulaw + bytes([ULAW_SILENCE]) * (-len(ulaw) % FRAME_BYTES)
        frames = tuple(padded[i : i + FRAME_BYTES] for i in range(0, len(padded), FRAME_BYTES))
        return cls(frames, tuple(base64.b64encode(frame).decode("ascii") for frame in frames))

    def __len__(self) -> int:
        return len(self.frames)


_NO_AUDIO = Frames((), ())


@dataclass
class Tick:
    """What to do in one frame slot."""

    frame: bytes
    speaking: bool
    encoded: str = ""
    """``frame`` in base64 (as it goes in a ``media`` message)."""
    speech_started: bool = False
    speech_ended: bool = False
    dtmf: list[str] = field(default_factory=list)
    hang_up: bool = False
    steps_started: list[StepRecord] = field(default_factory=list)
    steps_finished: list[StepRecord] = field(default_factory=list)


class _Replies:
    """Agent replies as the caller perceives them: played audio, gaps under ``gap_s`` merged."""

    def __init__(self, gap_s: float) -> None:
        self.gap_s = gap_s
        self.index = 0  # replies seen so far; the current or last one
        self.active = False
        self.ended_index = 0
        self.played_samples = 0  # in the current reply
        self._last_total = 0

    def update(self, now: float, state: PlayoutState) -> None:
        delta = state.played_samples - self._last_total
        self._last_total = state.played_samples
        if state.playing or delta > 0:
            if not self.active:
                self.active = True
                self.index += 1
                self.played_samples = 0
            self.played_samples += delta
        if (
            self.active
            and not state.playing
            and state.idle_since is not None
            and now - state.idle_since >= self.gap_s - _EPSILON
        ):
            self.active = False
            self.ended_index = self.index

    def target(self) -> int:
        """The reply a step beginning now waits for: the one in progress, else the next."""
        return self.index if self.active else self.index + 1


class Caller:
    """Runs a caller script; one instance per call."""

    def __init__(
        self,
        script: Sequence[Step],
        *,
        seed: int = 0,
        reply_gap_ms: float = 400.0,
        comfort_noise_dbfs: float | None = None,
        hang_up_at_end: bool = True,
    ) -> None:
        self._steps = list(script)
        self._audio = {i: self._prepare(i, step, seed) for i, step in enumerate(self._steps)}
        self._replies = _Replies(reply_gap_ms / 1000)
        self._hang_up_at_end = hang_up_at_end
        self._silence = _comfort_noise(comfort_noise_dbfs, seed)
        self._silence_offset = 0
        self._utterance = _NO_AUDIO
        self._offset = 0  # frames of the utterance sent
        self._index = 0
        self._current: StepRecord | None = None
        self._target = 0
        self._spoke = False
        self._dtmf_sent = 0
        self.records: list[StepRecord] = []
        self.hung_up = False

    @staticmethod
    def _prepare(index: int, step: Step, seed: int) -> Frames:
        if isinstance(step, Speak):
            own_seed = seed + index if step.seed is None else step.seed
            return _speech(step.seconds, own_seed, step.level_dbfs)
        if isinstance(step, Interrupt):
            own_seed = seed + index if step.seed is None else step.seed
            return _speech(step.speak_s, own_seed, SPEECH_LEVEL_DBFS)
        if isinstance(step, SpeakWav):
            return Frames.of(pcm16_to_ulaw(read_wav(step.path).astype("<i2").tobytes()))
        return _NO_AUDIO

    @property
    def speaking(self) -> bool:
        return self._offset < len(self._utterance)

    def tick(self, now: float, playback: PlayoutState) -> Tick:
        """Advance the script to the frame slot at ``now`` and return what to send in it."""
        self._replies.update(now, playback)
        tick = Tick(frame=b"", speaking=False)
        while not tick.hang_up and not self.hung_up:
            if self._current is None:
                if self._index >= len(self._steps):
                    tick.hang_up = self._hang_up_at_end
                    break
                self._current = StepRecord(self._index, self._steps[self._index], now)
                self._begin(self._current.step)
                self.records.append(self._current)
                tick.steps_started.append(self._current)
            outcome = self._poll(self._current, now, tick)
            if outcome is None:
                break
            self._current.finished, self._current.outcome = now, outcome
            tick.steps_finished.append(self._current)
            if outcome == "timeout":
                logger.info("caller step %d timed out", self._current.index)
            tick.hang_up = isinstance(self._current.step, Hangup)
            self._current = None
            self._index += 1
        if tick.hang_up:
            self.hung_up = True
            return tick
        self._fill_frame(tick)
        return tick

    def _begin(self, step: Step) -> None:
        self._spoke = False
        self._dtmf_sent = 0
        if isinstance(step, WaitForReply | Interrupt):
            self._target = self._replies.target()

    def _poll(self, record: StepRecord, now: float, tick: Tick) -> Outcome | None:
        step = record.step
        elapsed = now - record.started + _EPSILON
        if isinstance(step, Speak | SpeakWav):
            return self._speak_until_done(record.index)
        if isinstance(step, Silence):
            return "done" if elapsed >= step.seconds else None
        if isinstance(step, WaitForReply):
            if self._replies.ended_index >= self._target:
                return "done"
            return "timeout" if elapsed >= step.timeout else None
        if isinstance(step, Interrupt):
            return self._interrupt(record, step, elapsed)
        if isinstance(step, Dtmf):
            while self._dtmf_sent < len(step.digits) and (
                elapsed >= self._dtmf_sent * step.gap_ms / 1000
            ):
                tick.dtmf.append(step.digits[self._dtmf_sent])
                self._dtmf_sent += 1
            return "done" if self._dtmf_sent == len(step.digits) else None
        return "done"  # Hangup

    def _speak_until_done(self, index: int) -> Outcome | None:
        if not self._spoke:
            self._spoke = True
            self._utterance, self._offset = self._audio[index], 0
        return None if self.speaking else "done"

    def _interrupt(self, record: StepRecord, step: Interrupt, elapsed: float) -> Outcome | None:
        if self._spoke:
            if self.speaking:
                return None
            return record.outcome or "done"
        replies = self._replies
        reached = (
            replies.active
            and replies.index >= self._target
            and replies.played_samples * 1000 / SAMPLE_RATE >= step.after_ms - _EPSILON
        )
        if not reached and elapsed < step.timeout:
            return None
        if not reached:
            record.outcome = "timeout"
        return self._speak_until_done(record.index)

    def _fill_frame(self, tick: Tick) -> None:
        if self.speaking:
            offset = self._offset
            tick.speech_started = offset == 0
            tick.frame = self._utterance.frames[offset]
            tick.encoded = self._utterance.encoded[offset]
            self._offset = offset + 1
            tick.speaking = True
            tick.speech_ended = not self.speaking
            return
        offset = self._silence_offset
        tick.frame = self._silence.frames[offset]
        tick.encoded = self._silence.encoded[offset]
        self._silence_offset = (offset + 1) % len(self._silence)


@functools.lru_cache(maxsize=256)
def _speech(seconds: float, seed: int, level_dbfs: float) -> Frames:
    pcm = speech_like(seconds, SAMPLE_RATE, seed=seed, level_dbfs=level_dbfs)
    return Frames.of(pcm16_to_ulaw(pcm.astype("<i2").tobytes()))


def _comfort_noise(level_dbfs: float | None, seed: int) -> Frames:
    """One second of line noise to send between utterances, or digital silence (0xFF)."""
    return _digital_silence() if level_dbfs is None else _line_noise(level_dbfs, seed)


@functools.cache
def _digital_silence() -> Frames:
    return Frames.of(bytes([ULAW_SILENCE]) * SAMPLE_RATE)


@functools.lru_cache(maxsize=64)
def _line_noise(level_dbfs: float, seed: int) -> Frames:
    rng = np.random.default_rng(seed ^ 0x5EED)
    noise = rng.normal(0.0, 32768 * 10 ** (level_dbfs / 20), SAMPLE_RATE)
    pcm = np.clip(np.round(noise), -32768, 32767).astype("<i2")
    return Frames.of(pcm16_to_ulaw(pcm.tobytes()))
