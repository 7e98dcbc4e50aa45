"""The Live API emulator in its own process, tagging transcripts and logging timings.

Requests: ``endpoint`` (where it listens and what a client needs to trust it),
``snapshot`` (every connection's timing logs from a given moment on, as ``LinkData``) and
``forget`` (drop the records of closed connections).
"""

import bisect
import contextlib
import dataclasses
from array import array
from collections.abc import AsyncIterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from bench.callbench import workers
from bench.callbench.records import LinkData
from twins.gemini_live import DEFAULT_API_KEY, EmulatorConfig, LiveEmulator, Record
from twins.gemini_live.server import API_VERSIONS, LIVE_PATH


@dataclass(frozen=True)
class Endpoint:
    base_url: str
    live_url: str
    """The BidiGenerateContent WebSocket URL."""
    ca_path: str
    api_key: str
    client_env: dict[str, str]
    """What a google-genai client (the server) needs in its environment to use the emulator."""


def main(pipe: Connection, config: EmulatorConfig | None = None) -> None:
    """The worker process: ``Worker("emulator", functools.partial(main, config=...))``."""
    config = dataclasses.replace(
        config or EmulatorConfig(), tag_transcripts=True, record_timings=True
    )
    workers.serve(pipe, lambda: _session(config))


@contextlib.asynccontextmanager
async def _session(config: EmulatorConfig) -> AsyncIterator[workers.Handler]:
    async with LiveEmulator(config) as emulator:
        await emulator.prepare_replies()

        async def handle(name: str, argument: Any) -> Any:
            if name == "endpoint":
                path = LIVE_PATH.format(version=API_VERSIONS[1])
                return Endpoint(
                    base_url=emulator.base_url,
                    live_url=emulator.base_url.replace("https://", "wss://") + path,
                    ca_path=emulator.ca_path,
                    api_key=DEFAULT_API_KEY,
                    # The server's summaries go to the emulator's text endpoint (generateContent
                    # is plain HTTPS on a port of its own, not on the Live WebSocket's).
                    client_env=emulator.client_env() | {"SUMMARY_BASE_URL": emulator.text_base_url},
                )
            if name == "snapshot":
                return snapshot(emulator.record, since=float(argument))
            if name == "forget":
                return emulator.record.forget_closed()
            raise ValueError(f"unknown request {name!r}")

        yield handle


def snapshot(record: Record, *, since: float) -> list[LinkData]:
    """The timing logs of every connection with anything at or after ``since``."""
    links = []
    for connection in record.connections:
        timings = connection.timings
        if timings is None:
            continue
        if connection.closed_at is not None and connection.closed_at < since:
            continue
        links.append(
            LinkData(
                index=connection.index,
                audio_in_t=_since(timings.audio_in_t, since),
                audio_in_ms=_tail(timings.audio_in_ms, timings.audio_in_t, since),
                chunk_t=_since(timings.chunk_t, since),
                chunk_ms=_tail(timings.chunk_ms, timings.chunk_t, since),
                interrupted_t=_since(timings.interrupted_t, since),
            )
        )
    return links


def _since(times: "array[float]", since: float) -> "array[float]":
    return times[bisect.bisect_left(times, since) :]


def _tail(values: "array[float]", times: "array[float]", since: float) -> "array[float]":
    return values[bisect.bisect_left(times, since) :]
