"""an index of materials by reference: who may open an uploaded file

Revision ID: 0018
Revises: 0017

An uploaded file is opened only by staff who may see an application it is a material of;
the file's reference finds those applications.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_materials_ref"), "materials", ["ref"])


def downgrade() -> None:
    op.drop_index(op.f("ix_materials_ref"), table_name="materials")
