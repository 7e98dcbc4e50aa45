"""Equiripple linear-phase lowpass filters by the Remez exchange algorithm (Parks-McClellan).

Only what the resamplers need: one passband, one stopband, odd length (type I), numpy only.
The zero-phase amplitude ``A(w) = sum(a[k] cos(k w))`` is found as the polynomial in
``x = cos(w)`` whose weighted error equioscillates on ``L + 2`` extremal frequencies; each
iteration solves for that polynomial in barycentric form and moves the extremals to the peaks
of the new error curve.
"""

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def remez_lowpass(
    numtaps: int,
    passband_edge: float,
    stopband_edge: float,
    *,
    stopband_weight: float,
    grid_density: int = 16,
    max_iterations: int = 60,
) -> FloatArray:
    """Return the symmetric taps of the minimax lowpass filter of odd length ``numtaps``.

    Edges are in cycles per sample (``0 < passband_edge < stopband_edge < 0.5``). The error
    in the stopband is weighted ``stopband_weight`` times the passband error, so the passband
    ripple comes out about that many times the stopband ripple. The DC gain is close to 1 (within
    the passband ripple).
    """
    if numtaps < 3 or numtaps % 2 == 0:
        raise ValueError(f"numtaps must be odd and at least 3, got {numtaps}")
    if not 0.0 < passband_edge < stopband_edge < 0.5:
        raise ValueError("band edges must satisfy 0 < passband_edge < stopband_edge < 0.5")
    order = (numtaps - 1) // 2
    grid, desired, weight, passband_points = _grid(
        order, passband_edge, stopband_edge, stopband_weight, grid_density
    )
    x = np.cos(grid)
    count = order + 2
    extremals = np.round(np.linspace(0, grid.size - 1, count)).astype(np.intp)
    for _ in range(max_iterations):
        nodes, values, error = _equioscillating_fit(x, desired, weight, extremals)
        new_extremals = _peaks(error, passband_points, count)
        if np.array_equal(new_extremals, extremals):
            break
        extremals = new_extremals
    # The amplitude at numtaps equally spaced frequencies is the DFT of the centred taps.
    frequencies = 2.0 * np.pi * np.arange(numtaps) / numtaps
    amplitude = _interpolate(np.cos(frequencies), nodes, values)
    centred = np.fft.ifft(amplitude).real
    return np.roll(centred, order)


def _grid(
    order: int, passband_edge: float, stopband_edge: float, stopband_weight: float, density: int
) -> tuple[FloatArray, FloatArray, FloatArray, int]:
    """A dense frequency grid over both bands (radians), with desired values and weights."""
    passband = 2.0 * np.pi * passband_edge
    stopband = 2.0 * np.pi * stopband_edge
    total = density * (order + 1)
    share = passband / (passband + np.pi - stopband)
    n_pass = max(round(total * share), 4)
    n_stop = max(total - n_pass, 4)
    grid = np.concatenate(
        [np.linspace(0.0, passband, n_pass), np.linspace(stopband, np.pi, n_stop)]
    )
    desired = np.concatenate([np.ones(n_pass), np.zeros(n_stop)])
    weight = np.concatenate([np.ones(n_pass), np.full(n_stop, stopband_weight)])
    return grid, desired, weight, n_pass


def _barycentric_weights(nodes: FloatArray) -> FloatArray:
    """``1 / prod(nodes[i] - nodes[j])``, scaled to avoid overflow (the scale cancels out)."""
    differences = nodes[:, None] - nodes[None, :]
    np.fill_diagonal(differences, 1.0)
    log_magnitude = -np.log(np.abs(2.0 * differences)).sum(axis=1)
    sign = np.prod(np.sign(differences), axis=1)
    return np.asarray(sign * np.exp(log_magnitude - log_magnitude.max()), dtype=np.float64)


def _interpolate(x: FloatArray, nodes: FloatArray, values: FloatArray) -> FloatArray:
    """The polynomial through ``(nodes, values)`` evaluated at ``x`` (barycentric form)."""
    weights = _barycentric_weights(nodes)
    offsets = x[:, None] - nodes[None, :]
    hit_row, hit_column = np.nonzero(offsets == 0.0)
    offsets[hit_row, hit_column] = 1.0  # rows that hit a node take the node's value below
    terms = weights / offsets
    result = (terms @ values) / terms.sum(axis=1)
    result[hit_row] = values[hit_column]
    return np.asarray(result, dtype=np.float64)


def _equioscillating_fit(
    x: FloatArray, desired: FloatArray, weight: FloatArray, extremals: npt.NDArray[np.intp]
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Fit the polynomial whose weighted error is +-delta, alternating, on the extremals."""
    nodes = x[extremals]
    weights = _barycentric_weights(nodes)
    alternating = np.where(np.arange(nodes.size) % 2 == 0, 1.0, -1.0)
    delta = np.dot(weights, desired[extremals]) / np.dot(weights, alternating / weight[extremals])
    values = desired[extremals] - alternating * delta / weight[extremals]
    # L + 1 of the L + 2 points define the degree-L polynomial; the last one then fits too.
    amplitude = _interpolate(x, nodes[:-1], values[:-1])
    return nodes[:-1], values[:-1], weight * (desired - amplitude)


def _peaks(error: FloatArray, passband_points: int, count: int) -> npt.NDArray[np.intp]:
    """The ``count`` alternating peaks of ``error``: one per run of equal sign within a band."""
    positive = error >= 0.0
    breaks = np.flatnonzero(positive[1:] != positive[:-1]) + 1
    starts = np.union1d(np.concatenate([[0], breaks]), [passband_points])
    run = np.cumsum(np.isin(np.arange(error.size), starts)) - 1
    magnitude = np.abs(error)
    # Sorted by run, then by falling magnitude: each run's peak comes first within it.
    peaks = np.lexsort((-magnitude, run))[starts]
    same_sign = np.flatnonzero(positive[peaks[1:]] == positive[peaks[:-1]])
    if same_sign.size:
        # Only the two runs at the band gap can share a sign: keep the larger peak.
        left = int(same_sign[0])
        smaller = left if magnitude[peaks[left]] < magnitude[peaks[left + 1]] else left + 1
        peaks = np.delete(peaks, smaller)
    first, last = 0, peaks.size
    while last - first > count:
        # Drop the smaller end: alternation is preserved and the largest errors stay.
        if magnitude[peaks[first]] < magnitude[peaks[last - 1]]:
            first += 1
        else:
            last -= 1
    if last - first < count:
        raise ArithmeticError("Remez exchange lost the alternation; relax the specification")
    return np.asarray(peaks[first:last], dtype=np.intp)
