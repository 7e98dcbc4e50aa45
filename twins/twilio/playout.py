"""Twilio's playback buffer for one stream: what the caller hears, and when.

Outbound audio is queued and played at real time (8000 mu-law bytes a second) from the moment it
arrives, or from the end of what is already queued. A ``mark`` is due when the audio queued before
it has played, at once if nothing is queued. ``clear`` drops everything not yet played and makes
every pending mark due at once. Everything played is kept as the caller's recording, with silence
wherever nothing played.

Pure and synchronous: time comes from an injected clock, and positions are counted in samples
from ``origin`` so that back-to-back chunks never drift apart. The owner calls :meth:`advance`
to collect what happened since the last call (marks to echo, playback starting and stopping),
and :meth:`next_deadline` tells it when the next thing will happen.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from telephony.audio import ULAW_SILENCE
from twins.twilio.clock import Clock
from twins.twilio.protocol import SAMPLE_RATE


@dataclass(frozen=True)
class MarkDue:
    """A mark to echo back to the server; ``cleared`` if a ``clear`` released it."""

    t: float
    name: str
    cleared: bool


@dataclass(frozen=True)
class PlaybackStarted:
    """Agent audio started playing after silence."""

    t: float


@dataclass(frozen=True)
class PlaybackStopped:
    """The buffer ran dry (``cleared`` False), was cleared, or the call ended (``cut``)."""

    t: float
    played_samples: int
    cleared: bool = False
    cut: bool = False


PlayoutEvent = MarkDue | PlaybackStarted | PlaybackStopped


@dataclass(frozen=True)
class ClearResult:
    discarded_samples: int
    marks: tuple[str, ...]

    @property
    def discarded_ms(self) -> float:
        return self.discarded_samples * 1000 / SAMPLE_RATE


@dataclass(frozen=True)
class PlayoutState:
    """What the caller's ear knows at one moment."""

    playing: bool
    buffered_samples: int
    played_samples: int
    idle_since: float | None
    """When the buffer last ran dry (None while playing or before any audio)."""


@dataclass
class _Chunk:
    start: int
    data: bytes

    @property
    def end(self) -> int:
        return self.start + len(self.data)


