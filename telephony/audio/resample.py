"""Streaming polyphase FIR resampling by a rational factor ``up / down``, causal and hold-free.

Output sample ``n`` is the causal filter's output at the output instant ``n * down`` (counted in
samples of ``x_up``, the input with ``up - 1`` zeros after every sample)::

    y[n] = sum(taps[k] * x_up[n * down - k])

so it depends only on inputs up to ``floor(n * down / up)``, never on later ones. For 2/1 that
is ``y[2k + p] = sum(taps[2j + p] * x[k - j])``; for 1/3, ``y[n] = sum(taps[k] * x[3n - k])``.

Contract (``process``/``push``): each output is returned by the call that delivers the last
input it depends on. After ``r`` input samples exactly ``ceil(r * up / down)`` outputs have
been returned: nothing is held and nothing is looked ahead. A call that delivers inputs
``[a, b)`` returns outputs ``ceil(a * up / down)`` to ``ceil(b * up / down) - 1``; for 2/1
that is exactly twice its input, whatever its length. The filter's group delay (0.2-1.3 ms for
the minimum-phase designs) is in the audio itself, not in buffering. ``flush`` owes nothing: the
ringing of the last inputs past the end of the stream is not emitted, so a whole stream gives
exactly ``ceil(len(input) * up / down)`` samples.

How: outputs are grouped in blocks of ``block_out``; a block needs an input window of ``window``
samples, and windows start every ``block_in = block_out * down / up`` input samples. The windows
of one call are copied into the rows of a matrix, so the call is one matrix product with a fixed
``(window + 1) x block_out`` matrix: the polyphase branches laid out as a block Toeplitz matrix,
plus a bias row that adds the rounding offset of the output tables. Taps are multiples of
``2**-24`` and samples are 16-bit integers, so every product and partial sum is exact in float64:
the result does not depend on how the input was chunked, on the summation order the BLAS picks,
or on the machine. Chunk invariance is bit-exact.
"""

from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import as_strided

from telephony.audio.filters import DEFAULT_PHASE, FilterDesign, Phase, design
from telephony.audio.tables import INDEX_OFFSET, MAX_FILTER_GAIN, pcm16_encoder

FloatArray = npt.NDArray[np.float64]
_Out = TypeVar("_Out", bound=np.generic)

_MAX_STEP_S = 0.1  # longest input handled by one matrix product; longer input is split
_ROOM_STEPS = 4  # buffer room, in steps, so the history is moved back only now and then
# Outputs per block: a cost trade-off between the zeros in the block Toeplitz matrix (grow with
# the block) and the rows to copy (shrink with it). Measured with bench/audio.py.
_BLOCK_OUT = {(1, 3): 8, (2, 1): 16}


@dataclass(frozen=True, eq=False)
class _Kernel:
    """Everything about a resampler that does not change during a stream."""

    design: FilterDesign
    block_in: int
    block_out: int
    history: int  # input samples a block's window starts before the block's own first input
    window: int
    matrix: FloatArray  # (window + 1) x block_out
    max_step: int  # input samples per matrix product
    capacity: int  # buffer length, in input samples
    max_rows: int  # blocks per matrix product


