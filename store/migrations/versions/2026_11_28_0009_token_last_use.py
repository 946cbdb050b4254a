"""tokens: when each was last used, for idle expiry of staff sessions

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "last_used_at",
                store.types.UTCDateTime(timezone=True),
                nullable=True,
                comment="recorded at most once a minute",
            )
        )
    # Tokens issued before this revision count as used when they were issued.
    op.execute("UPDATE tokens SET last_used_at = created_at")
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.alter_column(
            "last_used_at",
            existing_type=store.types.UTCDateTime(timezone=True),
            existing_comment="recorded at most once a minute",
            nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.drop_column("last_used_at")
