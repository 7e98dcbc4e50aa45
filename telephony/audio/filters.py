"""Anti-alias and anti-image lowpass filters for the two resampling directions.

Each direction has two designs with the same passband (0-3400 Hz, the telephone band):

- ``"minimum"`` (the default): minimum phase, so most of the impulse response comes first and
  the group delay in the passband stays between about 0.2 and 1.3 ms.
- ``"linear"``: linear phase (symmetric taps), a constant group delay of half the length.

Both are equiripple (Remez) designs; the minimum-phase one is the spectral factor of a
linear-phase filter of twice the length, taken through the real cepstrum. Designs are computed
on first use and cached; the taps are rounded to multiples of ``2**-TAP_FRACTION_BITS`` so that,
on 16-bit samples, every float64 product and sum in the resampler is exact (see ``resample.py``).
"""

from dataclasses import dataclass
from functools import cache
from typing import Literal

import numpy as np
import numpy.typing as npt

from telephony.audio.remez import remez_lowpass

FloatArray = npt.NDArray[np.float64]
Phase = Literal["minimum", "linear"]

DEFAULT_PHASE: Phase = "minimum"
TAP_FRACTION_BITS = 24
PASSBAND_HZ = 3400.0
"""Upper edge of the band both directions keep flat."""

_CEPSTRUM_POINTS = 1 << 16
_DELAY_BAND_HZ = (300.0, 3400.0)  # the band `group_delay_s` averages over


@dataclass(frozen=True)
class _Spec:
    rate: int  # the rate the filter runs at: input rate times ``up``
    stopband_hz: float
    linear_taps: int
    linear_weight: float
    minimum_prototype_taps: int  # the linear-phase filter whose spectral factor is taken
    minimum_weight: float


# 24 kHz -> 8 kHz: tones from 4.1 to 12 kHz fold back to 0-3.9 kHz, so they must be stopped.
# 8 kHz -> 16 kHz: the images of 0-3.4 kHz land at 4.6-8 kHz.
# A weight is how many times the stopband error counts against the passband error.
_SPECS: dict[tuple[int, int], _Spec] = {
    (1, 3): _Spec(24000, 4100.0, 111, 100.0, 201, 1e7),
    (2, 1): _Spec(16000, 4600.0, 43, 100.0, 83, 1e6),
}


@dataclass(frozen=True, eq=False)
class FilterDesign:
    """A lowpass filter for resampling by ``up / down``, ready for the polyphase resampler.

    ``taps`` run at ``rate`` (the input rate times ``up``) and already include the gain of
    ``up`` that interpolation needs (each of the ``up`` polyphase branches sums to about 1).
    The resampler applies them causally, with no delay compensation: a sound comes out of the
    stream late by the filter's group delay (``group_delay_s``), and no sample is held back.
    """

    up: int
    down: int
    rate: int
    phase: Phase
    taps: FloatArray

    @property
    def group_delay_s(self) -> float:
        """Mean group delay over 300-3400 Hz, in seconds."""
        return _mean_group_delay(self.taps, self.rate)


def supported_ratios() -> tuple[tuple[int, int], ...]:
    """The ``(up, down)`` pairs that have a filter design."""
    return tuple(_SPECS)


def design(up: int, down: int, phase: Phase = DEFAULT_PHASE) -> FilterDesign:
    """The filter for resampling by ``up / down`` (computed once per process)."""
    return _design(up, down, phase)


@cache
def _design(up: int, down: int, phase: Phase) -> FilterDesign:
    try:
        spec = _SPECS[(up, down)]
    except KeyError:
        raise ValueError(f"no filter design for resampling by {up}/{down}") from None
    passband = PASSBAND_HZ / spec.rate
    stopband = spec.stopband_hz / spec.rate
    if phase == "linear":
        taps = remez_lowpass(
            spec.linear_taps, passband, stopband, stopband_weight=spec.linear_weight
        )
    elif phase == "minimum":
        prototype = remez_lowpass(
            spec.minimum_prototype_taps, passband, stopband, stopband_weight=spec.minimum_weight
        )
        taps = minimum_phase(prototype)
    else:
        raise ValueError(f"unknown phase {phase!r}")
    quantized = _quantize(taps, up)
    quantized.flags.writeable = False
    return FilterDesign(up, down, spec.rate, phase, quantized)


def minimum_phase(prototype: FloatArray) -> FloatArray:
    """The minimum-phase filter whose squared magnitude follows ``prototype``'s amplitude.

    ``prototype`` is a linear-phase (symmetric, odd length ``2m - 1``) lowpass; the result has
    ``m`` taps, about the square root of its passband ripple and stopband level, and unit DC gain.
    """
    size = prototype.size
    centre = size // 2
    spectrum = np.fft.fft(prototype, _CEPSTRUM_POINTS)
    # Lift the amplitude so it never goes negative (a factorisable, non-negative spectrum):
    # the stopband then ripples between 0 and twice its original level.
    amplitude = (spectrum * np.exp(2j * np.pi * np.fft.fftfreq(_CEPSTRUM_POINTS) * centre)).real
    lift = max(0.0, -float(amplitude.min())) * 1.001 + 1e-300
    power = np.maximum(amplitude + lift, 1e-300)
    cepstrum = np.fft.ifft(0.5 * np.log(power)).real
    # Fold the cepstrum onto positive quefrencies: the causal, minimum-phase log spectrum.
    half = _CEPSTRUM_POINTS // 2
    folded = np.zeros(_CEPSTRUM_POINTS)
    folded[0] = cepstrum[0]
    folded[1:half] = 2.0 * cepstrum[1:half]
    folded[half] = cepstrum[half]
    taps = np.fft.ifft(np.exp(np.fft.fft(folded))).real[: centre + 1]
    return np.asarray(taps / taps.sum(), dtype=np.float64)


def group_delay(taps: FloatArray, frequencies_hz: FloatArray, rate: float) -> FloatArray:
    """Group delay of the FIR filter ``taps`` at ``frequencies_hz``, in seconds."""
    omega = 2.0 * np.pi * np.asarray(frequencies_hz, dtype=np.float64) / rate
    n = np.arange(taps.size, dtype=np.float64)
    phasors = np.exp(-1j * np.outer(omega, n))
    response = phasors @ taps
    ramp = phasors @ (n * taps)
    return np.asarray((ramp / response).real / rate, dtype=np.float64)


def frequency_response(taps: FloatArray, frequencies_hz: FloatArray, rate: float) -> FloatArray:
    """Magnitude of the FIR filter ``taps`` at ``frequencies_hz`` (linear, not dB)."""
    omega = 2.0 * np.pi * np.asarray(frequencies_hz, dtype=np.float64) / rate
    phasors = np.exp(-1j * np.outer(omega, np.arange(taps.size)))
    return np.asarray(np.abs(phasors @ taps), dtype=np.float64)


def _mean_group_delay(taps: FloatArray, rate: int) -> float:
    band = np.linspace(*_DELAY_BAND_HZ, 64)
    return float(np.mean(group_delay(taps, band, rate)))


def _quantize(taps: FloatArray, up: int) -> FloatArray:
    """Normalise to a DC gain of ``up`` and round to multiples of ``2**-TAP_FRACTION_BITS``."""
    scale = float(1 << TAP_FRACTION_BITS)
    return np.asarray(np.round(taps / taps.sum() * up * scale) / scale, dtype=np.float64)
