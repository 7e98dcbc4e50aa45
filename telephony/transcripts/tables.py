"""The transcript tables, ``calls`` and ``call_turns``, and ``call_streams``: which call was given
a stream token and which stream used it; ``server_instances`` and ``call_carriers``: which server
process carries which open call, and whether it is still alive; ``call_events``: each call's
live feed, kept for clients that reconnect; ``call_summaries``: what a text model made of a
finished call and how its delivery to the webhook went; ``warm_transfers``: each warm
transfer's outcome, decided once across the deployment.

They live in the same database as google-adk's session tables (``sessions``, ``events``,
``app_states``, ``user_states``, ``adk_internal_metadata``), so they have their own `MetaData`
and names of their own; constraint and index names all start with the table name.
"""

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    DateTime,
    Dialect,
    Enum,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from telephony.transcripts.values import CallDirection, CallStatus, EndReason, Speaker

_ENUM_LENGTH = 32
"""Enums are stored as plain strings of this length, so adding a member needs no migration."""

# BIGINT keys on PostgreSQL; on SQLite only INTEGER PRIMARY KEY is the auto-numbered rowid.
_Id = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp that always comes back in UTC.

    SQLite has no time zones: values are stored as naive UTC text, which still sorts and compares
    correctly, and are marked as UTC again on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _string_enum(enum: type[StrEnum]) -> Enum:
    return Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=_ENUM_LENGTH,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class CallRow(Base):
    """One phone call, created by whichever comes first: a status callback or the stream."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(_Id, primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    stream_sid: Mapped[str | None] = mapped_column(String(64))
    account_sid: Mapped[str | None] = mapped_column(String(64))
    from_number: Mapped[str | None] = mapped_column(Text)
    to_number: Mapped[str | None] = mapped_column(Text)
    agent: Mapped[str | None] = mapped_column(String(128))
    route: Mapped[str | None] = mapped_column(String(128))
    """The name of the route that answered the call (``routing``)."""
    direction: Mapped[CallDirection | None] = mapped_column(_string_enum(CallDirection))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[EndReason | None] = mapped_column(_string_enum(EndReason))
    status: Mapped[CallStatus | None] = mapped_column(_string_enum(CallStatus))
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last turn number handed out; bumping it locks the row, which orders concurrent writers.
    turn_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    turns: Mapped[list["TurnRow"]] = relationship(
        back_populates="call", order_by="TurnRow.seq", lazy="raise", passive_deletes=True
    )


class TurnRow(Base):
    """One finished utterance of a call."""

    __tablename__ = "call_turns"
    __table_args__ = (UniqueConstraint("call_id", "seq"),)

    id: Mapped[int] = mapped_column(_Id, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey(CallRow.id, ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[Speaker] = mapped_column(_string_enum(Speaker))
    text: Mapped[str] = mapped_column(Text)
    heard_text: Mapped[str | None] = mapped_column(Text)
    interrupted: Mapped[bool]
    start_ms: Mapped[int] = mapped_column(Integer)
    end_ms: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_utc_now)

    call: Mapped[CallRow] = relationship(back_populates="turns", lazy="raise")


class CallStreamRow(Base):
    """The one media stream a call may have: granted by its voice webhook, used by one stream.

    Its own table, not columns of ``calls``: ``create_schema`` adds missing tables to an existing
    database but never alters one, and a status callback may create a ``calls`` row first.
    """

    __tablename__ = "call_streams"

    id: Mapped[int] = mapped_column(_Id, primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    nonce: Mapped[str] = mapped_column(String(64))
    """The nonce of the one stream token the call was given."""
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    stream_sid: Mapped[str | None] = mapped_column(String(64))
    """The stream that used the token; None until one did."""
    streamed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class InstanceRow(Base):
    """A server process sharing the database, and how long its word that it is alive holds.

    Each instance renews its lease while it runs (``instances.InstanceLease``); calls carried by
    an instance whose lease ran out were left open by a crash and may be closed by any other.
    """

    __tablename__ = "server_instances"

    id: Mapped[int] = mapped_column(_Id, primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(64), unique=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    renewed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """The last time the instance said it was alive."""
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime)
    """Until when that holds; after it, the instance is presumed gone."""


class CallCarrierRow(Base):
    """Which instance carries an open call: written with the call's start, removed at its end.

    Its own table, not a column of ``calls`` (``create_schema`` never alters an existing table);
    it holds open calls only, so finding those a dead instance left behind stays cheap.
    """

    __tablename__ = "call_carriers"

    id: Mapped[int] = mapped_column(_Id, primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    instance_id: Mapped[str] = mapped_column(String(64))


class CallEventRow(Base):
    """One event of a call's live feed (a turn, the agent's partial words, a barge-in, the start,
    the end...), kept so that a client that reconnects can be given what it missed.

    ``id`` orders every event of the deployment: writers insert under one lock (PostgreSQL: an
    advisory transaction lock; SQLite: its single writer), so ids become visible in increasing
    order and a reader that has seen id N has seen every event before it. AUTOINCREMENT on
    SQLite: an id is never reused, even after the newest events were erased.
    """

    __tablename__ = "call_events"
    __table_args__ = (UniqueConstraint("call_id", "seq"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(_Id, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey(CallRow.id, ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    """The event's number within its call, given by the call's writer: a repeated write of the
    same event (after a commit whose outcome was lost) is stored once."""
    call_sid: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(_ENUM_LENGTH))
    data: Mapped[str] = mapped_column(Text)
    """The event's JSON object."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_utc_now)


