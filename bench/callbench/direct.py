"""A Live API client that talks straight to the emulator: the baseline path, with no server.

It speaks to the emulator the way the server's calls do (the same ``setup``, a text turn that
asks for the greeting, 20 ms ``mediaChunks`` of 16 kHz PCM sent on an absolute schedule, no
per-message compression) and follows the same conversation as the simulated callers
(``conversation``), with its own idea of playback: reply audio "plays" in real time from
arrival, and ``interrupted`` drops what has not played. It keeps the same timing logs as a
simulated call, so both paths are measured under the same load on the emulator.
"""

import asyncio
import base64
import contextlib
import json
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from bench.callbench.conversation import (
    INTERRUPT_AFTER_MS,
    INTERRUPT_SPEAK_S,
    SPEAK_S,
    STEP_TIMEOUT_S,
    VOICES,
    speech_pcm,
)
from bench.callbench.records import DirectData, tagged_connection

MODEL = "models/gemini-2.5-flash-native-audio-preview-12-2025"
"""A 2.5-style Live model, like the default agent's: audio goes in ``mediaChunks``."""
INPUT_RATE = 16000
OUTPUT_RATE = 24000
FRAME_S = 0.020
FRAME_BYTES = INPUT_RATE * 2 // 50
GREETING_CUE = "[The phone call has just been connected. Greet the caller.]"
REPLY_GAP_S = 0.4


def _media_message(pcm: bytes) -> str:
    data = base64.urlsafe_b64encode(pcm).decode("ascii")
    chunk = {"data": data, "mime_type": f"audio/pcm;rate={INPUT_RATE}"}
    return json.dumps({"realtime_input": {"mediaChunks": [chunk]}})


def _frames(pcm: bytes) -> tuple[str, ...]:
    padded = pcm + bytes(-len(pcm) % FRAME_BYTES)
    return tuple(
        _media_message(padded[i : i + FRAME_BYTES]) for i in range(0, len(padded), FRAME_BYTES)
    )


_SILENCE = _media_message(bytes(FRAME_BYTES))
_SPEECH: dict[tuple[float, int], tuple[str, ...]] = {}


def _speech(seconds: float, seed: int) -> tuple[str, ...]:
    key = (seconds, seed)
    if key not in _SPEECH:
        _SPEECH[key] = _frames(speech_pcm(seconds, seed, INPUT_RATE))
    return _SPEECH[key]


def prepare_speech() -> None:
    """Make every voice's frames now (they are cached), not while the clients run."""
    for caller in range(VOICES):
        for step in _cycle(caller):
            if isinstance(step, _Speak | _Interrupt):
                _speech(step.seconds, step.seed)


class _Ear:
    """Reply audio as the client would play it; gaps under ``REPLY_GAP_S`` do not end a reply."""

    def __init__(self) -> None:
        self.replies = 0
        self._play_end: float | None = None
        self._reply_start = 0.0

    def audio(self, now: float, ms: float) -> None:
        if self._play_end is None or now - self._play_end >= REPLY_GAP_S:
            self.replies += 1
            self._reply_start = now
        self._play_end = max(self._play_end or now, now) + ms / 1000.0

    def clear(self, now: float) -> None:
        if self._play_end is not None:
            self._play_end = min(self._play_end, now)

    def active(self, now: float) -> bool:
        """A reply is playing, or paused for less than the gap that ends it."""
        return self._play_end is not None and now - self._play_end < REPLY_GAP_S

    def played_ms(self, now: float) -> float:
        if self._play_end is None:
            return 0.0
        return (min(now, self._play_end) - self._reply_start) * 1000.0


@dataclass(frozen=True)
class _Listen:
    pass


@dataclass(frozen=True)
class _Speak:
    seconds: float
    seed: int


@dataclass(frozen=True)
class _Interrupt:
    after_ms: float
    seconds: float
    seed: int


_Step = _Listen | _Speak | _Interrupt


def _cycle(caller: int) -> list[_Step]:
    seed = 100 * (caller % VOICES)
    cycle: list[_Step] = [
        _Speak(SPEAK_S, seed + 1),
        _Listen(),
        _Speak(SPEAK_S, seed + 2),
        _Interrupt(INTERRUPT_AFTER_MS, INTERRUPT_SPEAK_S, seed + 3),
        _Listen(),
    ]
    return cycle[2:] + cycle[:2] if caller % 2 else cycle


