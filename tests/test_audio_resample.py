"""The streaming resampler against its requirements, measured on its 16-bit PCM output.

Quality: dense tone sweeps (every 50 Hz) after the filter's transient. Latency: no output is
held back at any call (exact counts), so a sound's delay is the group delay measured in the
output. Completeness and chunk invariance: exact, against a causal direct-form reference and a
property test. (Click alignment per frame, on the converters: ``test_audio_alignment``.)
"""

from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telephony.audio import FRAME_MS, Phase, Resampler

Int16Array = npt.NDArray[np.int16]
FloatArray = npt.NDArray[np.float64]


class Direction(NamedTuple):
    up: int
    down: int
    rate_in: int

    @property
    def rate_out(self) -> int:
        return self.rate_in * self.up // self.down


DOWN = Direction(1, 3, 24000)  # model -> Twilio
UP = Direction(2, 1, 8000)  # Twilio -> model
DIRECTIONS = [pytest.param(DOWN, id="24k-8k"), pytest.param(UP, id="8k-16k")]
PHASES: list[Phase] = ["minimum", "linear"]

AMPLITUDE = 0.9 * 32767
TONE_S = 0.1
SETTLE_S = 0.01  # measured segments skip this much at both ends (the filter is < 5 ms long)
PASSBAND_TONES = np.arange(300.0, 3401.0, 50.0)
ALIAS_TONES = np.arange(4100.0, 12001.0, 50.0)  # everything that folds into 0-3.9 kHz at 8 kHz


def tone(freq: float, rate: int, seconds: float = TONE_S) -> Int16Array:
    t = np.arange(round(seconds * rate)) / rate
    return np.round(AMPLITUDE * np.cos(2 * np.pi * freq * t + 0.3)).astype(np.int16)


def resample(direction: Direction, phase: Phase, samples: Int16Array) -> Int16Array:
    resampler = Resampler(direction.up, direction.down, phase=phase)
    return np.concatenate([resampler.process(samples), resampler.flush()])


def steady(signal: npt.NDArray[np.generic], rate: int) -> FloatArray:
    skip = round(SETTLE_S * rate)
    return np.asarray(signal[skip:-skip], dtype=np.float64)


def rms(signal: FloatArray) -> float:
    return float(np.sqrt(np.mean(signal**2)))


def phasor(signal: FloatArray, freq: float, rate: int, skip: int) -> complex:
    """Least-squares complex amplitude of ``freq`` in ``signal`` (time 0 = ``skip`` samples
    before the start of ``signal``)."""
    t = (np.arange(signal.size) + skip) / rate
    basis = np.stack([np.cos(2 * np.pi * freq * t), np.sin(2 * np.pi * freq * t), t * 0 + 1], 1)
    (cos, sin, _), *_ = np.linalg.lstsq(basis, signal, rcond=None)
    return complex(cos, -sin)


def tone_response(direction: Direction, phase: Phase, freq: float) -> complex:
    """Output phasor over input phasor of one tone, both on the same time axis."""
    x = tone(freq, direction.rate_in)
    y = resample(direction, phase, x)
    into = phasor(steady(x, direction.rate_in), freq, direction.rate_in, _skip(direction.rate_in))
    out = phasor(steady(y, direction.rate_out), freq, direction.rate_out, _skip(direction.rate_out))
    return out / into


def _skip(rate: int) -> int:
    return round(SETTLE_S * rate)


def db(ratio: float) -> float:
    return 20.0 * float(np.log10(max(ratio, 1e-12)))


# Quality ------------------------------------------------------------------------------------


@pytest.mark.parametrize("phase", PHASES)
def test_24k_to_8k_rejects_every_tone_from_4_1_to_12_khz_by_70_db(phase: Phase) -> None:
    rejections = []
    for freq in ALIAS_TONES:
        x = tone(freq, DOWN.rate_in)
        y = resample(DOWN, phase, x)
        rejections.append(db(rms(steady(y, DOWN.rate_out)) / rms(steady(x, DOWN.rate_in))))
    assert max(rejections) <= -70.0, f"worst {max(rejections):.1f} dB"


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("phase", PHASES)
def test_passband_300_to_3400_hz_is_flat_within_half_a_db(
    direction: Direction, phase: Phase
) -> None:
    gains = [db(abs(tone_response(direction, phase, f))) for f in PASSBAND_TONES]
    assert max(gains) - min(gains) <= 0.5
    assert max(abs(g) for g in gains) <= 0.5


@pytest.mark.parametrize("phase", PHASES)
def test_8k_to_16k_images_of_300_to_3400_hz_are_70_db_down(phase: Phase) -> None:
    worst = -np.inf
    for freq in PASSBAND_TONES:
        y = steady(resample(UP, phase, tone(freq, UP.rate_in)), UP.rate_out)
        spectrum = np.abs(np.fft.rfft(y * _blackman_harris(y.size))) ** 2
        above = np.fft.rfftfreq(y.size, 1 / UP.rate_out) > 4000.0
        worst = max(worst, 10 * np.log10(spectrum[above].sum() / spectrum.sum()))
    assert worst <= -70.0, f"worst image {worst:.1f} dB"


def _blackman_harris(size: int) -> FloatArray:
    n = 2 * np.pi * np.arange(size) / size
    return 0.35875 - 0.48829 * np.cos(n) + 0.14128 * np.cos(2 * n) - 0.01168 * np.cos(3 * n)


