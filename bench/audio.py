"""Call-path audio conversion: our converters against audioop and soxr, in one table.

Run ``python bench/audio.py`` (``--smoke`` for a quick pass that only checks it runs).

Every method converts the same signals in the same run, with state carried between calls:

- ours (minimum phase, the default) and ours (linear phase): ``telephony.audio``;
- audioop: ``ulaw2lin``/``lin2ulaw`` plus ``ratecv`` (stdlib up to 3.12, ``audioop-lts`` after);
- soxr HQ: ``soxr.ResampleStream`` at quality "HQ", with audioop's mu-law codec.

Columns:

- us/pair: CPU time of one 20 ms frame pair (a 160-byte mu-law frame to 16 kHz PCM16, and a
  960-byte 24 kHz PCM16 frame to mu-law), median and 99th percentile over interleaved runs of
  speech-like audio; x audioop: the median over audioop's.
- alias: worst level, relative to the input, of a tone from 4.1 to 12 kHz (every 50 Hz) after
  24 kHz -> 8 kHz; image: worst energy above 4 kHz for a 300-3400 Hz tone after 8 kHz -> 16 kHz.
  Both on 16-bit PCM before any mu-law encoding.
- passband: spread (max - min, dB) of the gain of 300-3400 Hz tones, down / up.
- filter: group delay of the conversion over 300-3400 Hz measured inside the output stream
  (output time 0 = input time 0), average / worst.
- hold: output held back at the end of every 20 ms call, the first included: the input so far
  times the rate ratio minus the samples returned so far, in output samples (smp) and in ms,
  average / worst. Nothing is subtracted: 0 means every call returned exactly its own 20 ms.
  A sound's delay is filter + hold.
- chunks: whether converting in chunks (random sizes, one sample, 37 ms) gives exactly the bytes
  of one whole conversion, both directions.
"""

import argparse
import gc
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Protocol

if __name__ == "__main__" and not __package__:
    # Run as a script: make the project importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import numpy.typing as npt
import soxr

from telephony.audio import (
    FRAME_MS,
    MODEL_INPUT_RATE,
    MODEL_OUTPUT_RATE,
    TWILIO_RATE,
    MulawToPcm16k,
    Pcm24kToMulaw,
    Phase,
    Resampler,
    pcm16_to_ulaw,
)
from twins.speech import speech_like

Int16Array = npt.NDArray[np.int16]
FloatArray = npt.NDArray[np.float64]

PASSBAND_TONES = np.arange(300.0, 3401.0, 50.0)
ALIAS_TONES = np.arange(4100.0, 12001.0, 50.0)
TONE_S = 0.2
SETTLE_S = 0.02  # measured segments skip this much at each end
DELAY_STEP_HZ = 10.0  # group delay from the phase difference of tones this far apart
AMPLITUDE = 0.9 * 32767


