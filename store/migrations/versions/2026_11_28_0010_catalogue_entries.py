"""catalogue entries: the catalogue at a city's scale, searched by name, pinyin, initials
and keywords

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The hand-made matters' entries are written by the API at start-up, the demonstration
    # ones by `tongban catalogue generate`.
    op.create_table(
        "catalogue_entries",
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("base_code", sa.String(length=40), nullable=False, comment="the matter it lists"),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("department", sa.String(length=40), nullable=False),
        sa.Column("department_name", sa.String(length=100), nullable=False),
        sa.Column("agency", sa.String(length=100), nullable=False),
        sa.Column("keywords", sa.String(length=500), nullable=False, comment="separated by spaces"),
        sa.Column("pinyin", sa.String(length=600), nullable=False, comment="企业开办: qiyekaiban"),
        sa.Column("initials", sa.String(length=200), nullable=False, comment="企业开办: qykb"),
        sa.Column(
            "search_text",
            sa.Text(),
            nullable=False,
            comment="name|keywords|pinyin|initials, normalised: for queries in letters",
        ),
        sa.Column(
            "search_words",
            sa.Text(),
            nullable=False,
            comment="name|keywords, normalised: for queries in characters (half as long)",
        ),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("promised_limit_days", sa.Integer(), nullable=False),
        sa.Column("legal_limit_days", sa.Integer(), nullable=False),
        sa.Column(
            "online", sa.Boolean(), nullable=False, comment="可网上办理 (online or on a phone)"
        ),
        sa.Column("materials_count", sa.Integer(), nullable=False),
        sa.Column(
            "materials_asked", sa.Integer(), nullable=False, comment="required, not by data sharing"
        ),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column(
            "demo",
            sa.Boolean(),
            nullable=False,
            comment="demonstration data, no definition behind it",
        ),
        sa.Column(
            "sort_key",
            sa.String(length=80),
            nullable=False,
            comment="the listing's order: hand-made, level, region, code",
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_catalogue_entries")),
    )
    with op.batch_alter_table("catalogue_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_catalogue_entries_department"), ["department"], unique=False
        )
        batch_op.create_index("ix_catalogue_entries_region", ["region_code", "level"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_catalogue_entries_sort_key"), ["sort_key"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("catalogue_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalogue_entries_sort_key"))
        batch_op.drop_index("ix_catalogue_entries_region")
        batch_op.drop_index(batch_op.f("ix_catalogue_entries_department"))

    op.drop_table("catalogue_entries")