# Latency ------------------------------------------------------------------------------------


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("phase", PHASES)
def test_every_20_ms_call_returns_exactly_its_own_20_ms_the_first_included(
    direction: Direction, phase: Phase
) -> None:
    resampler = Resampler(direction.up, direction.down, phase=phase)
    frame = direction.rate_in * FRAME_MS // 1000
    signal = np.random.default_rng(7).integers(-20000, 20000, 50 * frame).astype(np.int16)
    counts = [resampler.process(signal[i : i + frame]).size for i in range(0, signal.size, frame)]
    assert counts == [frame * direction.up // direction.down] * 50
    assert resampler.flush().size == 0


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("phase", PHASES)
@settings(max_examples=30, deadline=None)
@given(sizes=st.lists(st.integers(0, 700), min_size=1, max_size=40))
def test_every_call_returns_every_output_its_input_reaches(
    direction: Direction, phase: Phase, sizes: list[int]
) -> None:
    """After r inputs exactly ceil(r * up / down) outputs are out: none held, none early."""
    resampler = Resampler(direction.up, direction.down, phase=phase)
    received = emitted = 0
    for size in sizes:
        emitted += resampler.process(np.ones(size, dtype=np.int16)).size
        received += size
        assert emitted == -(-received * direction.up // direction.down)


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("phase", PHASES)
def test_measured_delay_is_within_4_ms_and_the_minimum_phase_within_1_5_ms(
    direction: Direction, phase: Phase
) -> None:
    """With nothing held back, a sound's delay is the group delay measured in the output."""
    delays = []
    for freq in PASSBAND_TONES:
        step = 10.0
        turn = tone_response(direction, phase, freq + step) / tone_response(direction, phase, freq)
        delays.append(-np.angle(turn) / (2 * np.pi * step))
    assert max(delays) <= (0.0015 if phase == "minimum" else 0.004)
    assert min(delays) > 0.0
    design = Resampler(direction.up, direction.down, phase=phase).design
    assert np.mean(delays) == pytest.approx(design.group_delay_s, abs=0.5 / direction.rate_out)


# Completeness -------------------------------------------------------------------------------


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_output_length_is_exactly_the_resampled_input_length(direction: Direction) -> None:
    resampler = Resampler(direction.up, direction.down)
    for length in [*range(40), 479, 480, 481, 4801, 24007]:
        out = resampler.process(np.ones(length, dtype=np.int16)).size + resampler.flush().size
        assert out == -(-length * direction.up // direction.down), length


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("phase", PHASES)
def test_output_is_the_direct_form_filter_exactly_including_tail_and_clipping(
    direction: Direction, phase: Phase
) -> None:
    rate = direction.rate_in
    t = np.arange(rate // 5) / rate
    square = np.where(np.sin(2 * np.pi * 300 * t) >= 0, 32767, -32768)
    noise = np.random.default_rng(3).integers(-32768, 32768, rate // 5)
    click = np.zeros(50)
    click[-1] = 32767  # the very last sample: its onset is in the last outputs
    x = np.concatenate([square, noise, click]).astype(np.int16)
    resampler = Resampler(direction.up, direction.down, phase=phase)
    got = np.concatenate([resampler.process(x), resampler.flush()])
    np.testing.assert_array_equal(got, _direct_form(x, resampler))
    assert got.max() == 32767
    assert got.min() == -32768


def _direct_form(x: Int16Array, resampler: Resampler) -> Int16Array:
    """``y[n] = sum(taps[k] * x_up[n * down - k])``, rounded half up and saturated."""
    design = resampler.design
    stuffed = np.zeros(x.size * design.up)
    stuffed[:: design.up] = x
    full = np.convolve(stuffed, design.taps)
    positions = np.arange(-(-x.size * design.up // design.down)) * design.down
    y = full[positions]
    return np.clip(np.floor(y + 0.5), -32768, 32767).astype(np.int16)


def test_flush_starts_a_fresh_stream() -> None:
    resampler = Resampler(1, 3)
    x = tone(1000.0, 24000)
    first = np.concatenate([resampler.process(x), resampler.flush()])
    second = np.concatenate([resampler.process(x), resampler.flush()])
    np.testing.assert_array_equal(first, second)
    assert resampler.flush().size == 0


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_silence_gives_exact_silence(direction: Direction) -> None:
    out = resample(direction, "minimum", np.zeros(1000, dtype=np.int16))
    assert not out.any()


# Chunk invariance ---------------------------------------------------------------------------


def _chunked(direction: Direction, phase: Phase, x: Int16Array, sizes: list[int]) -> Int16Array:
    resampler = Resampler(direction.up, direction.down, phase=phase)
    parts, start, index = [], 0, 0
    while start < x.size:
        size = sizes[index % len(sizes)]
        parts.append(resampler.process(x[start : start + size]))
        start += size
        index += 1
    parts.append(resampler.flush())
    return np.concatenate(parts)


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("phase", PHASES)
@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    sizes=st.lists(st.integers(1, 3000), min_size=1, max_size=30),
)
def test_any_chunking_gives_the_whole_signal_output_bit_for_bit(
    direction: Direction, phase: Phase, seed: int, sizes: list[int]
) -> None:
    x = np.random.default_rng(seed).integers(-32768, 32768, 6000).astype(np.int16)
    np.testing.assert_array_equal(
        _chunked(direction, phase, x, sizes), resample(direction, phase, x)
    )


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_one_sample_and_37_ms_chunks_give_the_whole_signal_output(direction: Direction) -> None:
    x = np.random.default_rng(11).integers(-32768, 32768, 3000).astype(np.int16)
    whole = resample(direction, "minimum", x)
    np.testing.assert_array_equal(_chunked(direction, "minimum", x, [1]), whole)
    np.testing.assert_array_equal(
        _chunked(direction, "minimum", x, [direction.rate_in * 37 // 1000]), whole
    )


def test_process_takes_only_16_bit_samples() -> None:
    with pytest.raises(TypeError, match="int16"):
        Resampler(1, 3).process(np.zeros(10, dtype=np.float64))