def audioop_module() -> ModuleType:
    """``audioop``, without its deprecation warning on Python 3.11 and 3.12."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop

    return audioop


# The methods --------------------------------------------------------------------------------


class Stream(Protocol):
    """One direction on 16-bit PCM, state carried between calls."""

    def feed(self, samples: Int16Array) -> Int16Array: ...

    def finish(self) -> Int16Array: ...


class WireStream(Protocol):
    """One direction on the wire formats, state carried between calls."""

    def feed(self, data: bytes) -> bytes: ...

    def finish(self) -> bytes: ...


class Method(Protocol):
    name: str

    def pcm_stream(self, rate_in: int, rate_out: int) -> Stream:
        """The resampler alone, PCM16 in and out."""
        ...

    def wire_pair(self) -> Callable[[bytes, bytes], tuple[bytes, bytes]]:
        """A fresh call: (mu-law 8 kHz frame, PCM16 24 kHz frame) -> (PCM16 16 kHz, mu-law)."""
        ...

    def wire_down(self) -> WireStream: ...

    def wire_up(self) -> WireStream: ...


class OursStream:
    def __init__(self, rate_in: int, rate_out: int, phase: Phase) -> None:
        up, down = (rate_out // rate_in, 1) if rate_out > rate_in else (1, rate_in // rate_out)
        self._resampler = Resampler(up, down, phase=phase)

    def feed(self, samples: Int16Array) -> Int16Array:
        return self._resampler.process(samples)

    def finish(self) -> Int16Array:
        return self._resampler.flush()


class OursWire:
    def __init__(self, converter: MulawToPcm16k | Pcm24kToMulaw) -> None:
        self._converter = converter

    def feed(self, data: bytes) -> bytes:
        return self._converter.convert(data)

    def finish(self) -> bytes:
        return self._converter.flush()


@dataclass
class Ours:
    phase: Phase
    name: str

    def pcm_stream(self, rate_in: int, rate_out: int) -> Stream:
        return OursStream(rate_in, rate_out, self.phase)

    def wire_pair(self) -> Callable[[bytes, bytes], tuple[bytes, bytes]]:
        incoming = MulawToPcm16k(phase=self.phase)
        outgoing = Pcm24kToMulaw(phase=self.phase)

        def pair(ulaw: bytes, pcm: bytes) -> tuple[bytes, bytes]:
            return incoming.convert(ulaw), outgoing.convert(pcm)

        return pair

    def wire_down(self) -> WireStream:
        return OursWire(Pcm24kToMulaw(phase=self.phase))

    def wire_up(self) -> WireStream:
        return OursWire(MulawToPcm16k(phase=self.phase))


class RatecvStream:
    def __init__(self, rate_in: int, rate_out: int) -> None:
        self._audioop = audioop_module()
        self._rates = (rate_in, rate_out)
        self._state: object = None

    def feed(self, samples: Int16Array) -> Int16Array:
        out, self._state = self._audioop.ratecv(
            samples.astype("<i2").tobytes(), 2, 1, *self._rates, self._state
        )
        return np.frombuffer(out, dtype="<i2")

    def finish(self) -> Int16Array:
        return np.zeros(0, dtype=np.int16)


class RatecvWire:
    def __init__(self, rate_in: int, rate_out: int) -> None:
        self._audioop = audioop_module()
        self._rates = (rate_in, rate_out)
        self._state: object = None

    def feed(self, data: bytes) -> bytes:
        audioop = self._audioop
        if self._rates[0] == TWILIO_RATE:
            out, self._state = audioop.ratecv(
                audioop.ulaw2lin(data, 2), 2, 1, *self._rates, self._state
            )
            return bytes(out)
        out, self._state = audioop.ratecv(data, 2, 1, *self._rates, self._state)
        return bytes(audioop.lin2ulaw(out, 2))

    def finish(self) -> bytes:
        return b""


class Audioop:
    name = "audioop ulaw + ratecv"

    def pcm_stream(self, rate_in: int, rate_out: int) -> Stream:
        return RatecvStream(rate_in, rate_out)

    def wire_pair(self) -> Callable[[bytes, bytes], tuple[bytes, bytes]]:
        incoming = RatecvWire(TWILIO_RATE, MODEL_INPUT_RATE)
        outgoing = RatecvWire(MODEL_OUTPUT_RATE, TWILIO_RATE)

        def pair(ulaw: bytes, pcm: bytes) -> tuple[bytes, bytes]:
            return incoming.feed(ulaw), outgoing.feed(pcm)

        return pair

    def wire_down(self) -> WireStream:
        return RatecvWire(MODEL_OUTPUT_RATE, TWILIO_RATE)

    def wire_up(self) -> WireStream:
        return RatecvWire(TWILIO_RATE, MODEL_INPUT_RATE)


class SoxrStream:
    def __init__(self, rate_in: int, rate_out: int) -> None:
        self._stream = soxr.ResampleStream(rate_in, rate_out, 1, dtype="int16", quality="HQ")

    def feed(self, samples: Int16Array) -> Int16Array:
        out: Int16Array = self._stream.resample_chunk(samples)
        return out

    def finish(self) -> Int16Array:
        out: Int16Array = self._stream.resample_chunk(np.zeros(0, dtype=np.int16), last=True)
        return out


class SoxrWire:
    def __init__(self, rate_in: int, rate_out: int) -> None:
        self._audioop = audioop_module()
        self._stream = SoxrStream(rate_in, rate_out)
        self._from_twilio = rate_in == TWILIO_RATE

    def feed(self, data: bytes) -> bytes:
        if self._from_twilio:
            samples = np.frombuffer(self._audioop.ulaw2lin(data, 2), dtype="<i2")
            return self._stream.feed(samples).tobytes()
        return bytes(self._audioop.lin2ulaw(self._stream.feed(np.frombuffer(data, "<i2")), 2))

    def finish(self) -> bytes:
        tail = self._stream.finish()
        return tail.tobytes() if self._from_twilio else bytes(self._audioop.lin2ulaw(tail, 2))


class Soxr:
    name = "soxr HQ stream"

    def pcm_stream(self, rate_in: int, rate_out: int) -> Stream:
        return SoxrStream(rate_in, rate_out)

    def wire_pair(self) -> Callable[[bytes, bytes], tuple[bytes, bytes]]:
        incoming = SoxrWire(TWILIO_RATE, MODEL_INPUT_RATE)
        outgoing = SoxrWire(MODEL_OUTPUT_RATE, TWILIO_RATE)

        def pair(ulaw: bytes, pcm: bytes) -> tuple[bytes, bytes]:
            return incoming.feed(ulaw), outgoing.feed(pcm)

        return pair

    def wire_down(self) -> WireStream:
        return SoxrWire(MODEL_OUTPUT_RATE, TWILIO_RATE)

    def wire_up(self) -> WireStream:
        return SoxrWire(TWILIO_RATE, MODEL_INPUT_RATE)


def methods() -> list[Method]:
    return [
        Ours("minimum", "ours, minimum phase (default)"),
        Ours("linear", "ours, linear phase"),
        Audioop(),
        Soxr(),
    ]


# Speed --------------------------------------------------------------------------------------


def frame_pairs(seconds: float) -> list[tuple[bytes, bytes]]:
    """20 ms frames of speech-like audio: (mu-law 8 kHz, PCM16 24 kHz)."""
    twilio = pcm16_to_ulaw(speech_like(seconds, TWILIO_RATE, seed=1).astype("<i2").tobytes())
    model = speech_like(seconds, MODEL_OUTPUT_RATE, seed=2).astype("<i2").tobytes()
    ulaw_frame = TWILIO_RATE * FRAME_MS // 1000
    pcm_frame = MODEL_OUTPUT_RATE * FRAME_MS // 1000 * 2
    count = min(len(twilio) // ulaw_frame, len(model) // pcm_frame)
    return [
        (twilio[i * ulaw_frame : (i + 1) * ulaw_frame], model[i * pcm_frame : (i + 1) * pcm_frame])
        for i in range(count)
    ]


def time_pairs(all_methods: list[Method], rounds: int, per_round: int) -> dict[str, FloatArray]:
    """Nanoseconds per frame pair; methods interleaved round by round so drift hits all alike."""
    frames = frame_pairs(2.0)
    pairs = {method.name: method.wire_pair() for method in all_methods}
    timings: dict[str, list[int]] = {name: [] for name in pairs}
    clock = time.perf_counter_ns
    for pair in pairs.values():
        for ulaw, pcm in frames * 5:  # warm-up
            pair(ulaw, pcm)
    gc.disable()
    try:
        for _ in range(rounds):
            for name, pair in pairs.items():
                samples = timings[name]
                for i in range(per_round):
                    ulaw, pcm = frames[i % len(frames)]
                    start = clock()
                    pair(ulaw, pcm)
                    samples.append(clock() - start)
    finally:
        gc.enable()
    return {name: np.asarray(values, dtype=np.float64) for name, values in timings.items()}


# Quality ------------------------------------------------------------------------------------


def tone(freq: float, rate: int) -> Int16Array:
    t = np.arange(round(TONE_S * rate)) / rate
    return np.round(AMPLITUDE * np.cos(2 * np.pi * freq * t + 0.3)).astype(np.int16)


def stream_frames(stream: Stream, samples: Int16Array, rate: int) -> list[Int16Array]:
    """Feed 20 ms frames, then finish; the outputs of every call, the finish last."""
    frame = rate * FRAME_MS // 1000
    outputs = [stream.feed(samples[i : i + frame]) for i in range(0, samples.size, frame)]
    return [*outputs, stream.finish()]


def convert(method: Method, samples: Int16Array, rate_in: int, rate_out: int) -> FloatArray:
    parts = stream_frames(method.pcm_stream(rate_in, rate_out), samples, rate_in)
    return np.concatenate(parts).astype(np.float64)


def steady(signal: FloatArray, rate: int) -> FloatArray:
    skip = round(SETTLE_S * rate)
    return signal[skip : round(TONE_S * rate) - skip]


def phasor(signal: FloatArray, freq: float, rate: int) -> complex:
    """Complex amplitude of ``freq`` in a steady segment (time 0 at the stream's start)."""
    t = (np.arange(signal.size) + round(SETTLE_S * rate)) / rate
    basis = np.stack([np.cos(2 * np.pi * freq * t), np.sin(2 * np.pi * freq * t), t * 0 + 1], 1)
    (cos, sin, _), *_ = np.linalg.lstsq(basis, signal, rcond=None)
    return complex(cos, -sin)


def response(method: Method, freq: float, rate_in: int, rate_out: int) -> complex:
    x = tone(freq, rate_in)
    y = convert(method, x, rate_in, rate_out)
    into = phasor(steady(x.astype(np.float64), rate_in), freq, rate_in)
    return phasor(steady(y, rate_out), freq, rate_out) / into


def db(ratio: float) -> float:
    return 20.0 * float(np.log10(max(ratio, 1e-12)))


def rms(signal: FloatArray) -> float:
    return float(np.sqrt(np.mean(signal**2))) if signal.size else 0.0


def worst_alias_db(method: Method) -> float:
    levels = []
    for freq in ALIAS_TONES:
        x = tone(freq, MODEL_OUTPUT_RATE)
        y = convert(method, x, MODEL_OUTPUT_RATE, TWILIO_RATE)
        into = rms(steady(x.astype(np.float64), MODEL_OUTPUT_RATE))
        levels.append(db(rms(steady(y, TWILIO_RATE)) / into))
    return max(levels)


def worst_image_db(method: Method) -> float:
    worst = -np.inf
    for freq in PASSBAND_TONES:
        y = convert(method, tone(freq, TWILIO_RATE), TWILIO_RATE, MODEL_INPUT_RATE)
        y = steady(y, MODEL_INPUT_RATE)
        n = 2 * np.pi * np.arange(y.size) / y.size
        window = 0.35875 - 0.48829 * np.cos(n) + 0.14128 * np.cos(2 * n) - 0.01168 * np.cos(3 * n)
        power = np.abs(np.fft.rfft(y * window)) ** 2
        above = np.fft.rfftfreq(y.size, 1 / MODEL_INPUT_RATE) > 4000.0
        worst = max(worst, 10 * float(np.log10(max(power[above].sum(), 1e-30) / power.sum())))
    return worst


@dataclass
class Delay:
    filter_avg_ms: float
    filter_worst_ms: float
    hold_avg: float  # output samples
    hold_worst: float  # output samples
    rate_out: int
    passband_spread_db: float

    @property
    def hold_avg_ms(self) -> float:
        return 1e3 * self.hold_avg / self.rate_out

    @property
    def hold_worst_ms(self) -> float:
        return 1e3 * self.hold_worst / self.rate_out


def held_samples(method: Method, rate_in: int, rate_out: int) -> FloatArray:
    """Output samples held back after each 20 ms frame of speech-like input (none subtracted)."""
    speech = speech_like(2.0, rate_in, seed=3)
    outputs = stream_frames(method.pcm_stream(rate_in, rate_out), speech, rate_in)[:-1]
    emitted = np.cumsum([part.size for part in outputs])
    owed = rate_out * FRAME_MS // 1000 * np.arange(1, len(outputs) + 1)
    return np.asarray(owed - emitted, dtype=np.float64)


def delay_and_passband(method: Method, rate_in: int, rate_out: int) -> Delay:
    held = held_samples(method, rate_in, rate_out)
    # Group delay inside the output stream, from the phase slope of neighbouring tones.
    responses = [response(method, f, rate_in, rate_out) for f in PASSBAND_TONES]
    group = []
    for freq, here in zip(PASSBAND_TONES, responses, strict=True):
        turn = response(method, freq + DELAY_STEP_HZ, rate_in, rate_out) / here
        group.append(-float(np.angle(turn)) / (2 * np.pi * DELAY_STEP_HZ))
    gains = [db(abs(r)) for r in responses]
    return Delay(
        1e3 * float(np.mean(group)),
        1e3 * float(np.max(group)),
        float(held.mean()),
        float(held.max()),
        rate_out,
        max(gains) - min(gains),
    )


def chunk_invariant(method: Method) -> bool:
    rng = np.random.default_rng(5)
    model = speech_like(1.0, MODEL_OUTPUT_RATE, seed=4).astype("<i2").tobytes()
    twilio = pcm16_to_ulaw(speech_like(1.0, TWILIO_RATE, seed=6).astype("<i2").tobytes())
    for data, width, rate, make in (
        (model, 2, MODEL_OUTPUT_RATE, method.wire_down),
        (twilio, 1, TWILIO_RATE, method.wire_up),
    ):
        whole_stream = make()
        whole = whole_stream.feed(data) + whole_stream.finish()
        samples = len(data) // width
        chunkings = [
            rng.integers(1, 2000, samples).tolist(),
            [1] * samples,
            [rate * 37 // 1000] * (samples // (rate * 37 // 1000) + 1),
        ]
        for sizes in chunkings:
            stream = make()
            if _pieces(stream, data, (size * width for size in sizes)) != whole:
                return False
    return True


def _pieces(stream: WireStream, data: bytes, sizes: Iterable[int]) -> bytes:
    out, start = [], 0
    for size in sizes:
        if start >= len(data):
            break
        out.append(stream.feed(data[start : start + size]))
        start += size
    out.append(stream.finish())
    return b"".join(out)


# Report -------------------------------------------------------------------------------------


def pair_ms(average: float, worst: float) -> str:
    # Round before formatting so that a tiny negative value does not print as -0.00.
    return f"{round(average, 2) + 0.0:.2f}/{round(worst, 2) + 0.0:.2f}"


def pair_samples(average: float, worst: float) -> str:
    return f"{round(average, 1) + 0.0:.1f}/{round(worst) + 0:d}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="few iterations: check it runs")
    args = parser.parse_args()
    rounds, per_round = (2, 200) if args.smoke else (10, 3000)
    all_methods = methods()
    timings = time_pairs(all_methods, rounds, per_round)
    reference = float(np.median(timings[Audioop.name]))
    header = (
        "method",
        "us/pair med",
        "p99",
        "x audioop",
        "alias dB",
        "image dB",
        "passband dB dn/up",
        "24k>8k filter ms",
        "24k>8k hold smp",
        "24k>8k hold ms",
        "8k>16k filter ms",
        "8k>16k hold smp",
        "8k>16k hold ms",
        "chunks",
    )
    rows = []
    for method in all_methods:
        ns = timings[method.name]
        down = delay_and_passband(method, MODEL_OUTPUT_RATE, TWILIO_RATE)
        up = delay_and_passband(method, TWILIO_RATE, MODEL_INPUT_RATE)
        rows.append(
            (
                method.name,
                f"{np.median(ns) / 1e3:.1f}",
                f"{np.percentile(ns, 99) / 1e3:.1f}",
                f"{np.median(ns) / reference:.2f}",
                f"{worst_alias_db(method):.1f}",
                f"{worst_image_db(method):.1f}",
                f"{down.passband_spread_db:.2f}/{up.passband_spread_db:.2f}",
                pair_ms(down.filter_avg_ms, down.filter_worst_ms),
                pair_samples(down.hold_avg, down.hold_worst),
                pair_ms(down.hold_avg_ms, down.hold_worst_ms),
                pair_ms(up.filter_avg_ms, up.filter_worst_ms),
                pair_samples(up.hold_avg, up.hold_worst),
                pair_ms(up.hold_avg_ms, up.hold_worst_ms),
                "yes" if chunk_invariant(method) else "no",
            )
        )
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return " | ".join([first, *rest])

    print(line(header))
    print("-+-".join("-" * width for width in widths))
    for row in rows:
        print(line(row))
    print(
        "filter/hold: average/worst; hold smp: output samples held back after a 20 ms call;"
        " a sound's delay is filter + hold. See the module docstring."
    )


if __name__ == "__main__":
    main()
