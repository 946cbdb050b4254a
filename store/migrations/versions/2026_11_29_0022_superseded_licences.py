"""the application whose new licence replaced (换发) a licence

Revision ID: 0022
Revises: 0021

A transfer of property issued the buyer's certificate and left the seller's valid: it could
be cited again for another transfer. A licence replaced is now revoked with the new one's
issue, and names the application that replaced it, so that undoing that decision (and only
that) makes it valid again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("licences") as batch:
        batch.add_column(
            sa.Column(
                "superseded_by",
                sa.String(length=40),
                nullable=True,
                comment="the application whose new licence replaced (换发) this revoked one",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("licences") as batch:
        batch.drop_column("superseded_by")
