"""Frame alignment: a frame's audio comes out of the converter call for that frame, in place.

A click (one full-scale sample on silence) at input sample ``i`` of a call must start in that
same call's output, at the output sample of the click's own instant: ``2 * i`` for 8 kHz mu-law
-> 16 kHz PCM16, and ``i`` for 24 kHz sample ``3 * i`` -> 8 kHz mu-law.

The criterion is the onset, not the peak (a minimum-phase response starts small and peaks a few
samples later, possibly in the next message). For the message that must hold the click:

- silent before: every output sample before the onset index is within ``SILENCE_LSB`` of
  silence (0), and every earlier message is silent the same way;
- onset: the sample at the onset index is not within ``SILENCE_LSB`` (it is the filter's first
  tap times the click: about 2 % of the click up, 0.1 % down);
- clear: within one 8 kHz period from the onset (output samples ``2i`` and ``2i + 1`` up,
  codes ``i`` and ``i + 1`` down, the latter from the next message when ``i`` is the last) the
  response reaches ``CLEAR_FRACTION`` of the click (it does: about 14 % up, 4 % down).

Mu-law output is decoded before the comparisons (mu-law silence decodes to exactly 0).

Downlink chunks that are not a whole number of 3-sample groups: output code ``n`` sits at 24 kHz
sample ``3n`` of the stream, and the call that delivers that sample returns it. A click at
stream sample ``g`` therefore starts at code ``ceil(g / 3)``, which is in the same call's output
unless that instant lies past the call's last sample; then it is the next call's first code
(the code's instant has not been reached yet, so it is not held back: it is not due).
"""

from collections.abc import Sequence
from itertools import accumulate, cycle, islice, pairwise

import numpy as np
import numpy.typing as npt
import pytest

from telephony.audio import (
    MODEL_OUTPUT_FRAME_BYTES,
    PCM16_WIDTH,
    TWILIO_FRAME_SAMPLES,
    ULAW_SILENCE,
    MulawToPcm16k,
    Pcm24kToMulaw,
    pcm16_to_ulaw,
    ulaw_to_pcm16,
)

Int16Array = npt.NDArray[np.int16]

CLICK = 32124  # the largest mu-law magnitude, so the same click is exact in both formats
CLICK_ULAW = pcm16_to_ulaw(np.array([CLICK], "<i2").tobytes())
SILENCE_LSB = 1
"""How far from 0 an output sample may be and still count as silence."""
CLEAR_FRACTION = 0.02
"""Share of the click the response must reach within one 8 kHz period of its onset."""
DOWN = 3  # 24 kHz samples per 8 kHz code
UP = 2  # 16 kHz samples per 8 kHz mu-law byte
FRAME_INDICES = [0, 1, 7]  # which call of the stream carries the click
TAIL = 2 * DOWN  # trailing silent samples: the codes after the last onset


# Streams ------------------------------------------------------------------------------------


def uplink(chunks: Sequence[bytes]) -> list[Int16Array]:
    """Each call's 16 kHz output, for mu-law chunks fed to one ``MulawToPcm16k``."""
    converter = MulawToPcm16k()
    return [np.frombuffer(converter.convert(chunk), "<i2") for chunk in chunks]


def downlink(chunks: Sequence[bytes]) -> list[Int16Array]:
    """Each call's 8 kHz output, decoded from mu-law, for PCM16 chunks fed to one converter."""
    converter = Pcm24kToMulaw()
    return [np.frombuffer(ulaw_to_pcm16(converter.convert(chunk)), "<i2") for chunk in chunks]


def ulaw_chunk(samples: int, click_at: int | None = None) -> bytes:
    chunk = bytearray([ULAW_SILENCE]) * samples
    if click_at is not None:
        chunk[click_at] = CLICK_ULAW[0]
    return bytes(chunk)


def pcm_chunk(samples: int, click_at: int | None = None) -> bytes:
    chunk = np.zeros(samples, "<i2")
    if click_at is not None:
        chunk[click_at] = CLICK
    return chunk.tobytes()


# The criterion ------------------------------------------------------------------------------


def onset(samples: Int16Array) -> int | None:
    """Index of the first sample that is not silence (more than ``SILENCE_LSB`` from 0)."""
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > SILENCE_LSB)
    return int(loud[0]) if loud.size else None


def assert_click_starts_at(messages: list[Int16Array], message: int, index: int) -> None:
    """The click's onset is sample ``index`` of ``messages[message]`` and clear by ``index + 1``."""
    for earlier in range(message):
        assert onset(messages[earlier]) is None, f"sound in message {earlier} before the click"
    assert onset(messages[message]) == index
    following = np.concatenate(messages[message:])[index : index + 2].astype(np.int32)
    assert np.abs(following).max() >= CLEAR_FRACTION * CLICK


# Uplink: Twilio frames -> model messages ----------------------------------------------------


