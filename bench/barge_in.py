"""The call's own barge-in detector on a phone line: false barge-ins on echo and noise, and how
soon a caller who really talks over the agent is noticed.

Run ``python bench/barge_in.py`` (``--smoke`` for a quick pass that only checks it runs).

Each case is a line signal built as the call receives it: the agent's voice (speech-like audio,
-18 dBFS) converted to mu-law as the call sends it, returned by the line ``erl`` dB down after
``delay`` ms (the echo), plus line noise, plus (in the "caller" cases) the caller talking over
the agent from t = 1 s at their own level; encoded to mu-law and converted to 16 kHz exactly as
the call does (``MulawToPcm16k``), then fed frame by frame to ``SpeechOnset`` with the agent's
level as the call computes it (the loudest 40 ms chunk in Twilio's buffer).

Columns:

- false/min: onsets found per minute of agent speech when the caller says nothing (every one
  would be a false barge-in: playback cut for nothing);
- found: share of caller cases in which the caller's speech was noticed while the agent played;
- onset p50/p90: ms from the caller's first word to the onset (the clear goes out then).
"""

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telephony.audio import MulawToPcm16k, Pcm24kToMulaw, pcm16_to_ulaw, ulaw_to_pcm16
from telephony.audio.speech import SpeechOnset, level_dbfs
from twins.speech import speech_like

LINE_RATE = 8000
FRAME = 160  # 20 ms of mu-law at 8 kHz
AGENT_DBFS = -18.0
CALLER_START_S = 1.0


@dataclass(frozen=True)
class Line:
    erl_db: float
    """Echo return loss: how far below the agent its echo comes back."""
    delay_ms: float
    noise_dbfs: float | None


def at_level(signal: np.ndarray, dbfs: float) -> np.ndarray:
    rms = float(np.sqrt(np.mean(np.square(signal.astype(np.float64)))))
    return signal.astype(np.float64) * (32768 * 10 ** (dbfs / 20) / rms)


def agent_voice(seconds: float, seed: int) -> tuple[np.ndarray, float]:
    """The agent's audio as the line carries it (8 kHz linear), and the level the call takes
    for it: its loudest 40 ms chunk at 24 kHz."""
    pcm24 = np.clip(at_level(speech_like(seconds, 24000, seed=seed), AGENT_DBFS), -32768, 32767)
    pcm24 = pcm24.astype("<i2")
    chunk = 960  # 40 ms at 24 kHz
    loudest = max(level_dbfs(pcm24[i : i + chunk].tobytes()) for i in range(0, len(pcm24), chunk))
    ulaw = Pcm24kToMulaw().convert(pcm24.tobytes())
    line = np.frombuffer(ulaw_to_pcm16(ulaw), dtype="<i2").astype(np.float64)
    return line, loudest


def run_case(line: Line, seconds: float, seed: int, caller_dbfs: float | None) -> list[float]:
    """Onset times (s) on the line while the agent plays."""
    agent, agent_dbfs = agent_voice(seconds, seed)
    received = np.zeros_like(agent)
    shift = int(LINE_RATE * line.delay_ms / 1000)
    received[shift:] += agent[: len(agent) - shift] * 10 ** (-line.erl_db / 20)
    rng = np.random.default_rng(seed + 1000)
    if line.noise_dbfs is not None:
        received += at_level(rng.standard_normal(len(received)), line.noise_dbfs)
    if caller_dbfs is not None:
        start = int(LINE_RATE * CALLER_START_S)
        caller = at_level(
            speech_like(seconds - CALLER_START_S, LINE_RATE, seed=seed + 7), caller_dbfs
        )
        received[start : start + len(caller)] += caller[: len(received) - start]
    ulaw = pcm16_to_ulaw(np.clip(received, -32768, 32767).astype("<i2").tobytes())
    up = MulawToPcm16k()
    detector = SpeechOnset()
    found = []
    for k in range(len(ulaw) // FRAME):
        pcm16 = up.convert(ulaw[k * FRAME : (k + 1) * FRAME])
        if detector.feed(pcm16, 20.0, agent_dbfs):
            found.append((k + 1) * 0.02)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="one short case of each kind")
    args = parser.parse_args()
    seconds, seeds = (4.0, 2) if args.smoke else (10.0, 12)
    lines = [
        Line(6.0, 40.0, -60.0),
        Line(10.0, 60.0, -60.0),
        Line(12.0, 60.0, -50.0),
        Line(20.0, 100.0, -50.0),
        Line(30.0, 60.0, -40.0),
        Line(12.0, 60.0, -35.0),
    ]
    if args.smoke:
        lines = lines[1:3]
    print(
        f"agent at {AGENT_DBFS:.0f} dBFS; {seeds} voices x {seconds:.0f} s a line; caller from 1 s"
    )
    print(" ERL dB | delay ms | noise dBFS | false/min | caller dBFS | found | onset p50/p90 ms")
    print("--------+----------+------------+-----------+-------------+-------+-----------------")
    for line in lines:
        false = sum(len(run_case(line, seconds, seed, None)) for seed in range(seeds))
        per_min = false / (seeds * seconds / 60)
        for caller_dbfs in (-30.0, -24.0, -18.0):
            delays = []
            for seed in range(seeds):
                onsets = [
                    t for t in run_case(line, seconds, seed, caller_dbfs) if t >= CALLER_START_S
                ]
                if onsets:
                    delays.append((onsets[0] - CALLER_START_S) * 1000)
            found = len(delays) / seeds
            p50, p90 = np.percentile(delays, [50, 90]) if delays else (float("nan"),) * 2
            print(
                f" {line.erl_db:6.0f} | {line.delay_ms:8.0f} | {line.noise_dbfs:10.0f} |"
                f" {per_min:9.1f} | {caller_dbfs:11.0f} | {found:5.0%} | {p50:7.0f}/{p90:<7.0f}"
            )


if __name__ == "__main__":
    main()
