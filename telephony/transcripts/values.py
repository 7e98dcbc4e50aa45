"""What goes into the transcript store and what comes out: enums and frozen value types.

The output types (`Call`, `Turn`, `Transcript`) are pydantic models so that REST and SSE can
serialise them directly (``model_dump(mode="json")``). Phone numbers and transcript text are left
out of their ``repr`` so that a stray log line does not leak them.
"""

from enum import StrEnum
from typing import Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator


class EndReason(StrEnum):
    """Why a call ended, as decided by the call end path."""

    CALLER_HUNG_UP = "caller_hung_up"
    """Twilio sent ``stop``: the caller (or Twilio) ended the call."""
    AGENT_HUNG_UP = "agent_hung_up"
    """The agent ended the call with its hang-up tool."""
    TRANSFERRED = "transferred"
    """The call left the agent for a person or a queue."""
    MODEL_ERROR = "model_error"
    """The Live model session failed and could not be resumed."""
    PROTOCOL_ERROR = "protocol_error"
    """Twilio sent something the Media Streams protocol does not allow."""
    CONNECTION_LOST = "connection_lost"
    """The media WebSocket closed without a ``stop``."""
    SERVER_SHUTDOWN = "server_shutdown"
    """The process drained its calls to shut down."""
    TIMEOUT = "timeout"
    """A limit ran out: stream start, silence or the longest allowed call."""
    INTERNAL_ERROR = "internal_error"
    """A bug in this server ended the call."""
    SERVER_LOST = "server_lost"
    """The server carrying the call stopped without ending it (a crash, a lost machine): set by
    another, or the restarted, instance once the carrier's lease ran out. Provisional: should
    the carrier turn out to be alive (only cut off from the database), its own end replaces it."""


class CallStatus(StrEnum):
    """A Twilio call status, as reported by status callbacks (``CallStatus``)."""

    QUEUED = "queued"
    INITIATED = "initiated"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    BUSY = "busy"
    FAILED = "failed"
    NO_ANSWER = "no-answer"
    CANCELED = "canceled"

    @property
    def is_final(self) -> bool:
        """Whether Twilio sends no further status for the call after this one."""
        return self in _FINAL_STATUSES


_FINAL_STATUSES = frozenset(
    {
        CallStatus.COMPLETED,
        CallStatus.BUSY,
        CallStatus.FAILED,
        CallStatus.NO_ANSWER,
        CallStatus.CANCELED,
    }
)


class CallDirection(StrEnum):
    """Twilio's ``Direction`` of a call."""

    INBOUND = "inbound"
    OUTBOUND_API = "outbound-api"
    OUTBOUND_DIAL = "outbound-dial"


class Speaker(StrEnum):
    """Who spoke a turn."""

    CALLER = "caller"
    AGENT = "agent"
    SYSTEM = "system"
    """What the call did, not what was said: a transfer, the agent ending the call."""


class CallInfo(BaseModel):
    """What the media stream knows about a call when it starts."""

    model_config = ConfigDict(frozen=True)

    call_sid: str = Field(min_length=1, max_length=64)
    started_at: AwareDatetime
    stream_sid: str | None = Field(default=None, max_length=64)
    account_sid: str | None = Field(default=None, max_length=64)
    from_number: str | None = Field(default=None, repr=False)
    to_number: str | None = Field(default=None, repr=False)
    agent: str | None = Field(default=None, max_length=128)
    direction: CallDirection | None = None
    route: str | None = Field(default=None, max_length=128)


class TurnRecord(BaseModel):
    """One finished utterance, as the call path hands it to the store.

    ``heard_text`` is what the caller actually heard of an agent turn (less than ``text`` when the
    caller barged in); caller turns have none. ``start_ms`` and ``end_ms`` are offsets from the
    start of the call.
    """

    model_config = ConfigDict(frozen=True)

    speaker: Speaker
    text: str = Field(repr=False)
    heard_text: str | None = Field(default=None, repr=False)
    interrupted: bool = False
    start_ms: int = Field(ge=0)
    end_ms: int = Field(ge=0)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.end_ms < self.start_ms:
            raise ValueError("a turn cannot end before it starts")
        if self.speaker is Speaker.CALLER and self.heard_text is not None:
            raise ValueError("only agent turns have heard_text")
        return self


class Call(BaseModel):
    """A stored call. Fields the call never reached are ``None``.

    A call that only status callbacks saw has no ``started_at`` (the stream never started); a
    call still in progress has no ``ended_at``; ``status`` is the newest Twilio status.
    """

    model_config = ConfigDict(frozen=True, from_attributes=True)

    call_sid: str
    stream_sid: str | None
    account_sid: str | None
    from_number: str | None = Field(repr=False)
    to_number: str | None = Field(repr=False)
    agent: str | None
    direction: CallDirection | None
    started_at: AwareDatetime | None
    ended_at: AwareDatetime | None
    end_reason: EndReason | None
    status: CallStatus | None
    status_at: AwareDatetime | None
    route: str | None = None


class CallSummary(BaseModel):
    """A call as the call list shows it: what it was, how it went, how much was said."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    call_sid: str
    agent: str | None
    route: str | None
    direction: CallDirection | None
    from_number: str | None = Field(repr=False)
    to_number: str | None = Field(repr=False)
    started_at: AwareDatetime | None
    ended_at: AwareDatetime | None
    end_reason: EndReason | None
    status: CallStatus | None
    interrupted: bool
    """Whether the caller barged in on the agent at least once."""
    turn_count: int


class Turn(BaseModel):
    """A stored turn; ``seq`` numbers the turns of one call from 1, in the order they finished."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    seq: int
    speaker: Speaker
    text: str = Field(repr=False)
    heard_text: str | None = Field(repr=False)
    interrupted: bool
    start_ms: int
    end_ms: int
    created_at: AwareDatetime


class Transcript(BaseModel):
    """A call and its turns in order."""

    model_config = ConfigDict(frozen=True)

    call: Call
    turns: tuple[Turn, ...]
