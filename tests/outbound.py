"""A call server wired to the Twilio REST simulator, which places the calls it creates."""

import contextlib
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np

from telephony.audio import ulaw_to_pcm16
from tests.callserver import ACCOUNT_SID, RunningServer, running_server
from twins.speech import speech_like
from twins.twilio import Callee, TwilioRestSim

OUR_NUMBER = "+14155550100"
CALLEE_NUMBER = "+14155550123"
BEEP_HZ = 1000.0
BEEP_S = 0.4


@contextlib.asynccontextmanager
async def dialling_server(
    tmp_path: Path, **settings: Any
) -> AsyncIterator[tuple[RunningServer, TwilioRestSim]]:
    """The server, with REST credentials pointing at the simulator, and the simulator, whose
    callee is set per test (``rest.state.callee = callee(server, ...)``)."""
    token = "f" * 32
    async with TwilioRestSim(account_sid=ACCOUNT_SID, auth_token=token) as rest:
        values: dict[str, Any] = {
            "twilio_api_base_url": rest.url,
            "outbound_from_numbers": OUR_NUMBER,
            "outbound_calls_per_second": 50.0,
        }
        async with running_server(
            f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}",
            auth_token=token,
            **(values | settings),
        ) as server:
            yield server, rest


def callee(server: RunningServer, **options: Any) -> Callee:
    return Callee(server_url=server.base_url, **options)


def greeting_with_beep(path: Path, speech_s: float) -> Path:
    """A voicemail greeting: ``speech_s`` of speech, a short pause, a 1 kHz beep."""
    rate = 8000
    speech = speech_like(speech_s, rate, seed=7).astype(np.float64)
    pause = np.zeros(int(0.2 * rate))
    t = np.arange(int(BEEP_S * rate)) / rate
    beep = 0.3 * 32767 * np.sin(2 * np.pi * BEEP_HZ * t)
    audio = np.concatenate([speech, pause, beep]).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(audio.tobytes())
    return path


def beep_end_s(said_ulaw: bytes) -> float:
    """When the beep ended in what the callee sent (seconds from the stream's start)."""
    samples = np.frombuffer(ulaw_to_pcm16(said_ulaw), "<i2").astype(np.float64)
    frame = 80
    frames = samples[: len(samples) // frame * frame].reshape(-1, frame)
    spectrum = np.abs(np.fft.rfft(frames, axis=1))
    tone_bin = round(BEEP_HZ * frame / 8000)
    tonal = spectrum[:, tone_bin] > 0.5 * spectrum.sum(axis=1)
    loud = np.sqrt(np.mean(frames**2, axis=1)) > 1000
    beeping = np.flatnonzero(tonal & loud)
    return float((beeping[-1] + 1) * frame / 8000)
