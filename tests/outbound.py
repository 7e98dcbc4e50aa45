"""A call server wired to the Twilio REST simulator, which places the calls it creates."""

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np

from telephony.audio import ulaw_to_pcm16
from tests.callserver import ACCOUNT_SID, RunningServer, running_server
from twins.speech import tone_end_s, voicemail_greeting
from twins.twilio import Callee, TwilioRestSim
from twins.twilio.wavfile import write_wav

OUR_NUMBER = "+14155550100"
CALLEE_NUMBER = "+14155550123"


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
    """A voicemail greeting as a WAV file: ``speech_s`` of speech, a short pause, a beep."""
    write_wav(path, voicemail_greeting(speech_s, 8000).tobytes())
    return path


def beep_end_s(said_ulaw: bytes) -> float:
    """When the beep ended in what the callee sent (seconds from the stream's start)."""
    found = tone_end_s(np.frombuffer(ulaw_to_pcm16(said_ulaw), "<i2"), 8000)
    assert found is not None, "the callee sent no beep"
    return found