class Playout:
    """The playback buffer of one stream."""

    def __init__(self, clock: Clock, *, origin: float | None = None) -> None:
        self._clock = clock
        self.origin = clock.now() if origin is None else origin
        self._queue: deque[_Chunk] = deque()
        self._end = 0  # sample position where the queued audio ends
        self._marks: deque[tuple[str, int]] = deque()
        self._ready: list[PlayoutEvent] = []
        self._heard = bytearray()
        self._played = 0
        self._run_played: int | None = None  # samples played in the current run, None when idle
        self._ever_played = False
        self._finished_at: int | None = None

    # --- time <-> samples

    def _position(self) -> int:
        if self._finished_at is not None:
            return self._finished_at
        # Rounded to a microsecond of a sample first, so that 0.1 + 0.2 s lands on a boundary.
        return max(0, math.floor(round((self._clock.now() - self.origin) * SAMPLE_RATE, 6)))

    def _time(self, position: int) -> float:
        return self.origin + position / SAMPLE_RATE

    # --- what the server sends

    def add_audio(self, data: bytes) -> None:
        """Queue mu-law bytes to play after everything already queued."""
        now = self._update()
        if not data:
            return
        start = max(now, self._end)
        if self._run_played is None:
            self._run_played = 0
            self._ready.append(PlaybackStarted(self._time(start)))
        self._queue.append(_Chunk(start, bytes(data)))
        self._end = start + len(data)

    def add_mark(self, name: str) -> None:
        """Queue a mark: due when the audio before it has played, at once if none is queued."""
        now = self._update()
        if self._end <= now:
            self._ready.append(MarkDue(self._clock.now(), name, cleared=False))
        else:
            self._marks.append((name, self._end))

    def clear(self) -> ClearResult:
        """Drop the audio not yet played and release every pending mark at once."""
        now = self._update()
        discarded = max(0, self._end - now)
        self._queue.clear()
        self._end = min(self._end, now)
        if self._run_played is not None:
            self._ready.append(PlaybackStopped(self._time(now), self._run_played, cleared=True))
            self._run_played = None
        t = self._clock.now()
        names = tuple(name for name, _ in self._marks)
        self._ready.extend(MarkDue(t, name, cleared=True) for name in names)
        self._marks.clear()
        return ClearResult(discarded, names)

    # --- what the owner reads

    def advance(self) -> list[PlayoutEvent]:
        """Play up to now; return what happened since the last call, in order."""
        self._update()
        events, self._ready = self._ready, []
        return events

    def next_deadline(self) -> float | None:
        """When :meth:`advance` will next have something to report (None: nothing pending)."""
        if self._ready:
            return self._clock.now()
        # Half a sample late, so that the deadline is never a hair before its sample boundary.
        if self._marks:
            return self._time(self._marks[0][1]) + 0.5 / SAMPLE_RATE
        if self._run_played is not None:
            return self._time(self._end) + 0.5 / SAMPLE_RATE
        return None

    def state(self) -> PlayoutState:
        now = self._update()
        playing = self._end > now
        idle_since = None if playing or not self._ever_played else self._time(self._end)
        return PlayoutState(playing, max(0, self._end - now), self._played, idle_since)

    def finish(self) -> list[PlayoutEvent]:
        """The call ended now: stop playing (unplayed audio is cut off) and report the rest.

        Time stops for the buffer: the recording ends here. Pending marks are not released, as
        Twilio echoes nothing once the stream has ended.
        """
        now = self._update()
        self._finished_at = now
        if self._run_played is not None:
            self._ready.append(PlaybackStopped(self._time(now), self._run_played, cut=True))
            self._run_played = None
        self._queue.clear()
        self._marks.clear()
        self._end = min(self._end, now)
        return self.advance()

    @property
    def played_samples(self) -> int:
        return self._played

    def heard(self) -> bytes:
        """Everything played so far as 8 kHz mu-law from ``origin``; silence where none played."""
        self._update()
        return bytes(self._heard)

    def heard_between(self, start: int, end: int) -> bytes:
        """What played from sample ``start`` to ``end`` (from ``origin``), silence where nothing
        played or the time has not come yet (a line echo reads the recent past with this)."""
        self._update()
        before = max(0, min(end, 0) - start)
        inside = self._heard[max(0, start) : max(0, end)]
        after = (end - start) - before - len(inside)
        silence = bytes([ULAW_SILENCE])
        return silence * before + bytes(inside) + silence * after

    # --- internals

    def _update(self) -> int:
        """Move time forward to now: record played audio, release due marks and run ends."""
        now = self._position()
        while self._queue and self._queue[0].start < now:
            chunk = self._queue[0]
            if len(self._heard) < chunk.start:
                self._heard.extend(bytes([ULAW_SILENCE]) * (chunk.start - len(self._heard)))
            upto = min(chunk.end, now)
            played = chunk.data[len(self._heard) - chunk.start : upto - chunk.start]
            self._heard.extend(played)
            self._played += len(played)
            self._ever_played = True
            if self._run_played is not None:
                self._run_played += len(played)
            if upto < chunk.end:
                break
            self._queue.popleft()
        if len(self._heard) < now:
            self._heard.extend(bytes([ULAW_SILENCE]) * (now - len(self._heard)))
        while self._marks and self._marks[0][1] <= now:
            name, due = self._marks.popleft()
            self._ready.append(MarkDue(self._time(due), name, cleared=False))
        if self._run_played is not None and self._end <= now:
            self._ready.append(PlaybackStopped(self._time(self._end), self._run_played))
            self._run_played = None
        return now
