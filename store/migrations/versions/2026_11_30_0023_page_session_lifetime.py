"""an absolute end for page sessions

Revision ID: 0023
Revises: 0022

A page session's expiry moved on four hours with every use, so an applicant's signed-in
identity lived for as long as a tab kept polling. A session now also ends a fixed time
after it began (TONGBAN_TOKEN_HOURS, as staff sessions do). The sessions open when this
runs are ended: they have no beginning on record, and their browsers simply start new ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM page_sessions")
    with op.batch_alter_table("page_sessions") as batch:
        batch.add_column(
            sa.Column(
                "ends_at",
                sa.DateTime(timezone=True),
                nullable=False,
                comment="absolute end: expires_at moves on with use, never past this",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("page_sessions") as batch:
        batch.drop_column("ends_at")
