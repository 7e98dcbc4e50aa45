"""Matching what one side sent with what the other side received, and the delays in between.

Pure functions on arrays of ``time.monotonic()`` seconds and cumulative audio milliseconds; no
I/O. Every matcher returns one delay per sent item (seconds), NaN where the item never arrived.

- Up: caller frame ``k`` (20 ms, 0-based) has fully arrived when the audio received on the model
  connection reaches ``(k + 1) * 20`` ms, less a small tolerance. The server converts every
  frame to exactly 20 ms of 16 kHz audio, whatever it batches.
- Down: reply chunk ``j`` has arrived when the audio received by the caller reaches the audio
  sent up to and including ``j``, less a tolerance: the server's converter holds a fraction of a
  millisecond back until a turn ends and drops that much at an interruption, so the tolerance
  grows a little with every interruption before the chunk.
- Reactions: a cause (``interrupted`` sent) is answered by the first effect (``clear``
  received) at or after it, within a limit.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

FRAME_MS = 20.0
UP_TOLERANCE_MS = 3.0
DOWN_TOLERANCE_MS = 1.5
DOWN_TOLERANCE_PER_INTERRUPTION_MS = 0.5
REACTION_LIMIT_S = 2.0


def up_delays(
    frame_t: FloatArray,
    arrival_t: FloatArray,
    arrival_ms: FloatArray,
    *,
    frame_ms: float = FRAME_MS,
    tolerance_ms: float = UP_TOLERANCE_MS,
) -> FloatArray:
    """Frame ``k`` sent at ``frame_t[k]`` -> the arrival that completed its audio.

    ``arrival_ms[i]`` is the audio received so far after arrival ``i`` (non-decreasing).
    """
    needed: FloatArray = (np.arange(len(frame_t), dtype=float) + 1.0) * frame_ms - tolerance_ms
    return _first_reaching(frame_t, needed, arrival_t, arrival_ms)


def down_delays(
    chunk_t: FloatArray,
    chunk_ms: FloatArray,
    interrupted_t: FloatArray,
    received_t: FloatArray,
    received_ms: FloatArray,
    *,
    tolerance_ms: float = DOWN_TOLERANCE_MS,
    per_interruption_ms: float = DOWN_TOLERANCE_PER_INTERRUPTION_MS,
) -> FloatArray:
    """Chunk ``j`` sent at ``chunk_t[j]`` with ``chunk_ms[j]`` sent so far -> its arrival.

    ``received_ms[i]`` is the audio received so far after message ``i`` (non-decreasing).
    """
    before = np.searchsorted(interrupted_t, chunk_t, side="right")
    needed = chunk_ms - tolerance_ms - per_interruption_ms * before
    return _first_reaching(chunk_t, needed, received_t, received_ms)


def reaction_delays(
    cause_t: FloatArray, effect_t: FloatArray, *, limit_s: float = REACTION_LIMIT_S
) -> FloatArray:
    """Each cause -> the first effect at or after it; NaN if none within ``limit_s``."""
    out = np.full(len(cause_t), np.nan)
    if not len(cause_t) or not len(effect_t):
        return out
    index = np.searchsorted(effect_t, cause_t, side="left")
    found = index < len(effect_t)
    delays = effect_t[index[found]] - cause_t[found]
    out[np.flatnonzero(found)] = np.where(delays <= limit_s, delays, np.nan)
    return out


def _first_reaching(
    sent_t: FloatArray, needed_ms: FloatArray, arrival_t: FloatArray, arrival_ms: FloatArray
) -> FloatArray:
    out = np.full(len(sent_t), np.nan)
    if not len(sent_t) or not len(arrival_t):
        return out
    index = np.searchsorted(arrival_ms, needed_ms, side="left")
    found = index < len(arrival_ms)
    out[found] = arrival_t[index[found]] - sent_t[found]
    return out


@dataclass(frozen=True)
class Percentiles:
    """p50 and p99 of a set of delays, in milliseconds (None when there were none)."""

    samples: int
    p50: float | None
    p99: float | None

    @classmethod
    def of_seconds(cls, delays: FloatArray) -> "Percentiles":
        return cls.of_ms(delays * 1000.0)

    @classmethod
    def of_ms(cls, values: FloatArray) -> "Percentiles":
        finite = values[np.isfinite(values)]
        if not len(finite):
            return cls(0, None, None)
        p50, p99 = np.percentile(finite, [50, 99])
        return cls(len(finite), float(p50), float(p99))


def difference(a: float | None, b: float | None) -> float | None:
    """``a - b``, or None when either is unknown."""
    return None if a is None or b is None else a - b


def in_window(t: FloatArray, start: float, end: float) -> npt.NDArray[np.bool_]:
    return (t >= start) & (t < end)


NO_SAMPLES = Percentiles(0, None, None)
