"""Printing what a simulated call measured, and its transcript, for a person to read."""

from collections.abc import Sequence
from statistics import median
from typing import Any

from twins.twilio import CallResult


def print_call(result: CallResult) -> None:
    metrics = result.metrics
    print(f"Call {result.call_sid}: ended ({result.end_reason})")
    first = metrics.first_audio_ms
    print(f"  stream start -> first agent audio (greeting): {_ms(first)}")
    print(f"  caller stops speaking -> agent audio plays:  {_series(metrics.reply_latencies_ms)}")
    print(f"  caller talks over agent -> clear received:   {_series(metrics.clear_latencies_ms)}")
    print(f"  agent audio discarded by clear:              {metrics.audio_discarded_ms:.0f} ms")
    print(
        f"  frames sent {metrics.frames_sent} (late {metrics.late_frames}), "
        f"media received {metrics.media_received}, marks {metrics.marks_received}, "
        f"clears {metrics.clears_received}, protocol violations {metrics.violations}"
    )
    if result.heard_wav is not None:
        print(f"  what the caller heard ({result.heard_seconds:.1f} s): {result.heard_wav}")


def print_transcript(transcript: dict[str, Any]) -> None:
    call = transcript["call"]
    print(f"Transcript (agent {call['agent']}, ended: {call['end_reason']}):")
    for turn in transcript["turns"]:
        span = f"{turn['start_ms'] / 1000:5.1f}-{turn['end_ms'] / 1000:5.1f} s"
        print(f"  [{span}] {turn['speaker']:>6}: {turn['text']}")
        if turn["interrupted"]:
            print(f"  {'':>22} (interrupted; the caller heard: {turn['heard_text']!r})")


def _series(values: Sequence[float]) -> str:
    if not values:
        return "none measured"
    shown = ", ".join(f"{v:.0f}" for v in values)
    return f"{shown} ms (median {median(values):.0f} ms)"


def _ms(value: float | None) -> str:
    return "none" if value is None else f"{value:.0f} ms"
