"""extension requests

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 02:37:10.573805
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "extension_request",
                sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
                nullable=True,
                comment="a department's pending request for more time",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.drop_column("extension_request")
