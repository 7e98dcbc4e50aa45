"""``python -m telephony serve``: the production server, and the process-wide tuning it owns."""

import asyncio
import contextlib
import gc
import logging
import os
import signal
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from types import FrameType

import uvicorn
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector
from uvicorn.supervisors import Multiprocess

from telephony.app import create_app
from telephony.background import alongside
from telephony.config import Settings
from telephony.connections import ConnectionLimits
from telephony.drain import Drain
from telephony.exposition import MULTIPROC_DIR_ENV, Exposition, multiprocess_dir
from telephony.metrics import Metrics
from telephony.server import configure_logging, uvicorn_config
from telephony.tracing import install_exporter

logger = logging.getLogger(__name__)

STARTUP_FAILURE = 3
GC_THRESHOLDS = (5_000, 50, 100)
"""Allocations before a young collection; young ones per middle; middle ones per full."""
GC_AFTER_CALLS_S = 30.0
"""How often, at most, a full collection frees what calls that ended left behind."""


def run(host: str, port: int, workers: int = 1) -> int:
    """Serve until stopped.

    Calls are independent, so ``workers`` processes carry about ``workers`` times the calls of
    one (a process saturates one core): any worker checks any stream token, and they share the
    database. Twilio keeps each call on one WebSocket, so a call never moves between workers.
    """
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    config = uvicorn_config(
        "telephony.cli.serve:serving_app",
        host=host,
        port=port,
        factory=True,
        workers=workers,
        limits=connection_limits(settings),
    )
    if workers > 1:
        with shared_metrics(settings):
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        return 0
    server = uvicorn.Server(config)
    server.run()
    return 0 if server.started else STARTUP_FAILURE


def connection_limits(settings: Settings) -> ConnectionLimits:
    """The limits on client connections the settings ask for; every worker gets its own."""
    return ConnectionLimits(
        max_connections=settings.max_connections,
        request_read_timeout_s=settings.request_read_timeout_s,
        keep_alive_s=settings.keep_alive_s,
    )


def serving_app() -> FastAPI:
    """The app as a server process runs it: settings from the environment, and, once the app
    has started, the garbage collector tuned for a process that carries calls and SIGTERM
    taken over to drain the calls before the server stops."""
    app = create_app()
    started = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with started(app):
            calm_the_garbage_collector()
            services = app.state.services
            with (
                own_metrics_port(services.settings, services.metrics.exposition),
                exporting_traces(services.settings),
            ):
                async with (
                    alongside(collect_after_calls(services.metrics), name="collect after calls"),
                    draining_on_sigterm(services.drain),
                ):
                    yield

    app.router.lifespan_context = lifespan
    return app


def calm_the_garbage_collector() -> None:
    """Keep the cyclic garbage collector from pausing every call.

    A full collection walks every object in the process: the libraries loaded at start make
    that 25-150 ms with the event loop stopped, every few seconds under load, for almost
    nothing (the call path's objects are freed by reference counting). Everything alive once
    the app is built is moved out of the collector's sight, and the older generations are
    collected far less often; the youngest generation still runs as usual.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


async def collect_after_calls(metrics: Metrics, period_s: float = GC_AFTER_CALLS_S) -> None:
    """Free what ended calls left in reference cycles: one full collection, at most every
    ``period_s``, when calls have ended since the last.

    A call's objects are bound in cycles (callbacks bound to the call; exceptions whose
    tracebacks hold the frames that raised them), so reference counting cannot free them when
    the call ends; they outlived the young generations while the call ran, and wait for a full
    collection, which the tuning above makes rare. Measured in the soak (40 concurrent calls),
    the process grew by 0.3-0.6 MiB per finished call for minutes. A full collection walks only
    what is not frozen (the live calls and the garbage, not the libraries): about 90 ms at 40
    live calls on this VM's core, hence at most one every ``period_s``: a pause that rare
    stays out of the 99th percentile of the audio path, and what waits for it meanwhile is a
    few MiB (about 0.3 MiB per call that ended).
    """
    seen = metrics.calls_ended
    while True:
        await asyncio.sleep(period_s)
        if metrics.calls_ended == seen:
            continue
        seen = metrics.calls_ended
        began = time.perf_counter()
        freed = gc.collect()
        logger.debug(
            "collected %d objects after ended calls in %.1f ms",
            freed,
            (time.perf_counter() - began) * 1000,
        )


@contextlib.asynccontextmanager
async def draining_on_sigterm(drain: Drain) -> AsyncIterator[None]:
    """While the block runs, the first SIGTERM begins ``drain`` instead of stopping the server.

    uvicorn's own handler (installed before the app starts) stops the server at once: it is
    kept, and called when the drain has finished, or on a second SIGTERM. So the process exits
    as uvicorn makes it exit, SIGTERM re-raised included. SIGINT (Ctrl-C) still stops at once.
    """
    server_handler = signal.getsignal(signal.SIGTERM)
    if not callable(server_handler):  # not under a server that stops on SIGTERM: nothing to do
        yield
        return
    loop = asyncio.get_running_loop()
    signalled = False

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        nonlocal signalled
        if signalled:
            logger.warning("second SIGTERM: stopping now, live calls go to their fallback")
            server_handler(signum, frame)
            return
        signalled = True
        loop.call_soon_threadsafe(drain.begin)

    async def stop_when_drained() -> None:
        await drain.finished()
        signal.signal(signal.SIGTERM, server_handler)
        server_handler(signal.SIGTERM, None)

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        async with alongside(stop_when_drained(), name="stop when drained"):
            yield
    finally:
        signal.signal(signal.SIGTERM, server_handler)


@contextlib.contextmanager
def shared_metrics(settings: Settings) -> Iterator[None]:
    """Workers write their metrics to one directory (``prometheus_client``'s multiprocess
    mode: set before they start, so that they load the library in that mode), a fresh one
    unless ``PROMETHEUS_MULTIPROC_DIR`` names one; with ``METRICS_PORT``, this process (the
    supervisor) serves every worker's metrics, added up, on it."""
    with contextlib.ExitStack() as stack:
        directory = multiprocess_dir()
        if directory is None:
            directory = stack.enter_context(tempfile.TemporaryDirectory(prefix="metrics-"))
            os.environ[MULTIPROC_DIR_ENV] = directory
        if settings.metrics_port is not None:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
            stack.enter_context(_metrics_server(settings, registry))
        yield


@contextlib.contextmanager
def own_metrics_port(settings: Settings, exposition: Exposition) -> Iterator[None]:
    """With ``METRICS_PORT`` and one process, the app's process serves its metrics there (with
    workers, their supervisor does: see ``shared_metrics``)."""
    if settings.metrics_port is None or multiprocess_dir() is not None:
        yield
        return
    with _metrics_server(settings, exposition.registry):
        yield


@contextlib.contextmanager
def _metrics_server(settings: Settings, registry: CollectorRegistry) -> Iterator[None]:
    assert settings.metrics_port is not None
    server, thread = start_http_server(
        settings.metrics_port, addr=settings.metrics_host, registry=registry
    )
    logger.info("Prometheus metrics on port %d (/metrics)", settings.metrics_port)
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextlib.contextmanager
def exporting_traces(settings: Settings) -> Iterator[None]:
    """With ``OTEL_EXPORTER_OTLP_ENDPOINT``, this process exports its traces there (each worker
    its own); what is batched is flushed when the server stops."""
    if settings.otel_exporter_otlp_endpoint is None:
        yield
        return
    provider = install_exporter(settings.otel_exporter_otlp_endpoint)
    logger.info("exporting traces over OTLP/HTTP")
    try:
        yield
    finally:
        provider.shutdown()
