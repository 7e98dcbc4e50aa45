"""How a simulated call is set up: who calls whom, where the server is, what the caller does."""

from __future__ import annotations

import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from twins.twilio.callbacks import DEFAULT_STATUS_EVENTS
from twins.twilio.callees import DEFAULT_CALLEES, Callees
from twins.twilio.durations import DEFAULT_AFTER_STREAM, AfterStream
from twins.twilio.echo import Echo
from twins.twilio.endpoints import Endpoints
from twins.twilio.ids import new_account_sid, new_call_sid, new_stream_sid
from twins.twilio.metrics import LATE_FRAME_MS
from twins.twilio.network import Network
from twins.twilio.script import Step

API_VERSION = "2010-04-01"
DEFAULT_CALLER = "+12025550101"
DEFAULT_CALLED = "+12025550123"
"""Fictional numbers (555-01xx)."""

Direction = Literal["inbound", "outbound-api"]
CallStatus = Literal[
    "queued", "ringing", "in-progress", "completed", "busy", "no-answer", "failed", "canceled"
]


@dataclass(frozen=True, kw_only=True)
class CallConfig:
    server_url: str
    """Where the server actually listens, e.g. ``http://127.0.0.1:8000``."""
    auth_token: str
    """The account's auth token: every webhook and the stream upgrade are signed with it."""
    public_url: str | None = None
    """The origin the server believes it is at (signatures are computed over it); default:
    ``server_url``."""
    voice_path: str = "/twilio/voice"
    webhook_url: str | None = None
    """The full public voice URL; default: ``public_url + voice_path``."""
    twiml: str | None = None
    """Run this TwiML instead of asking the webhook (a call created with ``Twiml=``)."""
    account_sid: str = field(default_factory=new_account_sid)
    call_sid: str = field(default_factory=new_call_sid)
    stream_sid: str = field(default_factory=new_stream_sid)
    from_number: str = DEFAULT_CALLER
    to_number: str = DEFAULT_CALLED
    from_country: str = "US"
    to_country: str = "US"
    direction: Direction = "inbound"
    extra_params: Mapping[str, str] = field(default_factory=dict)
    """More webhook form fields (``AnsweredBy``, ``StirVerstat``, ...); they override."""
    script: Sequence[Step] = ()
    return_script: Sequence[Step] = ()
    """What the caller does on a second media stream, when TwiML run after the first one
    connects the call to the application again (a transfer nobody answered, say)."""
    hang_up_at_end: bool = True
    """Hang up when the script runs out; otherwise keep sending silence until the call ends."""
    seed: int = 0
    comfort_noise_dbfs: float | None = None
    """Send low noise at this level between utterances instead of digital silence (0xFF)."""
    reply_gap_ms: float = 400.0
    """Silence shorter than this inside agent audio does not end a reply (see the script)."""
    max_duration_s: float = 300.0
    """The longest the media stream may run; then the simulator hangs up."""
    http_timeout_s: float = 15.0
    connect_timeout_s: float = 10.0
    ssl_context: ssl.SSLContext | None = None
    """Trust for ``https``/``wss`` servers (default: the system's)."""
    heard_wav: Path | None = None
    """Write what the caller heard here (8 kHz mono 16-bit)."""
    said_wav: Path | None = None
    """Write what the caller sent here."""
    late_frame_ms: float = LATE_FRAME_MS
    status_callback: str | None = None
    """Where Twilio sends this call's progress events (a number's "call status changes" URL,
    or ``StatusCallback`` of a created call)."""
    status_callback_events: tuple[str, ...] = DEFAULT_STATUS_EVENTS
    """Which of initiated, ringing, answered, completed to send (Twilio's default: completed)."""
    status_callback_method: str = "POST"
    after_stream: AfterStream = DEFAULT_AFTER_STREAM
    """What happens once the media stream ended with the caller still on the line."""
    callees: Callees = DEFAULT_CALLEES
    """Who answers what the TwiML dials, queues and conferences."""
    network: Network = field(default_factory=Network)
    """Delay and jitter on the media stream, each way (default: none)."""
    echo: Echo | None = None
    """Line echo of the agent's voice in the caller's audio (default: none)."""
    ring_s: float = 0.0
    """Outbound calls: how long the callee's phone rings before it is answered."""
    amd_s: float = 0.0
    """Outbound calls with synchronous answering machine detection: how long Twilio listens
    after the answer before it requests the call's TwiML."""

    @property
    def endpoints(self) -> Endpoints:
        return Endpoints(self.server_url, self.public_url)

    @property
    def voice_url(self) -> str:
        return self.webhook_url or self.endpoints.public_for(self.voice_path)

    def webhook_params(self) -> dict[str, str]:
        """The voice webhook's form fields, as Twilio sends them."""
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": self.call_sid,
            "CallStatus": "ringing" if self.direction == "inbound" else "in-progress",
            "Direction": self.direction,
            "From": self.from_number,
            "To": self.to_number,
            "Caller": self.from_number,
            "Called": self.to_number,
        }
        for party, country in (
            ("From", self.from_country),
            ("Caller", self.from_country),
            ("To", self.to_country),
            ("Called", self.to_country),
        ):
            params.update(
                {
                    f"{party}City": "",
                    f"{party}State": "",
                    f"{party}Zip": "",
                    f"{party}Country": country,
                }
            )
        params.update(self.extra_params)
        return params
