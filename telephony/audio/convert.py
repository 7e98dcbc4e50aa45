"""The two per-call audio converters between Twilio and the model.

- ``MulawToPcm16k``: Twilio -> model, 8 kHz mu-law to 16 kHz PCM16 little-endian.
- ``Pcm24kToMulaw``: model -> Twilio, 24 kHz PCM16 little-endian to 8 kHz mu-law.

Each keeps its filter state between calls, so audio converted in chunks of any size is
identical, byte for byte, to the same audio converted in one piece. Neither holds audio back:
``convert`` returns every output sample whose instant its input reaches, computed from that
input and earlier input only (a causal filter, see ``resample``), so a 20 ms frame in gives its
own 20 ms out, the first frame included. Use one instance per call and direction; ``flush`` ends
a stream and starts afresh (it has nothing left to return), and ``reset`` drops the state
(for example when playback is cut off).
"""

import numpy as np

from telephony.audio.filters import DEFAULT_PHASE, FilterDesign, Phase
from telephony.audio.formats import MODEL_INPUT_RATE, MODEL_OUTPUT_RATE, TWILIO_RATE
from telephony.audio.resample import Resampler
from telephony.audio.tables import pcm16_encoder, ulaw_decoder, ulaw_encoder


class MulawToPcm16k:
    """Twilio -> model: 8 kHz mu-law in, 16 kHz PCM16 LE out (two samples per input byte).

    Input sample ``k`` gives output samples ``2k`` (its own instant) and ``2k + 1`` (half an
    input period later), both from inputs ``k`` and earlier: a 160-byte Twilio frame gives
    exactly its own 640 bytes, and a click at byte ``i`` of a frame starts at output sample
    ``2i`` of the same call's output.
    """

    def __init__(self, *, phase: Phase = DEFAULT_PHASE) -> None:
        self._resampler = Resampler(MODEL_INPUT_RATE // TWILIO_RATE, 1, phase=phase)
        self._decoder = ulaw_decoder()
        self._encoder = pcm16_encoder()

    @property
    def design(self) -> FilterDesign:
        """The interpolation filter in use."""
        return self._resampler.design

    def convert(self, ulaw_8k: bytes) -> bytes:
        """Return the 16 kHz PCM16 of ``ulaw_8k``: exactly four bytes per input byte."""
        codes = np.frombuffer(ulaw_8k, dtype=np.uint8)
        return self._resampler.push(codes, self._encoder, self._decoder).tobytes()

    def flush(self) -> bytes:
        """End the stream and start afresh; returns ``b""`` (nothing is held back)."""
        return self._resampler.drain(self._encoder).tobytes()

    def reset(self) -> None:
        """Drop the stream's state without output."""
        self._resampler.reset()


class Pcm24kToMulaw:
    """Model -> Twilio: 24 kHz PCM16 LE in, 8 kHz mu-law out (one byte per three samples).

    Output code ``n`` is the filter's output at 24 kHz sample ``3n`` of the stream, from that
    sample and earlier ones; it is returned by the call that delivers sample ``3n``. While every
    chunk is a whole number of 3-sample groups, a chunk of ``3m`` samples gives exactly ``m``
    codes, its own span, and a click at its sample ``3i`` starts at code ``i`` of the same
    call's output (at ``3i + 1`` or ``3i + 2``: at code ``i + 1``, the next call's first code if
    ``i`` is the chunk's last group). Otherwise a chunk of ``L`` samples gives the codes whose
    instants fall inside it, ``floor(L / 3)`` or ``ceil(L / 3)`` of them, and a click starts at
    the first code at or after it; nothing is held back either way.

    Input of any byte length is accepted: an odd trailing byte is kept and completed by the
    next call. ``convert_pcm`` is the same stream stopped before mu-law encoding (16-bit 8 kHz
    PCM), for measuring the resampler on its own; calls to both may be mixed.
    """

    def __init__(self, *, phase: Phase = DEFAULT_PHASE) -> None:
        self._resampler = Resampler(1, MODEL_OUTPUT_RATE // TWILIO_RATE, phase=phase)
        self._ulaw = ulaw_encoder()
        self._pcm16 = pcm16_encoder()
        self._odd_byte = b""

    @property
    def design(self) -> FilterDesign:
        """The anti-alias filter in use."""
        return self._resampler.design

    def convert(self, pcm_24k: bytes) -> bytes:
        """Return the 8 kHz mu-law codes whose instants ``pcm_24k`` reaches."""
        return self._resampler.push(self._samples(pcm_24k), self._ulaw).tobytes()

    def convert_pcm(self, pcm_24k: bytes) -> bytes:
        """Like ``convert``, but return 16-bit little-endian PCM instead of mu-law."""
        return self._resampler.push(self._samples(pcm_24k), self._pcm16).tobytes()

    def flush(self) -> bytes:
        """End the stream and start afresh; returns ``b""`` (nothing is held back).

        A lone trailing byte (half a sample) cannot be converted and is discarded here.
        """
        self._odd_byte = b""
        return self._resampler.drain(self._ulaw).tobytes()

    def flush_pcm(self) -> bytes:
        """Like ``flush``, but return 16-bit little-endian PCM instead of mu-law."""
        self._odd_byte = b""
        return self._resampler.drain(self._pcm16).tobytes()

    def reset(self) -> None:
        """Drop the stream's state (and any half sample) without output."""
        self._odd_byte = b""
        self._resampler.reset()

    def _samples(self, data: bytes) -> np.ndarray[tuple[int], np.dtype[np.int16]]:
        if self._odd_byte or len(data) % 2:
            data = self._odd_byte + bytes(data)
            cut = len(data) - len(data) % 2
            self._odd_byte = data[cut:]
            data = data[:cut]
        return np.frombuffer(data, dtype="<i2")


def warm_up(*, phase: Phase = DEFAULT_PHASE) -> None:
    """Design and cache both directions' filters now, so the first call does not wait for it.

    The design takes on the order of 0.1 s of CPU, once per process; an application can call
    this during startup.
    """
    MulawToPcm16k(phase=phase)
    Pcm24kToMulaw(phase=phase)
