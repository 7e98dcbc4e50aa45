"""How a simulated call ended and everything it recorded.

``end_reason`` says how the agent's part ended (the media stream, or why there was none);
``journey`` is what the caller went through after that, ``final_status`` the call's status at
the end (completed, busy, no-answer, failed, canceled) as Twilio's REST API would report it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from telephony.audio import ulaw_to_pcm16
from twins.twilio.caller import StepRecord
from twins.twilio.journey import Entry, describe
from twins.twilio.metrics import CallMetrics
from twins.twilio.protocol import SAMPLE_RATE, Violation
from twins.twilio.timeline import Timeline
from twins.twilio.twiml import Twiml, Verb
from twins.twilio.webhook import WebhookExchange


class EndReason(StrEnum):
    CALLER_HANGUP = "caller_hangup"
    """The script hung up (a ``Hangup`` step, or its end): ``stop`` was sent."""
    SERVER_CLOSED = "server_closed"
    """The server closed the WebSocket; Twilio would go on with the verbs after ``</Connect>``."""
    REST_COMPLETED = "rest_completed"
    """A REST update with ``Status=completed`` (or ``canceled``) hung up: ``stop`` was sent."""
    REST_REDIRECTED = "rest_redirected"
    """A REST update with new TwiML (a transfer) replaced the stream: ``stop`` was sent."""
    TIMEOUT = "timeout"
    """The call reached its maximum duration: ``stop`` was sent."""
    WEBHOOK_FAILED = "webhook_failed"
    """The voice webhook answered with an error or not at all."""
    BAD_TWIML = "bad_twiml"
    """The webhook's answer was not TwiML Twilio could run."""
    NO_STREAM = "no_stream"
    """The TwiML has no ``<Connect><Stream>``; its verbs are in ``next_verbs``."""
    STREAM_REJECTED = "stream_rejected"
    """The WebSocket upgrade was refused with an HTTP status (``stream_rejected_status``)."""
    STREAM_FAILED = "stream_failed"
    """The WebSocket could not be opened (connection refused, timeout, handshake error)."""

    @property
    def sends_stop(self) -> bool:
        """Whether Twilio's side ends the stream (with ``stop``) for this reason."""
        return self in _SENDS_STOP


_SENDS_STOP = frozenset(
    {
        EndReason.CALLER_HANGUP,
        EndReason.REST_COMPLETED,
        EndReason.REST_REDIRECTED,
        EndReason.TIMEOUT,
    }
)


@dataclass(frozen=True)
class CallResult:
    call_sid: str
    account_sid: str
    stream_sid: str
    direction: str
    end_reason: EndReason
    timeline: Timeline
    metrics: CallMetrics
    webhook: WebhookExchange | None = None
    """The voice webhook exchange (None when the call ran TwiML given up front)."""
    twiml: Twiml | None = None
    twiml_problems: tuple[str, ...] = ()
    """What real Twilio would refuse in the stream URL (``ws://``, a query string, ...)."""
    stream_url: str | None = None
    """The ``<Stream url>`` as written in the TwiML (the URL the upgrade is signed over)."""
    stream_connect_url: str | None = None
    """Where the simulator actually connected."""
    stream_rejected_status: int | None = None
    close_code: int | None = None
    close_reason: str | None = None
    error: str | None = None
    redirect: Twiml | None = None
    """The TwiML of the REST update that replaced the stream (a transfer), if any."""
    next_verbs: tuple[Verb, ...] = ()
    """What Twilio would run next on the call: the verbs after ``</Connect>`` when the server
    ended the stream, the new TwiML after a REST redirect, all verbs when there was no stream."""
    steps: tuple[StepRecord, ...] = ()
    violations: tuple[Violation, ...] = ()
    heard_ulaw: bytes = b""
    """What the caller heard: 8 kHz mu-law from the ``start`` message on, silence where no agent
    audio played."""
    said_ulaw: bytes = b""
    """What the caller sent: every media frame, speech and silence."""
    heard_wav: Path | None = None
    said_wav: Path | None = None
    final_status: str = "completed"
    journey: tuple[Entry, ...] = ()
    """What the caller went through after the agent (see :mod:`twins.twilio.journey`); the
    last entry says how the call ended."""
    requests: tuple[WebhookExchange, ...] = ()
    """Every other signed request Twilio made about the call, in order: ``action`` and
    ``<Redirect>`` URLs, wait music, status callbacks, stream and recording callbacks."""
    answered_by: str | None = None
    """The answering machine detection result, for an outbound call that asked for one."""

    def journey_lines(self) -> list[str]:
        return describe(self.journey)

    @property
    def heard_pcm16(self) -> bytes:
        return ulaw_to_pcm16(self.heard_ulaw)

    @property
    def said_pcm16(self) -> bytes:
        return ulaw_to_pcm16(self.said_ulaw)

    @property
    def heard_seconds(self) -> float:
        return len(self.heard_ulaw) / SAMPLE_RATE

    @property
    def timed_out_steps(self) -> list[StepRecord]:
        return [step for step in self.steps if step.outcome == "timeout"]
