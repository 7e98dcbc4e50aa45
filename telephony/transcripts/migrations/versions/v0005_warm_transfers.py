"""Warm transfers' shared facts and outcomes (warm_transfers).

Revision ID: 0005
Revises: 0004
Created: 2026-11-27 18:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "warm_transfers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("transfer_id", sa.String(length=64), nullable=False),
        sa.Column("call_sid", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("person_sid", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warm_transfers")),
        sa.UniqueConstraint("transfer_id", name=op.f("uq_warm_transfers_transfer_id")),
    )
    with op.batch_alter_table("warm_transfers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_warm_transfers_call_sid"), ["call_sid"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("warm_transfers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_warm_transfers_call_sid"))

    op.drop_table("warm_transfers")