def _steps(caller: int) -> Iterator[_Step]:
    """The same conversation as ``conversation.caller_script``, endlessly."""
    cycle = _cycle(caller)
    yield _Listen()  # the greeting
    while True:
        yield from cycle


class DirectCaller:
    """One baseline client; ``run`` talks until ``end_t`` and returns its timing logs."""

    def __init__(
        self, caller: int, *, url: str, ssl_context: ssl.SSLContext, api_key: str, end_t: float
    ) -> None:
        self._url = url
        self._ssl = ssl_context
        self._api_key = api_key
        self._end_t = end_t
        self._ear = _Ear()
        self._steps = _steps(caller)
        self._step: _Step = _Listen()
        self._step_start = 0.0
        self._target = 1
        self._utterance: tuple[str, ...] = ()
        self._position = 0
        self._received_ms = 0.0
        self.data = DirectData(connection=None)

    async def run(self) -> DirectData:
        try:
            async with connect(
                self._url,
                ssl=self._ssl,
                additional_headers={"x-goog-api-key": self._api_key},
                compression=None,
                ping_interval=None,
                max_size=None,
                proxy=None,
            ) as ws:
                await ws.send(json.dumps({"setup": _setup()}))
                await ws.recv()  # setupComplete
                await ws.send(json.dumps({"client_content": _greeting_cue()}))
                async with asyncio.TaskGroup() as group:
                    receiver = group.create_task(self._receive(ws))
                    await self._send(ws)
                    receiver.cancel()
        except (WebSocketException, OSError) as exc:
            self.data.error = repr(exc)
        return self.data

    async def _send(self, ws: ClientConnection) -> None:
        t0 = time.monotonic()
        self._next_step(t0)
        frame_t = self.data.frame_t
        slot = 0
        while True:
            due = t0 + slot * FRAME_S
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            if due >= self._end_t:
                return
            try:
                await ws.send(self._frame(due))
            except ConnectionClosed as exc:
                self.data.error = f"closed by the emulator: {exc}"
                return
            frame_t.append(time.monotonic())
            slot += 1

    def _frame(self, now: float) -> str:
        """Advance the conversation to the slot at ``now``; the message to send in it."""
        while self._position >= len(self._utterance):
            step = self._step
            timed_out = now - self._step_start >= STEP_TIMEOUT_S
            if self._utterance or (isinstance(step, _Listen) and (self._heard(now) or timed_out)):
                self._next_step(now)
            elif isinstance(step, _Speak) or (
                isinstance(step, _Interrupt) and (self._reached(now, step.after_ms) or timed_out)
            ):
                self._utterance = _speech(step.seconds, step.seed)
            else:
                return _SILENCE
        message = self._utterance[self._position]
        self._position += 1
        return message

    def _next_step(self, now: float) -> None:
        self._step, self._step_start = next(self._steps), now
        self._utterance, self._position = (), 0
        ear = self._ear
        self._target = ear.replies if ear.active(now) else ear.replies + 1

    def _heard(self, now: float) -> bool:
        """The reply the step waits for has played and the line is quiet."""
        return self._ear.replies >= self._target and not self._ear.active(now)

    def _reached(self, now: float, after_ms: float) -> bool:
        ear = self._ear
        return ear.active(now) and ear.replies >= self._target and ear.played_ms(now) >= after_ms

    async def _receive(self, ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in ws:
                self._on_message(raw)

    def _on_message(self, raw: str | bytes) -> None:
        now = time.monotonic()
        data = self.data
        content = json.loads(raw).get("serverContent")
        if content is None:
            return
        turn = content.get("modelTurn")
        if turn is not None:
            for part in turn.get("parts", ()):
                inline = part.get("inlineData")
                if inline is None:
                    continue
                ms = len(base64.b64decode(inline["data"])) / 2 / OUTPUT_RATE * 1000.0
                self._received_ms += ms
                data.media_t.append(now)
                data.media_ms.append(self._received_ms)
                self._ear.audio(now, ms)
        if content.get("interrupted"):
            self._ear.clear(now)
        said = content.get("outputTranscription")
        if data.connection is None and said is not None:
            data.connection = tagged_connection(said.get("text", ""))


def _setup() -> dict[str, object]:
    return {
        "model": MODEL,
        "generationConfig": {"responseModalities": ["AUDIO"]},
        "inputAudioTranscription": {},
        "outputAudioTranscription": {},
        "sessionResumption": {},
    }


def _greeting_cue() -> dict[str, object]:
    return {"turns": [{"role": "user", "parts": [{"text": GREETING_CUE}]}], "turn_complete": True}
