"""Recordings listed on calls (call_recordings) and outbound calls (outbound_calls).

Revision ID: 0004
Revises: 0003
Created: 2026-11-27 14:38:19.318285
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "call_recordings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("call_sid", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("recording_sid", sa.String(length=64), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.BigInteger(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_recordings")),
        sa.UniqueConstraint("call_sid", "kind", name=op.f("uq_call_recordings_call_sid_kind")),
    )
    op.create_table(
        "outbound_calls",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("outbound_id", sa.String(length=64), nullable=False),
        sa.Column("call_sid", sa.String(length=64), nullable=True),
        sa.Column("agent", sa.String(length=128), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("variables", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("answered_by", sa.String(length=32), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_calls")),
        sa.UniqueConstraint("outbound_id", name=op.f("uq_outbound_calls_outbound_id")),
    )
    with op.batch_alter_table("outbound_calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbound_calls_call_sid"), ["call_sid"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbound_calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbound_calls_call_sid"))

    op.drop_table("outbound_calls")
    op.drop_table("call_recordings")
