"""From the workers' arrays to delays on each path, within a step's measurement window."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from bench.callbench.latency import (
    FloatArray,
    down_delays,
    in_window,
    reaction_delays,
    up_delays,
)
from bench.callbench.records import CallData, DirectData, LinkData


def _array(values: Iterable[float]) -> FloatArray:
    return np.asarray(values, dtype=float)


@dataclass
class PathDelays:
    """Delays (seconds) of the items sent within the window, and how many never arrived."""

    up: list[FloatArray] = field(default_factory=list)
    down: list[FloatArray] = field(default_factory=list)
    reaction: list[FloatArray] = field(default_factory=list)
    """``interrupted`` sent by the emulator -> ``clear`` received by the simulator."""
    lost_up: int = 0
    lost_down: int = 0
    unanswered_interruptions: int = 0

    def add(
        self,
        frame_t: FloatArray,
        link: LinkData,
        received_t: FloatArray,
        received_ms: FloatArray,
        window: tuple[float, float],
    ) -> None:
        start, end = window
        up = up_delays(frame_t, _array(link.audio_in_t), _array(link.audio_in_ms))
        up = up[in_window(frame_t, start, end)]
        chunk_t = _array(link.chunk_t)
        interrupted_t = _array(link.interrupted_t)
        down = down_delays(chunk_t, _array(link.chunk_ms), interrupted_t, received_t, received_ms)
        down = down[in_window(chunk_t, start, end)]
        self.up.append(up)
        self.down.append(down)
        self.lost_up += int(np.isnan(up).sum())
        self.lost_down += int(np.isnan(down).sum())

    def add_reactions(
        self, interrupted_t: FloatArray, clear_t: FloatArray, window: tuple[float, float]
    ) -> None:
        delays = reaction_delays(interrupted_t, clear_t)
        delays = delays[in_window(interrupted_t, *window)]
        self.reaction.append(delays)
        self.unanswered_interruptions += int(np.isnan(delays).sum())

    @staticmethod
    def pooled(parts: list[FloatArray]) -> FloatArray:
        return np.concatenate(parts) if parts else np.zeros(0)


def server_path(
    calls: Iterable[CallData],
    links: Mapping[int, LinkData],
    connection_of: Mapping[str, int],
    window: tuple[float, float],
) -> PathDelays:
    """Caller -> server -> emulator and back, for every call matched to its connection."""
    delays = PathDelays()
    for call in calls:
        index = connection_of.get(call.call_sid)
        link = links.get(index) if index is not None else None
        if link is None:
            continue
        delays.add(_array(call.frame_t), link, _array(call.media_t), _array(call.media_ms), window)
        delays.add_reactions(_array(link.interrupted_t), _array(call.clear_t), window)
    return delays


def direct_path(
    clients: Iterable[DirectData], links: Mapping[int, LinkData], window: tuple[float, float]
) -> PathDelays:
    """Client -> emulator and back, with no server in between: the baseline."""
    delays = PathDelays()
    for client in clients:
        link = links.get(client.connection) if client.connection is not None else None
        if link is None:
            continue
        delays.add(
            _array(client.frame_t), link, _array(client.media_t), _array(client.media_ms), window
        )
    return delays
