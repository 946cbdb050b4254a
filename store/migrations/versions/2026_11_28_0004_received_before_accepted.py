"""received before accepted

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 01:40:20.778379
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Applications submitted online are received (收件) before the window accepts them.
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("received_at", store.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("acceptance_due", store.types.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute("UPDATE applications SET received_at = accepted_at")
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.alter_column(
            "received_at", existing_type=store.types.UTCDateTime(timezone=True), nullable=False
        )
        batch_op.alter_column(
            "accepted_at", existing_type=store.types.UTCDateTime(timezone=True), nullable=True
        )
        batch_op.create_index(
            batch_op.f("ix_applications_received_at"), ["received_at"], unique=False
        )


def downgrade() -> None:
    op.execute("DELETE FROM applications WHERE accepted_at IS NULL")
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_applications_received_at"))
        batch_op.alter_column(
            "accepted_at", existing_type=store.types.UTCDateTime(timezone=True), nullable=False
        )
        batch_op.drop_column("acceptance_due")
        batch_op.drop_column("received_at")
