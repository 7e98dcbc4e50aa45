"""The model's ears on one connection: when the caller speaks, and what it transcribes.

Speech is found by energy-based voice activity detection tuned by the setup's
``realtimeInputConfig`` (start and end sensitivities, ``prefixPaddingMs``, ``silenceDurationMs``),
or, when automatic detection is disabled, by the client's ``activityStart`` / ``activityEnd``.
The input transcription of a caller turn is cut into fragments (``CallerSpeech``) sent while the
caller speaks or when the turn ends (``options.Transcripts``); the last may be held back until
the reply has begun.
"""

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from twins.gemini_live import messages
from twins.gemini_live.config import EmulatorConfig
from twins.gemini_live.conversation import Exchange
from twins.gemini_live.events import ActivityDetection, JsonObject, ModelStyle
from twins.gemini_live.options import Transcripts
from twins.gemini_live.steps import WhileCallerSpeaks
from twins.gemini_live.vad import EnergyVad, SpeechEnded, SpeechStarted, VadEvent

if TYPE_CHECKING:
    from twins.gemini_live.session import Session

LOW_SENSITIVITY_FACTOR = 2.0
"""A ``LOW`` sensitivity needs this many times the configured speech (start) or silence (end).
The Gemini API defaults to ``HIGH`` for both (google-genai ``StartSensitivity``): the
configured values."""
LOW_START_EXTRA_DB = 6.0
"""A ``LOW`` start sensitivity also needs audio this much louder than the configured threshold."""
_LOW = "_LOW"


@dataclass(frozen=True)
class VadSettings:
    threshold_dbfs: float
    start_ms: float
    end_ms: float


def vad_settings(config: EmulatorConfig, activity: ActivityDetection) -> VadSettings:
    """The detector's settings: the configuration's, as the setup adjusts them."""
    low_start = (activity.start_sensitivity or "").endswith(_LOW)
    low_end = (activity.end_sensitivity or "").endswith(_LOW)
    start_ms = config.speech_start_ms * (LOW_SENSITIVITY_FACTOR if low_start else 1.0)
    end_ms = config.silence_ms * (LOW_SENSITIVITY_FACTOR if low_end else 1.0)
    return VadSettings(
        threshold_dbfs=config.vad_threshold_dbfs + (LOW_START_EXTRA_DB if low_start else 0.0),
        start_ms=start_ms if activity.prefix_padding_ms is None else activity.prefix_padding_ms,
        end_ms=end_ms if not activity.silence_duration_ms else activity.silence_duration_ms,
    )


class CallerSpeech:
    """The input transcription of one caller turn, cut into fragments.

    Word ``i`` is said by ``(i + 1) / caller_words_per_second`` of the caller's speech; a
    fragment is due ``input_lag_ms`` after its last word was said.
    """

    def __init__(self, text: str, transcripts: Transcripts, rng: random.Random) -> None:
        self.text = text
        words = text.split()
        rate = transcripts.caller_words_per_second
        self._fragments: list[tuple[str, float]] = []
        first = 0
        while first < len(words):
            count = rng.randint(*transcripts.input_fragment_words)
            piece = " ".join(words[first : first + count])
            last = min(first + count, len(words))
            due_ms = last / rate * 1000.0 + transcripts.input_lag_ms
            self._fragments.append((piece if first == 0 else " " + piece, due_ms))
            first += count
        self._next = 0
        self.spoken_ms = 0.0

    def advance(self, ms: float) -> list[str]:
        """``ms`` more of the caller's speech were heard: the fragments now due."""
        self.spoken_ms += ms
        due = []
        while self._next < len(self._fragments):
            piece, due_ms = self._fragments[self._next]
            if due_ms > self.spoken_ms:
                break
            due.append(piece)
            self._next += 1
        return due

    def rest(self) -> list[str]:
        """The turn ended: every fragment not sent yet."""
        rest = [piece for piece, _ in self._fragments[self._next :]]
        self._next = len(self._fragments)
        return rest


