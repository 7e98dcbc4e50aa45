"""G.711 mu-law: bit-exact with the classic ``audioop`` (``audioop-lts`` from Python 3.13)."""

import audioop

import numpy as np
import pytest

from telephony.audio import ULAW_SILENCE, pcm16_to_ulaw, ulaw_to_pcm16
from telephony.audio.tables import INDEX_OFFSET, ulaw_decoder, ulaw_encoder

ALL_CODES = bytes(range(256))
ALL_SAMPLES = np.arange(-32768, 32768, dtype="<i2").tobytes()


def test_decode_matches_audioop_for_all_256_codes() -> None:
    assert ulaw_to_pcm16(ALL_CODES) == audioop.ulaw2lin(ALL_CODES, 2)


def test_encode_matches_audioop_for_all_65536_samples() -> None:
    assert pcm16_to_ulaw(ALL_SAMPLES) == audioop.lin2ulaw(ALL_SAMPLES, 2)


def test_silence_is_0xff_both_ways() -> None:
    assert ULAW_SILENCE == 0xFF
    assert pcm16_to_ulaw(b"\x00\x00" * 4) == b"\xff" * 4
    assert ulaw_to_pcm16(b"\xff") == b"\x00\x00"


@pytest.mark.parametrize(
    ("code", "sample"),
    [(0x00, -32124), (0x80, 32124), (0x7F, 0), (0xFE, 8), (0x7E, -8), (0x70, -120)],
)
def test_known_codes(code: int, sample: int) -> None:
    assert ulaw_to_pcm16(bytes([code])) == sample.to_bytes(2, "little", signed=True)


def test_extremes_encode_to_the_outermost_codes() -> None:
    assert pcm16_to_ulaw((32767).to_bytes(2, "little", signed=True)) == b"\x80"
    assert pcm16_to_ulaw((-32768).to_bytes(2, "little", signed=True)) == b"\x00"


def test_empty_input_gives_empty_output() -> None:
    assert ulaw_to_pcm16(b"") == b""
    assert pcm16_to_ulaw(b"") == b""


def test_odd_pcm_length_is_rejected() -> None:
    with pytest.raises(ValueError, match="even length"):
        pcm16_to_ulaw(b"\x00\x00\x00")


def test_resampler_tables_agree_with_the_codec() -> None:
    """The converters encode through their own tables: same codes, saturated past 16 bits."""
    encoder = ulaw_encoder()
    samples = np.arange(-32768, 32768)
    assert encoder[samples + INDEX_OFFSET].tobytes() == pcm16_to_ulaw(ALL_SAMPLES)
    assert encoder[: INDEX_OFFSET - 32768].tobytes() == b"\x00" * (INDEX_OFFSET - 32768)
    assert set(encoder[INDEX_OFFSET + 32768 :].tolist()) == {0x80}
    decoded = ulaw_decoder().astype("<i2").tobytes()
    assert decoded == ulaw_to_pcm16(ALL_CODES)