class CallSummaryRow(Base):
    """What a text model made of a finished call, and how its delivery to the webhook went."""

    __tablename__ = "call_summaries"

    id: Mapped[int] = mapped_column(_Id, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey(CallRow.id, ondelete="CASCADE"), unique=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    model: Mapped[str] = mapped_column(String(128))
    summary: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(_ENUM_LENGTH))
    follow_ups: Mapped[str] = mapped_column(Text)
    """A JSON array of strings."""
    fields: Mapped[str] = mapped_column(Text)
    """A JSON object: the structured fields the route asked for."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivery_id: Mapped[str] = mapped_column(String(64), unique=True)
    delivery_status: Mapped[str] = mapped_column(String(_ENUM_LENGTH))
    """``pending``, ``delivered``, ``failed`` or ``not_configured``."""
    delivery_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivery_error: Mapped[str | None] = mapped_column(String(200))
    """Why the last attempt failed (an HTTP status or the kind of network error)."""


class CallRecordingRow(Base):
    """A recording of a call: the server's own file of what the caller heard (``heard``), or
    Twilio's recording of the call (``twilio``). One of each kind per call.

    Its own table (``create_schema`` never alters an existing one); keyed by the CallSid so that
    a recording can be listed while the call row is still being written.
    """

    __tablename__ = "call_recordings"
    __table_args__ = (UniqueConstraint("call_sid", "kind"),)

    id: Mapped[int] = mapped_column(_Id, primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(_ENUM_LENGTH))
    status: Mapped[str] = mapped_column(String(_ENUM_LENGTH))
    """``recording`` while it is written, then ``completed`` (or ``failed``; Twilio's own
    status for its recordings: in-progress, paused, completed, absent...)."""
    path: Mapped[str | None] = mapped_column(Text)
    """The server's file (``heard``)."""
    recording_sid: Mapped[str | None] = mapped_column(String(64))
    """Twilio's RecordingSid (``twilio``)."""
    url: Mapped[str | None] = mapped_column(Text)
    """Where Twilio serves its recording (``twilio``)."""
    duration_ms: Mapped[int | None] = mapped_column(BigInteger)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_utc_now)


class OutboundCallRow(Base):
    """An outbound call placed through the API: why, for which agent, who answered (Twilio's
    answering machine detection, or the server's) and what the agent did about it.

    Its own table (``create_schema`` never alters an existing one), keyed by the request's own
    id: a call is queued here before Twilio gives it a CallSid.
    """

    __tablename__ = "outbound_calls"

    id: Mapped[int] = mapped_column(_Id, primary_key=True)
    outbound_id: Mapped[str] = mapped_column(String(64), unique=True)
    call_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    agent: Mapped[str] = mapped_column(String(128))
    purpose: Mapped[str] = mapped_column(Text)
    variables: Mapped[str] = mapped_column(Text)
    """The request's variables as a JSON object."""
    status: Mapped[str] = mapped_column(String(_ENUM_LENGTH))
    answered_by: Mapped[str | None] = mapped_column(String(_ENUM_LENGTH))
    outcome: Mapped[str | None] = mapped_column(String(_ENUM_LENGTH))
    """greeted, voicemail_left or hung_up."""
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_utc_now)


class WarmTransferRow(Base):
    """A warm transfer's shared facts, so that any instance can act on Twilio's requests about
    it: whose call, to which target, the person's call, and the outcome, decided once
    (``warm.WarmLedger``).

    Keyed by the transfer's own id (Twilio's requests carry it): a call may be transferred
    again after a person declined.
    """

    __tablename__ = "warm_transfers"

    id: Mapped[int] = mapped_column(_Id, primary_key=True)
    transfer_id: Mapped[str] = mapped_column(String(64), unique=True)
    call_sid: Mapped[str] = mapped_column(String(64), index=True)
    """The caller's call."""
    target: Mapped[str] = mapped_column(String(64))
    origin: Mapped[str] = mapped_column(Text)
    """The public origin Twilio's requests about the transfer go to."""
    person_sid: Mapped[str | None] = mapped_column(String(64))
    """The person's call, once Twilio created it."""
    outcome: Mapped[str | None] = mapped_column(String(_ENUM_LENGTH))
    """None until decided; then never changed."""
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
