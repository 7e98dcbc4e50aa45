"""The counters of one call, and their sums over a process."""

from dataclasses import dataclass, field


@dataclass(slots=True)
class CallStats:
    """Counters of one call, for logs, tests and benchmarks."""

    frames_in: int = 0
    audio_direct: int = 0
    """Caller audio messages written straight to the model's socket (see live/link.py)."""
    audio_queued: int = 0
    """Caller audio messages that went through ADK's queue."""
    frames_dropped: int = 0
    bad_messages: dict[str, int] = field(default_factory=dict)
    unknown_events: int = 0
    media_out: int = 0
    clears: int = 0
    local_barge_ins: int = 0
    """Barge-ins the call noticed itself (the caller talked over a finished reply)."""
    model_connections: int = 0
    """Live connections the call's agents opened (resumptions and hand-overs add one each)."""
    fresh_sessions: int = 0
    """Live sessions started afresh (seeded) after ADK could not resume one."""
    model_nudges: int = 0
    """Times the call nudged a model that had not answered the caller (model_watch.py)."""
    model_connect_s: list[float] = field(default_factory=list)
    """Each live connection's setup: opened -> ready (setupComplete); not summed."""

    @property
    def bad_total(self) -> int:
        return sum(self.bad_messages.values())

    def add(self, other: "CallStats") -> None:
        """Add another call's counters to these (for process totals)."""
        for name in _COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for kind, count in other.bad_messages.items():
            self.bad_messages[kind] = self.bad_messages.get(kind, 0) + count

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in _COUNTERS} | {"bad_messages": self.bad_total}


_COUNTERS = tuple(
    name
    for name in CallStats.__dataclass_fields__
    if name not in ("bad_messages", "model_connect_s")
)
