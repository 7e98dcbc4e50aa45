"""Audio for the call path: G.711 mu-law and the streaming resamplers between Twilio and the model.

Pure and synchronous; one converter instance per call and direction.

- ``formats``: rates, sample width and frame sizes at each end.
- ``mulaw``: G.711 mu-law encode/decode, bit-exact with ``audioop``.
- ``convert``: ``MulawToPcm16k`` (Twilio -> model) and ``Pcm24kToMulaw`` (model -> Twilio).
- ``resample``: the streaming polyphase resampler underneath, on 16-bit samples.
- ``filters`` and ``remez``: the lowpass filter designs; ``tables``: output look-up tables.
"""

from telephony.audio.convert import MulawToPcm16k, Pcm24kToMulaw, warm_up
from telephony.audio.filters import DEFAULT_PHASE, FilterDesign, Phase
from telephony.audio.formats import (
    FRAME_MS,
    MODEL_INPUT_FRAME_BYTES,
    MODEL_INPUT_RATE,
    MODEL_OUTPUT_FRAME_BYTES,
    MODEL_OUTPUT_RATE,
    PCM16_WIDTH,
    TWILIO_FRAME_BYTES,
    TWILIO_FRAME_SAMPLES,
    TWILIO_RATE,
)
from telephony.audio.mulaw import ULAW_SILENCE, pcm16_to_ulaw, ulaw_to_pcm16
from telephony.audio.resample import Resampler

__all__ = [
    "DEFAULT_PHASE",
    "FRAME_MS",
    "MODEL_INPUT_FRAME_BYTES",
    "MODEL_INPUT_RATE",
    "MODEL_OUTPUT_FRAME_BYTES",
    "MODEL_OUTPUT_RATE",
    "PCM16_WIDTH",
    "TWILIO_FRAME_BYTES",
    "TWILIO_FRAME_SAMPLES",
    "TWILIO_RATE",
    "ULAW_SILENCE",
    "FilterDesign",
    "MulawToPcm16k",
    "Pcm24kToMulaw",
    "Phase",
    "Resampler",
    "pcm16_to_ulaw",
    "ulaw_to_pcm16",
    "warm_up",
]
