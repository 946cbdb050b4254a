"""results and delivery: materials pin their licences; the result's delivery clock

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("materials", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "digest",
                sa.String(length=64),
                nullable=False,
                server_default="",
                comment="a licence's, pinned",
            )
        )
        batch_op.add_column(
            sa.Column(
                "verified",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
                comment="obtained by the centre (licence found valid, data sharing)",
            )
        )
    # Data sharing was always done by the centre itself; licence references before this
    # revision were never checked, so they do not count as verified.
    op.execute("UPDATE materials SET verified = true WHERE source = 'sharing'")
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivery_deadline", sa.DateTime(timezone=True)))
        batch_op.add_column(sa.Column("delivery_sla_level", sa.String(length=10)))
        batch_op.create_index(
            batch_op.f("ix_applications_delivery_deadline"), ["delivery_deadline"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_applications_delivery_deadline"))
        batch_op.drop_column("delivery_sla_level")
        batch_op.drop_column("delivery_deadline")
    with op.batch_alter_table("materials", schema=None) as batch_op:
        batch_op.drop_column("verified")
        batch_op.drop_column("digest")
