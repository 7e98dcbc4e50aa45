"""Look-up tables between the wire formats and the resampler's float64 samples.

The resampler hands out each output sample as ``value + INDEX_OFFSET + 0.5``; truncating that to
an integer rounds the value (half up) and makes it a non-negative table index, so one look-up
both saturates to the 16-bit range and encodes (to PCM16, or straight to mu-law). The tables
cover every value a filter with a gain (sum of absolute taps) below ``MAX_FILTER_GAIN`` can
produce from 16-bit input. Tables are built once, on first use.
"""

from functools import cache

import numpy as np
import numpy.typing as npt

from telephony.audio.mulaw import decode_table, encode_table

INDEX_OFFSET = 1 << 17
"""Table index of the sample value 0."""

TABLE_SIZE = 2 * INDEX_OFFSET
MAX_FILTER_GAIN = (INDEX_OFFSET - 1) / 32768
"""Largest sum of absolute taps (per polyphase branch) the encoder tables can serve."""


def _sample_of_index() -> npt.NDArray[np.int16]:
    index = np.arange(TABLE_SIZE, dtype=np.int32)
    return np.clip(index - INDEX_OFFSET, -32768, 32767).astype(np.int16)


@cache
def pcm16_encoder() -> npt.NDArray[np.int16]:
    """Table index -> 16-bit little-endian PCM sample."""
    table = _sample_of_index().astype("<i2")
    table.flags.writeable = False
    return table


@cache
def ulaw_encoder() -> npt.NDArray[np.uint8]:
    """Table index -> mu-law code (bit-exact with ``pcm16_to_ulaw`` of the 16-bit sample)."""
    table = encode_table()[_sample_of_index().view(np.uint16)]
    table.flags.writeable = False
    return table


@cache
def ulaw_decoder() -> npt.NDArray[np.float64]:
    """Mu-law code -> linear sample as float64 (the values of ``ulaw_to_pcm16``)."""
    table = decode_table().astype(np.float64)
    table.flags.writeable = False
    return table
