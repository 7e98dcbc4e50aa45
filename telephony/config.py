"""Settings, read once from the environment and ``.env`` when the app is built."""

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, Json, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/telephony.db"


class Settings(BaseSettings):
    """Everything the server can be told. Environment names are the field names in capitals."""

    model_config = SettingsConfigDict(
        env_file=".env", env_ignore_empty=True, extra="ignore", frozen=True
    )

    public_url: str | None = None
    """Origin Twilio reaches us at, e.g. ``https://voice.example.com``. Signatures are checked
    against it (never against the request's own URL, which a proxy or tunnel rewrites)."""

    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_validate_signatures: bool = True
    """Turn off only for local experiments without a Twilio account."""
    twilio_api_key: str | None = None
    twilio_api_secret: SecretStr | None = None
    """An API key and secret for the REST API (call control, outbound); else the auth token."""
    twilio_api_base_url: str | None = None
    """Where REST requests go instead of Twilio's own hosts (a local simulator, a proxy)."""

    google_api_key: SecretStr | None = None
    google_genai_use_vertexai: bool = False
    google_cloud_project: str | None = None
    google_cloud_location: str | None = None

    agent_model: str | None = None
    """Live model for every agent; unset, each agent uses the model it declares."""
    default_agent: str = "receptionist"
    routes_file: Path | None = None
    """The routing file (TOML: numbers -> agent, voice, transfer targets, hours, fallback; see
    ``telephony/routing``). Checked at start; without one every number reaches
    ``default_agent``."""
    database_url: str = DEFAULT_DATABASE_URL
    api_token: SecretStr | None = None
    """Bearer token for the transcript API. Without one the API refuses every request."""
    transcript_redaction: Literal["off", "mask"] = "off"
    """``mask``: card numbers (Luhn-checked), phone numbers, e-mail addresses and
    national-ID-like numbers are masked in turn text before it is stored
    (``transcripts/redaction.py``)."""
    caller_number_storage: Literal["full", "hashed", "none"] = "full"
    """How the caller's number is stored: as is, as a keyed hash (HMAC-SHA256 under the Twilio
    auth token), or not at all (``transcripts/privacy.py``)."""
    retention_days: float | None = Field(default=None, gt=0)
    """Calls older than this many days are erased by the server, with their turns, sessions
    and everything registered for erasure; unset keeps calls until deleted."""

    summaries_enabled: bool = True
    """Summarise each call with a text model when it ends (``telephony/summaries``)."""
    summary_model: str = "gemini-2.5-flash"
    warm_transfer_briefing_timeout_s: float = Field(default=4.0, gt=0, le=30)
    """How long a warm transfer's briefing may take the text model (``summary_model``) before
    the template briefing is used instead."""
    warm_transfer_hold_music_url: str = (
        "http://com.twilio.sounds.music.s3.amazonaws.com/MARKOVICHAMP-Borghestral.mp3"
    )
    """What a caller waiting for a warm transfer hears (Twilio's own hold music by default)."""
    summary_base_url: str | None = None
    """Where summary requests go instead of Google's default endpoint (a proxy, or a local
    stand-in: the benchmarks point it at the Live emulator's text endpoint)."""
    summary_fields_schema: Json[dict[str, Any]] | None = None
    """JSON schema of the structured fields a summary extracts (a route's
    ``[route.summary] fields_schema`` replaces it for its calls)."""
    summary_webhook_url: str | None = None
    """Where summaries are delivered (POST, signed); unset: they are only stored (a route's
    ``[route.summary] webhook_url`` replaces it; every webhook is signed with the one secret)."""
    summary_webhook_secret: SecretStr | None = None
    summary_webhook_attempts: int = Field(default=6, gt=0, le=20)
    summary_webhook_retry_s: float = Field(default=2.0, gt=0)

    stream_token_ttl_s: float = Field(default=60.0, gt=0)
    stream_start_timeout_s: float = Field(default=5.0, gt=0)
    max_message_bytes: int = Field(default=64 * 1024, gt=0)
    """Media Streams messages above this size are dropped (Twilio's are ~400 bytes)."""
    bad_message_limit: int = Field(default=50, gt=0)
    """A stream that sends this many bad messages is closed."""
    max_connections: int = Field(default=1000, gt=0)
    """Client connections one server process holds (media streams included); beyond it only
    health checks are served, anything else gets a 503. Lowered at start to fit the process's
    open-file limit. See ``telephony/connections.py`` for this and the next two numbers."""
    request_read_timeout_s: float = Field(default=10.0, gt=0)
    """Seconds a client has to send a whole request (a WebSocket upgrade: its head) from its
    connect, or on a kept-alive connection from its first byte; then the connection is closed."""
    keep_alive_s: int = Field(default=5, gt=0)
    """Seconds a kept-alive connection may stay idle. Behind a proxy that reuses connections to
    the server, make it longer than the proxy's idle timeout."""
    live_direct_line: bool = True
    """Exchange audio with the model's socket directly (see live/link.py); false leaves all of
    it to ADK and google-genai, at several times the CPU per call."""

    recordings_dir: str = "var/recordings"
    """Where the server writes its recordings of what callers heard (one stereo WAV a call)."""
    record_heard: bool = False
    """Record what the caller heard (left: the caller, right: the agent as played). Personal
    data: off unless asked for; a route's ``[route.recording]`` may turn it on or off."""
    record_twilio: bool = False
    """Have Twilio record the call too (over REST, with a recording status callback)."""
    recording_consent: str | None = None
    """Announced to the caller before any recording starts, e.g. "This call is recorded."."""
    recording_pause_on_digits: bool = True
    """Pause Twilio's recording while the caller types digits (card numbers), resume after."""
    outbound_from_numbers: str = ""
    """Our numbers outbound calls may come from, comma-separated (E.164)."""
    outbound_calls_per_second: float = Field(default=1.0, gt=0)
    """How many outbound calls are created per second (Twilio's default account CPS is 1)."""
    outbound_max_concurrent: int = Field(default=5, gt=0)
    """Outbound calls live at once; more wait in the queue."""
    outbound_queue_limit: int = Field(default=100, gt=0)
    """Outbound calls that may wait; beyond it a request is refused with a 429."""
    voicemail_callback_number: str | None = None
    """The number a voicemail message asks to call back (default: the call's ``from``)."""
    outbound_amd: Literal["twilio", "audio"] = "twilio"
    """Who tells a person from a voicemail box on outbound calls: Twilio's answering machine
    detection, or the server from the audio (``telephony/audio/voicemail.py``), where Twilio's
    is not available or not wanted (it is billed per call)."""
    amd_timeout_s: float = Field(default=8.0, gt=0)
    """How long an outbound call listens for the answering machine detection result."""
    drain_budget_s: float = Field(default=900.0, ge=0)
    """After SIGTERM, how long live calls may go on (new calls get the overflow meanwhile);
    then each is wound up: the agent says a short line and the caller goes to the fallback."""
    max_calls: int = Field(default=50, gt=0)
    """Calls one process carries at once (streams, and webhooks answered whose stream has not
    started yet); a call beyond it is answered with the overflow."""
    max_loop_lag_ms: float = Field(default=200.0, gt=0)
    """New calls get the overflow while the event loop's median lag over the last seconds is
    above this: the process is out of CPU, and one more call would degrade every call."""
    memory_release_interval_s: float = Field(default=60.0, ge=0)
    """Every this many seconds, give memory the calls have freed back to the system
    (glibc's ``malloc_trim``; ``telephony/memory.py``); 0: never."""
    overflow: Literal["message", "redirect", "queue"] = "message"
    """What a caller this process cannot take hears: ``OVERFLOW_MESSAGE`` and a hang-up, or the
    message and a ``<Dial>`` to ``OVERFLOW_NUMBER``, or the message and ``<Enqueue>`` into
    ``OVERFLOW_QUEUE``."""
    overflow_message: str = "All our lines are busy right now. Please call again in a few minutes."
    overflow_number: str | None = None
    overflow_queue: str | None = None

    metrics_port: int | None = Field(default=None, gt=0, lt=65536)
    """Serve the Prometheus metrics on this port (at ``/metrics``) instead of the main port's
    ``/metrics/prometheus``: keep them off the public listener. Neither needs a token."""
    metrics_host: str = "0.0.0.0"
    """Where ``METRICS_PORT`` listens: every interface, as the scraper runs elsewhere."""

    otel_exporter_otlp_endpoint: str | None = None
    """An OTLP/HTTP collector (e.g. ``http://otel-collector:4318``): ``serve`` then exports a
    trace per call (the call's span, ADK's spans under it). Unset: no tracing."""

    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    """``json``: one JSON object a line, with the call's SID and trace id (no personal data)."""

    @model_validator(mode="after")
    def _overflow_complete(self) -> "Settings":
        if self.overflow == "redirect" and not self.overflow_number:
            raise ValueError("OVERFLOW=redirect needs OVERFLOW_NUMBER")
        if self.overflow == "queue" and not self.overflow_queue:
            raise ValueError("OVERFLOW=queue needs OVERFLOW_QUEUE")
        return self

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.rstrip("/")
        if not value.startswith(("https://", "http://")):
            raise ValueError("PUBLIC_URL must start with https:// (or http:// for local use)")
        return value

    @property
    def offline(self) -> bool:
        """True when no Gemini credentials are configured: calls go to the local emulator."""
        has_vertex = self.google_genai_use_vertexai and bool(self.google_cloud_project)
        return self.google_api_key is None and not has_vertex
