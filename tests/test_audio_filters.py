"""Filter design: the Remez lowpass, the minimum-phase factor, and the designs in use."""

import numpy as np
import numpy.typing as npt
import pytest

from telephony.audio.filters import (
    PASSBAND_HZ,
    TAP_FRACTION_BITS,
    Phase,
    design,
    frequency_response,
    group_delay,
    minimum_phase,
    supported_ratios,
)
from telephony.audio.remez import remez_lowpass
from telephony.audio.tables import MAX_FILTER_GAIN

PHASES: list[Phase] = ["minimum", "linear"]
PASSBAND = np.arange(0.0, PASSBAND_HZ + 1, 10.0)


def db(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.asarray(20.0 * np.log10(values), dtype=np.float64)


def test_remez_lowpass_is_symmetric_and_equiripple() -> None:
    taps = remez_lowpass(61, 0.1, 0.15, stopband_weight=10.0)
    np.testing.assert_allclose(taps, taps[::-1], atol=1e-15)
    passband = frequency_response(taps, np.linspace(0.0, 0.1, 400), 1.0)
    stopband = frequency_response(taps, np.linspace(0.15, 0.5, 1400), 1.0)
    ripple = np.abs(passband - 1.0).max()
    # Minimax: the weighted errors of both bands come out equal.
    assert stopband.max() * 10.0 == pytest.approx(ripple, rel=0.02)
    assert db(stopband.max()) < -50.0


def test_remez_rejects_impossible_arguments() -> None:
    with pytest.raises(ValueError, match="odd"):
        remez_lowpass(60, 0.1, 0.15, stopband_weight=1.0)
    with pytest.raises(ValueError, match="band edges"):
        remez_lowpass(61, 0.2, 0.15, stopband_weight=1.0)


def test_minimum_phase_keeps_the_square_root_of_the_magnitude() -> None:
    prototype = remez_lowpass(121, 0.1, 0.15, stopband_weight=1000.0)
    taps = minimum_phase(prototype)
    assert taps.size == 61
    assert taps.sum() == pytest.approx(1.0)
    passband = np.linspace(0.0, 0.1, 100)
    lifted = frequency_response(prototype, passband, 1.0)
    np.testing.assert_allclose(frequency_response(taps, passband, 1.0), np.sqrt(lifted), rtol=1e-3)
    # Most of the energy comes first: the group delay is far below the prototype's 60 samples.
    assert group_delay(taps, passband * 1.0, 1.0).max() < 15.0


@pytest.mark.parametrize(("up", "down"), supported_ratios())
@pytest.mark.parametrize("phase", PHASES)
def test_designs_meet_the_specification_on_paper(up: int, down: int, phase: Phase) -> None:
    filt = design(up, down, phase)
    stopband_edge = 4100.0 if down == 3 else 4600.0  # alias band / image band
    stopband = np.arange(stopband_edge, filt.rate / 2 + 1, 5.0)
    gain = db(frequency_response(filt.taps, PASSBAND, filt.rate) / up)
    assert gain.max() - gain.min() < 0.25
    assert db(frequency_response(filt.taps, stopband, filt.rate) / up).max() < -75.0
    delay = group_delay(filt.taps, np.arange(300.0, 3401.0, 10.0), filt.rate)
    assert delay.max() <= (0.0015 if phase == "minimum" else 0.004)
    assert delay.min() > 0.0
    if phase == "linear":
        assert filt.group_delay_s * filt.rate == pytest.approx((filt.taps.size - 1) / 2)


@pytest.mark.parametrize(("up", "down"), supported_ratios())
@pytest.mark.parametrize("phase", PHASES)
def test_taps_are_exact_in_float64_arithmetic(up: int, down: int, phase: Phase) -> None:
    """Multiples of 2**-24 with a bounded gain: sums of 16-bit samples times taps are exact."""
    taps = design(up, down, phase).taps
    units = taps * 2.0**TAP_FRACTION_BITS
    np.testing.assert_array_equal(units, np.round(units))
    for branch in range(up):
        assert np.abs(taps[branch::up]).sum() < MAX_FILTER_GAIN
        assert taps[branch::up].sum() == pytest.approx(1.0, abs=1e-3)


def test_designs_are_cached_and_unknown_ratios_rejected() -> None:
    assert design(1, 3) is design(1, 3, "minimum")
    with pytest.raises(ValueError, match="no filter design"):
        design(1, 2)
