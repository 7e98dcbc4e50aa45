"""CPU time and resident memory of processes, from ``/proc`` (Linux).

A process that forks workers (``serve --workers N``) is measured as a group: its own figures
plus its children's, each read from the child's own ``/proc`` entry while it lives.
"""

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (its threads included)."""
    with open(f"/proc/{pid}/stat") as file:
        stat = file.read()
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / _TICKS_PER_S


def rss_bytes(pid: int) -> int:
    """Resident set size now (``VmRSS``)."""
    with open(f"/proc/{pid}/status") as file:
        for line in file:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise LookupError(f"no VmRSS for process {pid}")


def total_rss_bytes(pids: Sequence[int]) -> int:
    """The resident sets of a group of processes, added up (pages they share count in each)."""
    return sum(rss_bytes(pid) for pid in pids)


def children(pid: int) -> list[int]:
    """The process's children now (``/proc/PID/task/*/children``)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except FileNotFoundError:  # the thread ended meanwhile
            continue
    return sorted(found)


def command_line(pid: int) -> str:
    """The process's command line, arguments joined by spaces ("" once it has exited)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds of a few processes (or groups of them) at one moment (``time.monotonic()``)."""

    t: float
    seconds: dict[str, float]

    def percent_since(self, earlier: "CpuSample") -> dict[str, float]:
        """Each one's CPU use between the two samples, in percent of one core."""
        wall = self.t - earlier.t
        return {
            name: 100.0 * (value - earlier.seconds[name]) / wall if wall > 0 else 0.0
            for name, value in self.seconds.items()
        }


def sample(t: float, groups: Mapping[str, Sequence[int]]) -> CpuSample:
    """The CPU seconds of each named group of processes, added up over its members."""
    return CpuSample(
        t, {name: sum(cpu_seconds(pid) for pid in pids) for name, pids in groups.items()}
    )
