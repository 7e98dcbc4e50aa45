"""The run's table on standard output and its JSON file."""

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.callbench.latency import Percentiles
from bench.callbench.step import StepResult

ADDED_LIMIT_MS = 20.0


def largest_within(rows: Sequence[StepResult], limit_ms: float = ADDED_LIMIT_MS) -> int | None:
    """The largest N whose added latency p99 stays under ``limit_ms`` both ways (all calls ok)."""
    good = [
        row.calls
        for row in rows
        if row.calls_failed == 0
        and row.added_up_p99 is not None
        and row.added_down_p99 is not None
        and row.added_up_p99 < limit_ms
        and row.added_down_p99 < limit_ms
    ]
    return max(good, default=None)


def _ms(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _pair(a: float | None, b: float | None, digits: int = 1) -> str:
    return f"{_ms(a, digits)}/{_ms(b, digits)}"


def _pct(p: Percentiles, digits: int = 1) -> str:
    return _pair(p.p50, p.p99, digits)


def _summary(summary: dict[str, float], key: str) -> float | None:
    value = summary.get(key)
    return None if value is None else float(value)


def _server_figure(row: StepResult, value: float | None, digits: int = 1) -> str:
    """A figure of the server's own: exact from one process, a bucket bound from workers."""
    if row.server_workers == 1 or value is None:
        return _ms(value, digits)
    return f"<={value:g}"


def _server_pair(row: StepResult) -> str:
    reaction = row.server_barge_in_ms
    p50, p99 = _summary(reaction, "p50"), _summary(reaction, "p99")
    return f"{_server_figure(row, p50, 2)}/{_server_figure(row, p99, 2)}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = [
        " | ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)),
        "-+-".join("-" * w for w in widths),
    ]
    lines += [" | ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def main_table(rows: Sequence[StepResult]) -> str:
    header = (
        "N",
        "calls ok",
        "added up p50/p99",
        "added down p50/p99",
        "interrupted>clear p50/p99",
        "(server)",
        "speech>clear p50",
        "greeting p50",
        "CPU s/call-min",
        "RSS MiB/call",
        "lag p99",
        "dropped/late",
        "emulator CPU%",
        "sim CPU%",
    )
    body = [
        (
            str(r.calls),
            f"{r.calls_ok}/{r.calls}",
            _pair(r.added_up_p50, r.added_up_p99),
            _pair(r.added_down_p50, r.added_down_p99),
            _pct(r.interrupted_to_clear),
            _server_pair(r),
            _ms(r.speech_to_clear.p50, 0),
            _ms(r.first_greeting.p50, 0),
            _ms(r.server_cpu_s_per_call_min, 2),
            _ms(r.rss_mib_per_call, 2),
            _server_figure(r, _summary(r.loop_lag_ms, "p99")),
            f"{r.frames_dropped}/{r.late_frames}",
            _ms(r.emulator_cpu_percent, 0),
            _ms(r.callers_cpu_percent, 0),
        )
        for r in rows
    ]
    return _table(header, body)


def path_table(rows: Sequence[StepResult]) -> str:
    header = (
        "N",
        "up via server p50/p99",
        "up direct p50/p99",
        "down via server p50/p99",
        "down direct p50/p99",
        "frames/chunks measured",
        "direct",
        "server CPU%",
        "RSS MiB",
        "reply p50",
        "emulator/sim CPU% per conn",
    )
    body = [
        (
            str(r.calls),
            _pct(r.up, 2),
            _pct(r.up_direct, 2),
            _pct(r.down, 2),
            _pct(r.down_direct, 2),
            f"{r.up.samples}/{r.down.samples}",
            str(r.direct_clients),
            _ms(r.server_cpu_percent, 0),
            _ms(r.server_rss_mib, 0),
            _ms(r.reply.p50, 0),
            _pair(r.emulator_cpu_per_connection, r.callers_cpu_per_call, 2),
        )
        for r in rows
    ]
    return _table(header, body)


def render(rows: Sequence[StepResult], stopped: str | None) -> str:
    parts = [
        main_table(rows),
        "",
        "Each path, absolute (ms), and the baseline measured in the same step:",
        path_table(rows),
        "",
    ]
    best = largest_within(rows)
    parts.append(
        f"Largest N with added latency p99 < {ADDED_LIMIT_MS:.0f} ms each way: "
        + ("none" if best is None else str(best))
    )
    for row in rows:
        for note in row.notes:
            parts.append(f"N={row.calls}: {note}")
        if row.failures:
            parts.append(f"N={row.calls}: failed calls: {row.failures}")
        if row.lost_up or row.lost_down or row.unanswered_interruptions:
            parts.append(
                f"N={row.calls}: never arrived: {row.lost_up} frames up, {row.lost_down} chunks"
                f" down; {row.unanswered_interruptions} interruptions without a clear"
            )
    workers = max((row.server_workers for row in rows), default=1)
    if workers > 1:
        parts.append(
            f"serve --workers {workers}: CPU and RSS add up the server's processes; lag p99 (the"
            " worst worker's) and (server) are upper bounds of Prometheus histogram buckets"
        )
    if stopped:
        parts.append(f"Stopped early: {stopped}")
    return "\n".join(parts)


def write_json(path: Path, rows: Sequence[StepResult], meta: dict[str, Any]) -> None:
    write_document(path, document_of(rows, meta))


def write_document(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")


def document_of(rows: Sequence[StepResult], meta: dict[str, Any]) -> dict[str, Any]:
    """One server run's results, as the JSON file holds them."""
    return {
        **meta,
        "largest_n_added_p99_under_20ms": largest_within(rows),
        "steps": [
            {
                **dataclasses.asdict(row),
                "calls_failed": row.calls_failed,
                "emulator_cpu_per_connection": row.emulator_cpu_per_connection,
                "callers_cpu_per_call": row.callers_cpu_per_call,
            }
            for row in rows
        ],
    }
