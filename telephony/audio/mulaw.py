"""G.711 mu-law, bit-exact with the classic ``audioop`` tables.

Both directions are table look-ups: 256 entries to decode, 65,536 to encode (one per 16-bit
sample value), built once on first use from the reference algorithm.
"""

from functools import cache

import numpy as np
import numpy.typing as npt

ULAW_SILENCE = 0xFF
"""The mu-law code of a zero sample."""

_BIAS = 0x84
_CLIP = 8159  # largest 14-bit magnitude before the bias is added
_SEGMENT_ENDS = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF], dtype=np.int32)


@cache
def decode_table() -> npt.NDArray[np.int16]:
    """The 256 linear values, indexed by mu-law code."""
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = ((mantissa << 3) + _BIAS) << exponent
    linear = np.where(codes & 0x80, _BIAS - magnitude, magnitude - _BIAS)
    return linear.astype("<i2")  # little-endian, as PCM16 on the wire


@cache
def encode_table() -> npt.NDArray[np.uint8]:
    """The mu-law code of every 16-bit sample, indexed by the sample as ``uint16``."""
    samples = np.arange(65536, dtype=np.int32).astype(np.uint16).astype(np.int16).astype(np.int32)
    value = samples >> 2  # the reference works on 14-bit values
    mask = np.where(value < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(value), _CLIP) + (_BIAS >> 2)
    segment = np.searchsorted(_SEGMENT_ENDS, magnitude, side="left")
    code = (segment << 4) | ((magnitude >> (segment + 1)) & 0x0F)
    code = np.where(segment >= 8, 0x7F, code)
    return (code ^ mask).astype(np.uint8)


def ulaw_to_pcm16(data: bytes) -> bytes:
    """Decode mu-law bytes to 16-bit little-endian PCM (two bytes out per byte in)."""
    decoded: bytes = decode_table()[np.frombuffer(data, dtype=np.uint8)].tobytes()
    return decoded


def pcm16_to_ulaw(data: bytes) -> bytes:
    """Encode 16-bit little-endian PCM to mu-law; the length must be even."""
    if len(data) % 2:
        raise ValueError(f"PCM16 data must have an even length, got {len(data)} bytes")
    encoded: bytes = encode_table()[np.frombuffer(data, dtype="<u2")].tobytes()
    return encoded
