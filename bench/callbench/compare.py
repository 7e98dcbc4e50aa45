"""The same steps against several numbers of server workers: how capacity and cost scale.

The first run is the reference; each other is given as a ratio to it. The largest N within
the added-latency limit can only be as large as the largest step run: when a run reaches it,
its ratio is a lower bound (more steps would tell more), and the text says so. The CPU each
process group used at each N shows why a run scales less than the number of its workers: the
peers (emulator and callers) run on the same machine, so the cores the server gets are not all
of the machine's.
"""

from collections.abc import Sequence
from typing import Any

from bench.callbench.report import ADDED_LIMIT_MS, largest_within
from bench.callbench.step import StepResult

Run = tuple[int, Sequence[StepResult]]
"""(workers, the steps run against that server)."""


def ratio(new: float | None, reference: float | None) -> float | None:
    if new is None or reference is None or reference == 0:
        return None
    return new / reference


def compare(runs: Sequence[Run], cpus: int) -> tuple[str, dict[str, Any]]:
    """The comparison as text for a person, and as figures for the JSON file."""
    if len(runs) < 2:
        return "workers: fewer than two runs to compare", {}
    (base_workers, base_rows), others = runs[0], runs[1:]
    base_best = largest_within(base_rows)
    lines = [
        f"Workers compared against {base_workers} (the same steps and peers, a fresh server"
        f" each; {cpus} CPUs):"
    ]
    figures: dict[str, Any] = {"reference_workers": base_workers, "cpus": cpus, "against": []}
    for workers, rows in others:
        best = largest_within(rows)
        capped = best is not None and best == max((r.calls for r in rows), default=0)
        best_ratio = ratio(best, base_best)
        lines.append(
            f"  largest N with added p99 < {ADDED_LIMIT_MS:.0f} ms each way: {_n(base_best)}"
            f" -> {_n(best)} with {workers} workers ({_x(best_ratio)}"
            + (", the largest step run: a lower bound)" if capped else ")")
        )
        steps = []
        by_calls = {row.calls: row for row in base_rows}
        for row in rows:
            base = by_calls.get(row.calls)
            if base is None:
                continue
            cost = ratio(row.server_cpu_s_per_call_min, base.server_cpu_s_per_call_min)
            lines.append(
                f"  N={row.calls}: CPU s/call-min {_f(base.server_cpu_s_per_call_min, 2)}"
                f" -> {_f(row.server_cpu_s_per_call_min, 2)} ({_x(cost)});"
                f" added p99 up/down {_f(base.added_up_p99)}/{_f(base.added_down_p99)}"
                f" -> {_f(row.added_up_p99)}/{_f(row.added_down_p99)} ms;"
                f" CPU% server/peers {_f(base.server_cpu_percent, 0)}/{_f(_peers(base), 0)}"
                f" -> {_f(row.server_cpu_percent, 0)}/{_f(_peers(row), 0)}"
                f" of {100 * cpus}"
            )
            steps.append(
                {
                    "calls": row.calls,
                    "cpu_s_per_call_min": [
                        base.server_cpu_s_per_call_min,
                        row.server_cpu_s_per_call_min,
                    ],
                    "cpu_s_per_call_min_ratio": cost,
                    "server_cpu_percent": [base.server_cpu_percent, row.server_cpu_percent],
                    "peers_cpu_percent": [_peers(base), _peers(row)],
                }
            )
        figures["against"].append(
            {
                "workers": workers,
                "largest_n": [base_best, best],
                "largest_n_ratio": best_ratio,
                "largest_n_is_largest_step": capped,
                "steps": steps,
            }
        )
    return "\n".join(lines), figures


def _peers(row: StepResult) -> float | None:
    """The emulator's and the callers' CPU together, % of a core."""
    if row.emulator_cpu_percent is None or row.callers_cpu_percent is None:
        return None
    return row.emulator_cpu_percent + row.callers_cpu_percent


def _n(calls: int | None) -> str:
    return "none" if calls is None else str(calls)


def _f(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"
