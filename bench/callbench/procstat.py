"""CPU time and resident memory of a process, from ``/proc`` (Linux)."""

import os
from dataclasses import dataclass

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


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds of a few processes at one moment (``time.monotonic()``)."""

    t: float
    seconds: dict[str, float]

    def percent_since(self, earlier: "CpuSample") -> dict[str, float]:
        """Each process's CPU use between the two samples, in percent of one core."""
        wall = self.t - earlier.t
        return {
            name: 100.0 * (value - earlier.seconds[name]) / wall if wall > 0 else 0.0
            for name, value in self.seconds.items()
        }


def sample(t: float, pids: dict[str, int]) -> CpuSample:
    return CpuSample(t, {name: cpu_seconds(pid) for name, pid in pids.items()})