@cache
def _kernel(up: int, down: int, phase: Phase) -> _Kernel:
    filt = design(up, down, phase)
    taps = filt.taps
    gain = max(float(np.abs(taps[branch::up]).sum()) for branch in range(up))
    if gain > MAX_FILTER_GAIN:
        raise ValueError(f"filter gain {gain:.2f} exceeds what the output tables cover")
    block_out = _BLOCK_OUT[(up, down)]
    block_in, remainder = divmod(block_out * down, up)
    if remainder:
        raise ValueError(f"a block of {block_out} outputs is not a whole number of inputs")
    # Output t of a block reads input w of its window through tap k = t*down - (w-history)*up:
    # the window reaches `history` inputs back for the oldest tap, and forward only to the
    # input at or before the block's last output instant (no look-ahead).
    history = -(-(taps.size - 1) // up)
    window = history + (block_out - 1) * down // up + 1
    w = np.arange(window)[:, None]
    t = np.arange(block_out)[None, :]
    k = t * down - (w - history) * up
    inside = (k >= 0) & (k < taps.size)
    matrix = np.zeros((window + 1, block_out))
    matrix[:window] = np.where(inside, taps[np.clip(k, 0, taps.size - 1)], 0.0)
    matrix[window] = INDEX_OFFSET + 0.5
    matrix.flags.writeable = False
    max_step = max(block_in, round(_MAX_STEP_S * filt.rate / up))
    # After the history is moved back, the buffer holds at most history + block_in samples
    # (every output an input allows has been emitted); a step adds max_step and the last
    # window reads up to `window` past them.
    capacity = history + block_in + 1 + (_ROOM_STEPS + 1) * max_step + window
    max_rows = max_step // block_in + 2
    return _Kernel(filt, block_in, block_out, history, window, matrix, max_step, capacity, max_rows)


@dataclass(frozen=True, eq=False)
class _Rows:
    """Views of the work arrays for a product over ``rows`` blocks."""

    windows: FloatArray  # where the input windows are copied
    matrix: FloatArray  # windows plus the constant bias column
    product: FloatArray
    flat: FloatArray  # the product in output order


class Resampler:
    """Resample a stream of 16-bit samples by ``up / down``; one instance per stream.

    Supported ratios are those with a filter design: 1/3 (24 kHz -> 8 kHz) and 2/1
    (8 kHz -> 16 kHz). ``phase`` selects the minimum-phase (default) or linear-phase filter.
    Every call returns each output whose last input it delivers (see the module docstring).
    """

    def __init__(self, up: int, down: int, *, phase: Phase = DEFAULT_PHASE) -> None:
        kernel = _kernel(up, down, phase)
        self._kernel = kernel
        self._up = up
        self._down = down
        self._block_in = kernel.block_in
        self._block_out = kernel.block_out
        self._max_step = kernel.max_step
        self._matrix = kernel.matrix
        self._buffer = np.zeros(kernel.capacity)
        item = self._buffer.itemsize
        self._windows: FloatArray = as_strided(
            self._buffer,
            shape=((kernel.capacity - kernel.window) // kernel.block_in + 1, kernel.window),
            strides=(kernel.block_in * item, item),
            writeable=False,
        )
        self._work = np.ones((kernel.max_rows, kernel.window + 1))  # last column stays 1
        self._products = np.empty((kernel.max_rows, kernel.block_out))
        self._rows: dict[int, _Rows] = {}
        self._fill = 0  # buffer samples in use
        self._received = 0  # input samples since the stream started
        self._emitted = 0  # output samples since the stream started
        self._base_block = 0  # the block whose window starts the buffer
        self.reset()

    @property
    def design(self) -> FilterDesign:
        """The filter in use (taps, rate, group delay)."""
        return self._kernel.design

    def reset(self) -> None:
        """Forget the stream: the next input starts a new one, preceded by silence."""
        history = self._kernel.history
        self._buffer[:history] = 0.0
        self._fill = history
        self._received = 0
        self._emitted = 0
        self._base_block = 0

    def process(self, samples: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
        """Feed 16-bit samples; return every output they make due (none is held back)."""
        if samples.dtype != np.int16 or samples.ndim != 1:
            raise TypeError(f"expected a 1-D int16 array, got {samples.ndim}-D {samples.dtype}")
        return self.push(samples, pcm16_encoder())

    def flush(self) -> npt.NDArray[np.int16]:
        """End the stream and start afresh; nothing is owed, so this returns no samples."""
        return self.drain(pcm16_encoder())

    def push(
        self,
        values: npt.NDArray[Any],
        encoder: npt.NDArray[_Out],
        decoder: FloatArray | None = None,
    ) -> npt.NDArray[_Out]:
        """Feed input and return the outputs now due, looked up in ``encoder``.

        ``values`` are 16-bit samples, or keys into ``decoder`` (such as mu-law codes into
        ``tables.ulaw_decoder()``). ``encoder`` is one of the output tables of ``tables``.
        """
        count = values.shape[0]
        if count > self._max_step:
            step = self._max_step
            parts = [
                self.push(values[start : start + step], encoder, decoder)
                for start in range(0, count, step)
            ]
            return np.concatenate(parts)
        start = self._fill
        if start + count > self._buffer.size - self._kernel.window:
            start = self._move_back()
        end = start + count
        self._buffer[start:end] = values if decoder is None else decoder.take(values)
        self._fill = end
        self._received += count
        return encoder[self._ready().astype(np.intp)]

    def drain(self, encoder: npt.NDArray[_Out]) -> npt.NDArray[_Out]:
        """End the stream and start afresh: returns no outputs, as ``push`` holds none back.

        The whole stream has had its ``ceil(received * up / down)`` outputs already; the
        filter's ringing past the stream's end is dropped.
        """
        self.reset()
        return encoder[:0].copy()

    def _ready(self) -> FloatArray:
        """Compute the outputs that became due, as ``value + INDEX_OFFSET + 0.5``.

        Output ``n`` is due once input ``floor(n * down / up)`` has arrived: after ``r`` inputs,
        outputs ``0 .. ceil(r * up / down) - 1``.
        """
        available = -(-(self._up * self._received) // self._down)
        emitted = self._emitted
        if available <= emitted:
            return self._products[:0, 0]
        block_out = self._block_out
        first = emitted // block_out
        count = (available - 1) // block_out - first + 1
        rows = self._rows.get(count) or self._make_rows(count)
        offset = first - self._base_block
        np.copyto(rows.windows, self._windows[offset : offset + count])
        np.dot(rows.matrix, self._matrix, out=rows.product)
        self._emitted = available
        skip = emitted - first * block_out
        return rows.flat[skip : skip + available - emitted]

    def _move_back(self) -> int:
        """Move the live history to the front of the buffer; return the new fill."""
        first = self._emitted // self._block_out
        start = (first - self._base_block) * self._block_in
        fill = self._fill - start
        self._buffer[:fill] = self._buffer[start : self._fill]
        self._fill = fill
        self._base_block = first
        return fill

    def _make_rows(self, count: int) -> _Rows:
        matrix = self._work[:count]
        product = self._products[:count]
        rows = _Rows(matrix[:, :-1], matrix, product, product.reshape(-1))
        self._rows[count] = rows
        return rows
