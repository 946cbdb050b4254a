"""failed guesses counted in the database, shared by every API process

Revision ID: 0017
Revises: 0016

Wrong query codes, passwords and licence holders' names were counted in each API process's
memory: with `tongban api --workers N`, or several hosts, a guesser had N times the attempts,
and a restart forgot them all.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "throttle_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_throttle_failures")),
    )
    op.create_index("ix_throttle_failures_key", "throttle_failures", ["key", "expires_at"])
    op.create_index(op.f("ix_throttle_failures_expires_at"), "throttle_failures", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_throttle_failures_expires_at"), table_name="throttle_failures")
    op.drop_index("ix_throttle_failures_key", table_name="throttle_failures")
    op.drop_table("throttle_failures")