@pytest.mark.parametrize("frame", FRAME_INDICES)
def test_a_click_in_a_twilio_frame_starts_at_2i_of_that_frames_own_message(frame: int) -> None:
    for i in range(TWILIO_FRAME_SAMPLES):
        frames = [ulaw_chunk(TWILIO_FRAME_SAMPLES)] * frame
        messages = uplink([*frames, ulaw_chunk(TWILIO_FRAME_SAMPLES, click_at=i)])
        assert [m.size for m in messages] == [UP * TWILIO_FRAME_SAMPLES] * (frame + 1)
        assert_click_starts_at(messages, frame, UP * i)
        assert onset(np.concatenate(messages)) == UP * (frame * TWILIO_FRAME_SAMPLES + i)


@pytest.mark.parametrize("sizes", [[1], [7, 1, 333], [161, 159, 2]])
def test_with_any_chunk_lengths_a_click_starts_at_2i_of_its_own_call(sizes: list[int]) -> None:
    calls = list(islice(cycle(sizes), 12))
    for call, size in enumerate(calls):
        for i in sorted({0, size // 2, size - 1}):
            chunks = [ulaw_chunk(n, click_at=i if k == call else None) for k, n in enumerate(calls)]
            messages = uplink(chunks)
            assert [m.size for m in messages] == [UP * n for n in calls]
            assert_click_starts_at(messages, call, UP * i)


# Downlink: model chunks -> Twilio messages --------------------------------------------------


@pytest.mark.parametrize("chunk_samples", [3, 480, 1203])  # 1 group, 20 ms, an odd 50.1 ms
@pytest.mark.parametrize("chunk", FRAME_INDICES)
def test_a_click_at_3i_of_a_model_chunk_starts_at_code_i_of_that_chunks_own_output(
    chunk: int, chunk_samples: int
) -> None:
    codes = chunk_samples // DOWN
    for i in range(codes):
        chunks = [pcm_chunk(chunk_samples)] * chunk
        clicked = pcm_chunk(chunk_samples, click_at=DOWN * i)
        messages = downlink([*chunks, clicked, pcm_chunk(chunk_samples)])
        assert [m.size for m in messages] == [codes] * (chunk + 2)
        assert_click_starts_at(messages, chunk, i)
        assert onset(np.concatenate(messages)) == chunk * codes + i


@pytest.mark.parametrize(
    "calls",
    [[1] * 12, [2, 5] * 4, [481] * 4, [481, 2, 479, 4, 1, 478], [100, 1, 1, 1, 100]],
    ids=["1", "2+5", "481", "mixed", "ones-inside"],
)
def test_with_any_chunk_lengths_a_click_starts_at_the_first_code_at_or_after_it(
    calls: list[int],
) -> None:
    """Code ``n`` is due with 24 kHz sample ``3n``: the call delivering that sample returns it.

    Clicks at every sample within a few samples of each call boundary; a silent call of
    ``TAIL`` samples at the end lets the latest onset (and the response after it) show.
    """
    calls = [*calls, TAIL]
    starts = [0, *accumulate(calls)]
    near = {at for start in starts[:-1] for at in range(start - DOWN, start + DOWN + 1)}
    for clicked_at in sorted(at for at in near if 0 <= at < starts[-2]):
        messages = downlink(_pcm_stream(calls, clicked_at))
        first_code = _codes_due(clicked_at)
        due_in = _call_holding(starts, DOWN * first_code)
        assert [m.size for m in messages] == [
            _codes_due(end) - _codes_due(start) for start, end in _spans(starts)
        ]
        assert_click_starts_at(messages, due_in, first_code - _codes_due(starts[due_in]))


def test_a_click_split_between_calls_mid_sample_starts_when_its_sample_completes() -> None:
    """The first byte of the clicked sample ends call 0: the sample, and its code, are call 1's."""
    frame = MODEL_OUTPUT_FRAME_BYTES // PCM16_WIDTH
    stream = pcm_chunk(2 * frame, click_at=frame)
    split = frame * PCM16_WIDTH + 1
    messages = downlink([stream[:split], stream[split:]])
    assert [m.size for m in messages] == [frame // DOWN] * 2
    assert_click_starts_at(messages, 1, 0)


def _pcm_stream(calls: list[int], clicked_at: int) -> list[bytes]:
    stream = pcm_chunk(sum(calls), click_at=clicked_at)
    starts = [0, *accumulate(calls)]
    return [stream[start * PCM16_WIDTH : end * PCM16_WIDTH] for start, end in _spans(starts)]


def _spans(starts: list[int]) -> list[tuple[int, int]]:
    return list(pairwise(starts))


def _codes_due(samples: int) -> int:
    """Codes due once ``samples`` 24 kHz samples have arrived: instants 0, 3, ... below it."""
    return -(-samples // DOWN)


def _call_holding(starts: list[int], sample: int) -> int:
    """Index of the call whose input holds stream sample ``sample``."""
    return next(k for k, end in enumerate(starts[1:]) if sample < end)
