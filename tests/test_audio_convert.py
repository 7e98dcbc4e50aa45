"""The per-call converters: byte framing, state between calls, and their link to the resampler."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telephony.audio import (
    MODEL_INPUT_FRAME_BYTES,
    MODEL_OUTPUT_FRAME_BYTES,
    TWILIO_FRAME_BYTES,
    ULAW_SILENCE,
    MulawToPcm16k,
    Pcm24kToMulaw,
    Resampler,
    formats,
    pcm16_to_ulaw,
    ulaw_to_pcm16,
)


def loud_pcm16(samples: int, seed: int) -> bytes:
    """Loud random 16-bit PCM, little-endian."""
    rng = np.random.default_rng(seed)
    return rng.integers(-32768, 32768, samples).astype("<i2").tobytes()


def ulaw_noise(samples: int, seed: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, samples).astype(np.uint8).tobytes()


def convert_whole(converter: MulawToPcm16k | Pcm24kToMulaw, data: bytes) -> bytes:
    return converter.convert(data) + converter.flush()


def convert_in_pieces(
    converter: MulawToPcm16k | Pcm24kToMulaw, data: bytes, sizes: list[int]
) -> bytes:
    out, start, index = [], 0, 0
    while start < len(data):
        size = sizes[index % len(sizes)]
        out.append(converter.convert(data[start : start + size]))
        start += size
        index += 1
    out.append(converter.flush())
    return b"".join(out)


def test_named_rates_and_frame_sizes() -> None:
    assert (formats.TWILIO_RATE, formats.MODEL_INPUT_RATE, formats.MODEL_OUTPUT_RATE) == (
        8000,
        16000,
        24000,
    )
    assert formats.FRAME_MS == 20
    assert (TWILIO_FRAME_BYTES, MODEL_INPUT_FRAME_BYTES, MODEL_OUTPUT_FRAME_BYTES) == (
        160,
        640,
        960,
    )


def test_twilio_frames_become_model_frames_on_every_call_the_first_included() -> None:
    converter = MulawToPcm16k()
    data = ulaw_noise(50 * TWILIO_FRAME_BYTES, seed=1)
    sizes = [
        len(converter.convert(data[i : i + TWILIO_FRAME_BYTES]))
        for i in range(0, len(data), TWILIO_FRAME_BYTES)
    ]
    assert sizes == [MODEL_INPUT_FRAME_BYTES] * 50
    assert converter.flush() == b""


def test_model_frames_become_twilio_frames_on_every_call_the_first_included() -> None:
    converter = Pcm24kToMulaw()
    data = loud_pcm16(50 * MODEL_OUTPUT_FRAME_BYTES // 2, seed=2)
    sizes = [
        len(converter.convert(data[i : i + MODEL_OUTPUT_FRAME_BYTES]))
        for i in range(0, len(data), MODEL_OUTPUT_FRAME_BYTES)
    ]
    assert sizes == [TWILIO_FRAME_BYTES] * 50
    assert converter.flush() == b""


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(0, 2000), min_size=1, max_size=25))
def test_mulaw_to_pcm16k_returns_four_bytes_per_input_byte_on_every_call(
    sizes: list[int],
) -> None:
    converter = MulawToPcm16k()
    data = ulaw_noise(sum(sizes), seed=12)
    start = 0
    for size in sizes:
        assert len(converter.convert(data[start : start + size])) == 4 * size
        start += size


def test_silence_maps_to_silence_both_ways() -> None:
    assert convert_whole(MulawToPcm16k(), bytes([ULAW_SILENCE]) * 480) == b"\x00" * 1920
    assert convert_whole(Pcm24kToMulaw(), b"\x00" * 2880) == bytes([ULAW_SILENCE]) * 480


def test_empty_input_and_an_idle_flush_give_nothing() -> None:
    for converter in (MulawToPcm16k(), Pcm24kToMulaw()):
        assert converter.convert(b"") == b""
        assert converter.flush() == b""


def test_an_odd_trailing_byte_waits_for_the_next_call() -> None:
    data = loud_pcm16(3000, seed=3)
    converter = Pcm24kToMulaw()
    assert converter.convert(data[:1]) == b""  # half a sample
    rest = converter.convert(data[1:4001]) + converter.convert(data[4001:]) + converter.flush()
    assert rest == convert_whole(Pcm24kToMulaw(), data)


def test_flush_discards_a_lone_half_sample() -> None:
    converter = Pcm24kToMulaw()
    converter.convert(b"\x01\x02\x03")
    converter.flush()
    data = loud_pcm16(600, seed=4)
    assert convert_whole(converter, data) == convert_whole(Pcm24kToMulaw(), data)


def test_reset_drops_the_stream_without_output() -> None:
    data = loud_pcm16(2400, seed=5)
    converter = Pcm24kToMulaw()
    converter.convert(data + b"\x07")
    converter.reset()
    assert convert_whole(converter, data) == convert_whole(Pcm24kToMulaw(), data)
    codes = ulaw_noise(800, seed=6)
    incoming = MulawToPcm16k()
    incoming.convert(codes)
    incoming.reset()
    assert convert_whole(incoming, codes) == convert_whole(MulawToPcm16k(), codes)


def test_the_pcm_stage_is_the_mulaw_output_before_encoding() -> None:
    data = loud_pcm16(4800, seed=7)
    pcm = Pcm24kToMulaw()
    pcm_8k = pcm.convert_pcm(data) + pcm.flush_pcm()
    assert pcm16_to_ulaw(pcm_8k) == convert_whole(Pcm24kToMulaw(), data)
    expected = Resampler(1, 3).process(np.frombuffer(data, "<i2"))
    assert pcm_8k.startswith(expected.astype("<i2").tobytes())


def test_pcm_and_mulaw_calls_share_one_stream() -> None:
    data = loud_pcm16(4800, seed=8)
    mixed = Pcm24kToMulaw()
    pcm_part = mixed.convert_pcm(data[:4000])
    ulaw_part = mixed.convert(data[4000:]) + mixed.flush()
    assert pcm16_to_ulaw(pcm_part) + ulaw_part == convert_whole(Pcm24kToMulaw(), data)


def test_mulaw_in_is_decoded_then_resampled() -> None:
    codes = ulaw_noise(4000, seed=9)
    resampler = Resampler(2, 1)
    decoded = np.frombuffer(ulaw_to_pcm16(codes), "<i2")
    expected = np.concatenate([resampler.process(decoded), resampler.flush()])
    assert convert_whole(MulawToPcm16k(), codes) == expected.astype("<i2").tobytes()


def test_output_is_little_endian_pcm16() -> None:
    converter = MulawToPcm16k()
    out = convert_whole(converter, bytes([0x80]) * 400)  # the largest positive code
    samples = np.frombuffer(out, "<i2")
    assert samples[100:700].min() > 30000  # steady full-scale positive level


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), sizes=st.lists(st.integers(1, 2000), max_size=25))
def test_mulaw_to_pcm16k_in_any_pieces_is_byte_identical(seed: int, sizes: list[int]) -> None:
    data = ulaw_noise(5000, seed)
    pieces = convert_in_pieces(MulawToPcm16k(), data, sizes or [len(data)])
    assert pieces == convert_whole(MulawToPcm16k(), data)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), sizes=st.lists(st.integers(1, 4000), max_size=25))
def test_pcm24k_to_mulaw_in_any_pieces_is_byte_identical(seed: int, sizes: list[int]) -> None:
    """Pieces of any byte length, odd ones included: the mu-law codes are identical."""
    data = loud_pcm16(7200, seed)
    pieces = convert_in_pieces(Pcm24kToMulaw(), data, sizes or [len(data)])
    assert pieces == convert_whole(Pcm24kToMulaw(), data)


@pytest.mark.parametrize("size", [1, 2, 3, 1776])  # 1776 bytes: 37 ms at 24 kHz
def test_pcm24k_to_mulaw_in_fixed_pieces_is_byte_identical(size: int) -> None:
    data = loud_pcm16(4800, seed=10)
    assert convert_in_pieces(Pcm24kToMulaw(), data, [size]) == convert_whole(Pcm24kToMulaw(), data)
