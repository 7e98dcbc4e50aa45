"""The process's metrics in Prometheus's terms (``prometheus_client``), for any scraper.

Names and units follow Prometheus's conventions (``_total`` counters, ``_seconds``
histograms). Everything is counted where it happens: a call adds its counters once, when it
ends; barge-ins, replies and refusals as they come; the event loop's lag on each of its 20
samples a second (an ``observe`` is a few hundred nanoseconds). Nothing here runs per frame.

Several worker processes (``serve --workers N``) are one deployment: ``serve`` gives them a
shared ``PROMETHEUS_MULTIPROC_DIR`` and each scrape adds up every worker's files
(``prometheus_client``'s multiprocess mode; the active-call gauge sums the live workers).
Without it, each app has its own registry (tests build many apps in one process).

No personal data: the labels are end reasons, refusal reasons and outcomes from small fixed
sets, never a number or a SID.
"""

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from telephony.call_stats import CallStats

MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
REPLY_BUCKETS_S = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0)
"""Caller stops speaking -> the agent's first audio: the model waits ~0.5 s of silence first."""
REACTION_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)
"""``interrupted`` in hand -> ``clear`` handed to the socket: sub-millisecond when healthy."""
LAG_BUCKETS_S = (0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
RELEASE_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)
"""One ``malloc_trim``: a few milliseconds at 40 calls."""
CONNECT_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
"""Opening a Live API connection -> setupComplete: a TLS handshake and the model's setup."""
DELIVERY_OUTCOMES = ("delivered", "retried", "failed")
TRANSFER_KINDS = ("cold", "warm")


def multiprocess_dir() -> str | None:
    """The directory worker processes share their metrics through, when there is one."""
    return os.environ.get(MULTIPROC_DIR_ENV) or None


class Exposition:
    """One app's Prometheus metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.calls_active = Gauge(
            "telephony_calls_active",
            "Calls in progress (media streams running).",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.calls = Counter(
            "telephony_calls", "Calls ended, by end reason.", ["reason"], registry=r
        )
        self.refused = Counter(
            "telephony_calls_refused",
            "Calls answered with the overflow at the webhook, by reason.",
            ["reason"],
            registry=r,
        )
        self.reply = Histogram(
            "telephony_reply_latency_seconds",
            "The caller stops speaking -> the agent's first audio goes out.",
            registry=r,
            buckets=REPLY_BUCKETS_S,
        )
        self.barge_in = Histogram(
            "telephony_barge_in_reaction_seconds",
            "The model's interrupted in hand -> clear handed to Twilio's socket.",
            registry=r,
            buckets=REACTION_BUCKETS_S,
        )
        self.loop_lag = Histogram(
            "telephony_event_loop_lag_seconds",
            "How late the event loop wakes up (sampled 20 times a second).",
            registry=r,
            buckets=LAG_BUCKETS_S,
        )
        self.model_connections = Counter(
            "telephony_model_connections",
            "Live API connections opened by calls (the first, resumptions, hand-overs).",
            registry=r,
        )
        self.resumptions = Counter(
            "telephony_model_resumptions",
            "Live API connections opened after a call's first (goAway, drops, hand-overs).",
            registry=r,
        )
        self.fresh_sessions = Counter(
            "telephony_model_fresh_sessions",
            "Live sessions started afresh, seeded, after one could not be resumed.",
            registry=r,
        )
        self.frames_dropped = Counter(
            "telephony_frames_dropped",
            "Caller audio frames dropped (no model connection to take them).",
            registry=r,
        )
        self.bad_messages = Counter(
            "telephony_bad_messages",
            "Media Streams messages refused (malformed, too large, over a rate limit).",
            registry=r,
        )
        self.frames_in = Counter("telephony_frames_in", "Caller audio frames received.", registry=r)
        self.model_connect = Histogram(
            "telephony_model_connect_seconds",
            "Opening a Live API connection -> its setupComplete (the session is usable).",
            registry=r,
            buckets=CONNECT_BUCKETS_S,
        )
        self.webhook_deliveries = Counter(
            "telephony_webhook_deliveries",
            "Summary webhook delivery attempts, by outcome: delivered; retried (failed, will be "
            "tried again); failed (the last attempt failed: given up).",
            ["outcome"],
            registry=r,
        )
        self.transfers = Counter(
            "telephony_transfers",
            "Transfers by kind (cold, warm) and outcome: dialled (Twilio took the transfer), "
            "answered, no-answer, busy, failed, canceled, returned (the caller came back to "
            "the agent), other.",
            ["kind", "outcome"],
            registry=r,
        )

        self.memory_released = Counter(
            "telephony_memory_released_bytes",
            "Resident memory freed by the process and given back to the system (malloc_trim).",
            registry=r,
        )
        self.memory_release = Histogram(
            "telephony_memory_release_seconds",
            "How long one release of free memory took (it locks one heap at a time).",
            registry=r,
            buckets=RELEASE_BUCKETS_S,
        )

    def call_started(self) -> None:
        self.calls_active.inc()

    def call_ended(self, reason: str, stats: CallStats) -> None:
        self.calls_active.dec()
        self.calls.labels(reason=reason).inc()
        self.model_connections.inc(stats.model_connections)
        self.resumptions.inc(max(0, stats.model_connections - 1))
        self.fresh_sessions.inc(stats.fresh_sessions)
        self.frames_dropped.inc(stats.frames_dropped)
        self.bad_messages.inc(stats.bad_total)
        self.frames_in.inc(stats.frames_in)
        for seconds in stats.model_connect_s:
            self.model_connect.observe(seconds)

    def scrape(self) -> bytes:
        """The exposition text: this app's metrics, or every worker's in multiprocess mode."""
        directory = multiprocess_dir()
        if directory is None:
            return generate_latest(self.registry)
        return scrape_workers(directory)


def scrape_workers(directory: str) -> bytes:
    """Every worker's metrics from their shared directory (for the scrape on its own port)."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return generate_latest(registry)