class Listener:
    """Detects the caller's turns on one session and sends their transcription."""

    def __init__(self, session: "Session", rng: random.Random) -> None:
        self._session = session
        self._rng = rng
        self._config = session.shared.config
        self._speech: CallerSpeech | None = None
        self._exchange: Exchange | None = None
        self._activity = ActivityDetection()
        self._vad = self._detector()

    def configure(self, activity: ActivityDetection) -> None:
        """Apply the setup's ``realtimeInputConfig``."""
        self._activity = activity
        self._vad = self._detector()

    async def audio(self, pcm: bytes, rate: int, ms: float) -> None:
        """Caller audio arrived (``ms`` long)."""
        if self._speech is not None:
            await self._stream(self._speech, ms)
        if not self._activity.disabled:
            await self._on_vad(self._vad.feed(pcm, rate))

    async def activity_start(self) -> None:
        if self._activity.disabled and self._speech is None:
            await self._began(0.0)

    async def activity_end(self) -> None:
        if self._activity.disabled:
            if self._speech is None:
                await self._began(0.0)
            await self._ended()

    async def stream_end(self) -> None:
        """``audioStreamEnd``: the client sends no more audio for now."""
        await self._on_vad(self._vad.flush())

    async def _on_vad(self, events: list[VadEvent]) -> None:
        for event in events:
            if isinstance(event, SpeechStarted):
                await self._began(self._vad.position_ms - event.at_ms)
            elif isinstance(event, SpeechEnded):
                await self._ended()

    async def _began(self, spoken_ms: float) -> None:
        session = self._session
        heard, self._exchange = session.shared.brain.hear()
        self._speech = CallerSpeech(heard, self._config.transcripts, self._rng)
        await session.turns.caller_started(barge_in=self._activity.interrupts)
        if await session.perform(session.shared.script.take(WhileCallerSpeaks(), session.index)):
            return
        await self._stream(self._speech, spoken_ms)

    async def _ended(self) -> None:
        speech, self._speech = self._speech, None
        if speech is None:
            return
        session = self._session
        rest = [self._message(piece) for piece in self._final_pieces(speech)]
        late = None
        if rest and self._late():
            late = rest.pop()
        await session.turns.caller_finished(
            speech.text, self._exchange, rest, late, interrupts=self._activity.interrupts
        )

    def _final_pieces(self, speech: CallerSpeech) -> list[str]:
        if not self._transcribing:
            return []
        if self._style is ModelStyle.LIVE_3X:
            speech.rest()
            return [speech.text]
        return speech.rest()

    def _late(self) -> bool:
        decided = self._session.shared.script.take_late_input()
        if decided is not None:
            return decided
        chance = self._config.transcripts.late_input
        return chance > 0 and self._rng.random() < chance

    async def _stream(self, speech: CallerSpeech, ms: float) -> None:
        """Send the fragments ``ms`` more of speech make due, if fragments stream."""
        streams = self._transcribing and self._style is ModelStyle.LIVE_25
        if not streams or not self._config.transcripts.input_streaming:
            return  # all of them when the turn ends
        for piece in speech.advance(ms):
            await self._session.send(self._message(piece))

    def _message(self, piece: str) -> JsonObject:
        if self._style is ModelStyle.LIVE_3X:
            return messages.input_transcription(piece, finished=True)
        return messages.input_transcription(piece)

    @property
    def _transcribing(self) -> bool:
        setup = self._session.setup
        return setup is not None and setup.input_transcription

    @property
    def _style(self) -> ModelStyle:
        setup = self._session.setup
        return setup.style if setup is not None else ModelStyle.LIVE_25

    def _detector(self) -> EnergyVad:
        settings = vad_settings(self._config, self._activity)
        return EnergyVad(
            threshold_dbfs=settings.threshold_dbfs,
            start_ms=settings.start_ms,
            end_ms=settings.end_ms,
            block_ms=self._config.vad_block_ms,
        )
