"""Baseline: the tables as they were before migrations.

A database made by an earlier version (its tables created at start-up, no revision recorded) is
adopted as it is: tables already there are left alone, missing ones are created.

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ENUM = sa.String(32)
_TIME = sa.DateTime(timezone=True)


def _missing(table: str) -> bool:
    return not sa.inspect(op.get_bind()).has_table(table)


def upgrade() -> None:
    if _missing("calls"):
        op.create_table(
            "calls",
            sa.Column("id", _ID, nullable=False),
            sa.Column("call_sid", sa.String(64), nullable=False),
            sa.Column("stream_sid", sa.String(64), nullable=True),
            sa.Column("account_sid", sa.String(64), nullable=True),
            sa.Column("from_number", sa.Text(), nullable=True),
            sa.Column("to_number", sa.Text(), nullable=True),
            sa.Column("agent", sa.String(128), nullable=True),
            sa.Column("direction", _ENUM, nullable=True),
            sa.Column("started_at", _TIME, nullable=True),
            sa.Column("ended_at", _TIME, nullable=True),
            sa.Column("end_reason", _ENUM, nullable=True),
            sa.Column("status", _ENUM, nullable=True),
            sa.Column("status_at", _TIME, nullable=True),
            sa.Column("turn_count", sa.Integer(), server_default="0", nullable=False),
            sa.PrimaryKeyConstraint("id", name="pk_calls"),
            sa.UniqueConstraint("call_sid", name="uq_calls_call_sid"),
        )
    if _missing("call_turns"):
        op.create_table(
            "call_turns",
            sa.Column("id", _ID, nullable=False),
            sa.Column("call_id", _ID, nullable=False),
            sa.Column("seq", sa.Integer(), nullable=False),
            sa.Column("speaker", _ENUM, nullable=False),
            sa.Column("text", sa.Text(), nullable=False),
            sa.Column("heard_text", sa.Text(), nullable=True),
            sa.Column("interrupted", sa.Boolean(), nullable=False),
            sa.Column("start_ms", sa.Integer(), nullable=False),
            sa.Column("end_ms", sa.Integer(), nullable=False),
            sa.Column("created_at", _TIME, nullable=False),
            sa.ForeignKeyConstraint(
                ["call_id"], ["calls.id"], name="fk_call_turns_call_id_calls", ondelete="CASCADE"
            ),
            sa.PrimaryKeyConstraint("id", name="pk_call_turns"),
            sa.UniqueConstraint("call_id", "seq", name="uq_call_turns_call_id_seq"),
        )
    if _missing("call_streams"):
        op.create_table(
            "call_streams",
            sa.Column("id", _ID, nullable=False),
            sa.Column("call_sid", sa.String(64), nullable=False),
            sa.Column("nonce", sa.String(64), nullable=False),
            sa.Column("granted_at", _TIME, nullable=False),
            sa.Column("stream_sid", sa.String(64), nullable=True),
            sa.Column("streamed_at", _TIME, nullable=True),
            sa.PrimaryKeyConstraint("id", name="pk_call_streams"),
            sa.UniqueConstraint("call_sid", name="uq_call_streams_call_sid"),
        )
    if _missing("server_instances"):
        op.create_table(
            "server_instances",
            sa.Column("id", _ID, nullable=False),
            sa.Column("instance_id", sa.String(64), nullable=False),
            sa.Column("started_at", _TIME, nullable=False),
            sa.Column("renewed_at", _TIME, nullable=False),
            sa.Column("lease_until", _TIME, nullable=False),
            sa.PrimaryKeyConstraint("id", name="pk_server_instances"),
            sa.UniqueConstraint("instance_id", name="uq_server_instances_instance_id"),
        )
    if _missing("call_carriers"):
        op.create_table(
            "call_carriers",
            sa.Column("id", _ID, nullable=False),
            sa.Column("call_sid", sa.String(64), nullable=False),
            sa.Column("instance_id", sa.String(64), nullable=False),
            sa.PrimaryKeyConstraint("id", name="pk_call_carriers"),
            sa.UniqueConstraint("call_sid", name="uq_call_carriers_call_sid"),
        )


def downgrade() -> None:
    for table in ("call_carriers", "server_instances", "call_streams", "call_turns", "calls"):
        op.drop_table(table)
