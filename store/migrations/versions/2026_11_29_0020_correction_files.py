"""files uploaded in answer to a correction, by reference

Revision ID: 0020
Revises: 0019

What an applicant uploaded in answer to a correction notice was kept in the notice's JSON
only: no member of staff could open it (files open only for those who may see an
application the file belongs to, found by its reference).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "correction_files",
        sa.Column("application_no", sa.String(length=40), nullable=False),
        sa.Column("ref", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_no"],
            ["applications.application_no"],
            name=op.f("fk_correction_files_application_no_applications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("application_no", "ref", name=op.f("pk_correction_files")),
    )
    op.create_index(op.f("ix_correction_files_ref"), "correction_files", ["ref"])
    # The files of the answers given before.
    corrections = sa.table(
        "corrections", sa.column("application_no", sa.String), sa.column("supplied", sa.JSON)
    )
    files = sa.table("correction_files", sa.column("application_no"), sa.column("ref"))
    bind = op.get_bind()
    rows = {
        (number, str(item["ref"]))
        for number, supplied in bind.execute(sa.select(corrections))
        for item in supplied or []
        if str(item.get("ref", "")).startswith("upload:")
    }
    if rows:
        op.bulk_insert(files, [{"application_no": n, "ref": r} for n, r in sorted(rows)])


def downgrade() -> None:
    op.drop_index(op.f("ix_correction_files_ref"), table_name="correction_files")
    op.drop_table("correction_files")
