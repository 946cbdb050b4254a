"""handover and ratings

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 01:24:31.562872
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ratings",
        sa.Column("application_no", sa.String(length=40), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("rated_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("follow_up_due", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("followed_up_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("followed_up_by", sa.String(length=100), nullable=True),
        sa.Column("follow_up_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_no"],
            ["applications.application_no"],
            name=op.f("fk_ratings_application_no_applications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("application_no", name=op.f("pk_ratings")),
    )
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ratings_follow_up_due"), ["follow_up_due"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ratings_level"), ["level"], unique=False)

    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("handed_over_at", store.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("handover_method", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("handover_ref", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("handed_over_by", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_column("handed_over_by")
        batch_op.drop_column("handover_ref")
        batch_op.drop_column("handover_method")
        batch_op.drop_column("handed_over_at")

    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ratings_level"))
        batch_op.drop_index(batch_op.f("ix_ratings_follow_up_due"))

    op.drop_table("ratings")
