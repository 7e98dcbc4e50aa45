"""Voicemail detection from the audio alone (``telephony.audio.voicemail``): how often it is
right on generated answers, and how close to the end of the beep it says so.

Run ``python bench/voicemail.py`` (``--cases N`` per kind, default 100; ``--smoke``: 5).

Each case is what the far end sends after answering, through mu-law, with line noise
(-60 to -45 dBFS) and speech at -30 to -15 dBFS (``twins.speech``):

- person: a short "hello?" (0.3-2.0 s), then waits in silence;
- talkative person: a long hello (2.6-4 s, over the 2.4 s rule), then silence: the rule calls
  that a machine, as Twilio's does (its default threshold is the same 2.4 s);
- machine + beep: a greeting of 3-15 s with pauses of 0.2-0.5 s, a gap of 0-0.6 s, then a
  beep of 300-1000 ms at 400-2000 Hz, -25 to -8 dBFS;
- machine, silence: the same greeting, then no beep;
- nobody: noise only.

Columns: the share of each kind reported as each verdict; for beeps, the time from the end of
the beep to the verdict (median, worst, in ms: how soon a message could start).
"""

import argparse
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

if __name__ == "__main__" and not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import numpy.typing as npt

from telephony.audio import TWILIO_RATE, pcm16_to_ulaw, ulaw_to_pcm16
from telephony.audio.voicemail import VoicemailDetector
from twins.speech import speech_like

KINDS = ("person", "talkative person", "machine + beep", "machine, silence", "nobody")
EXPECTED = {
    "person": "human",
    "talkative person": "human",
    "machine + beep": "machine_end_beep",
    "machine, silence": "machine_end_silence",
    "nobody": "unknown",
}
VERDICTS = ("human", "machine_end_beep", "machine_end_silence", "unknown")


@dataclass(frozen=True)
class Case:
    kind: str
    audio: bytes
    beep_end_ms: float | None


def _speech(rng: np.random.Generator, seconds: float) -> npt.NDArray[np.float64]:
    level = rng.uniform(-30, -15)
    return speech_like(seconds, TWILIO_RATE, seed=int(rng.integers(1 << 30)), level_dbfs=level)


def _greeting(rng: np.random.Generator) -> npt.NDArray[np.float64]:
    total, parts = rng.uniform(3, 15), []
    spoken = 0.0
    while spoken < total:
        phrase = rng.uniform(0.8, 3.0)
        parts += [
            _speech(rng, phrase).astype(np.float64),
            np.zeros(int(rng.uniform(0.2, 0.5) * TWILIO_RATE)),
        ]
        spoken += phrase
    return np.concatenate(parts)


def make_case(kind: str, seed: int) -> Case:
    rng = np.random.default_rng(seed)
    silence = np.zeros(int(8 * TWILIO_RATE))
    beep_end = None
    if kind == "person":
        audio = np.concatenate(
            [
                np.zeros(int(rng.uniform(0.1, 0.6) * TWILIO_RATE)),
                _speech(rng, rng.uniform(0.3, 2.0)),
                silence,
            ]
        )
    elif kind == "talkative person":
        audio = np.concatenate([_speech(rng, rng.uniform(2.6, 4.0)), silence])
    elif kind == "nobody":
        audio = np.zeros(int(8 * TWILIO_RATE))
    else:
        greeting = np.concatenate(
            [_greeting(rng), np.zeros(int(rng.uniform(0, 0.6) * TWILIO_RATE))]
        )
        if kind == "machine + beep":
            t = np.arange(int(rng.uniform(0.3, 1.0) * TWILIO_RATE)) / TWILIO_RATE
            amplitude = 32768 * 10 ** (rng.uniform(-25, -8) / 20) * np.sqrt(2)
            beep = amplitude * np.sin(2 * np.pi * rng.uniform(400, 2000) * t)
            beep_end = (len(greeting) + len(beep)) * 1000 / TWILIO_RATE
            audio = np.concatenate([greeting, beep, silence])
        else:
            audio = np.concatenate([greeting, silence])
    noise = rng.normal(0, 32768 * 10 ** (rng.uniform(-60, -45) / 20), len(audio))
    pcm = np.clip(audio + noise, -32768, 32767).astype("<i2").tobytes()
    return Case(kind, ulaw_to_pcm16(pcm16_to_ulaw(pcm)), beep_end)


def detect(case: Case) -> tuple[str, int]:
    detector = VoicemailDetector()
    frame = 320  # 20 ms of 16-bit samples, as the call receives them
    for offset in range(0, len(case.audio), frame):
        verdict = detector.feed(case.audio[offset : offset + frame])
        if verdict is not None:
            return verdict.answered_by, verdict.at_ms
    return "none", len(case.audio) * 1000 // (2 * TWILIO_RATE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    cases = 5 if args.smoke else args.cases
    print(f"{cases} cases per kind")
    header = f"{'kind':<18} | " + " | ".join(f"{v:>19}" for v in VERDICTS) + " | right"
    print(header)
    print("-" * len(header))
    right_total = 0
    lateness: list[float] = []
    for index, kind in enumerate(KINDS):
        counts: Counter[str] = Counter()
        for seed in range(cases):
            case = make_case(kind, 1000 * index + seed)
            verdict, at_ms = detect(case)
            counts[verdict] += 1
            if verdict == "machine_end_beep" and case.beep_end_ms is not None:
                lateness.append(at_ms - case.beep_end_ms)
        right = counts[EXPECTED[kind]]
        right_total += right
        shares = " | ".join(f"{100 * counts[v] / cases:>18.0f}%" for v in VERDICTS)
        print(f"{kind:<18} | {shares} | {100 * right / cases:.0f}%")
    print(f"\noverall right: {100 * right_total / (cases * len(KINDS)):.1f}%")
    if lateness:
        late = np.array(lateness)
        print(
            f"beep end -> verdict: median {np.median(late):.0f} ms, "
            f"worst {late.max():.0f} ms, earliest {late.min():.0f} ms"
        )


if __name__ == "__main__":
    main()
