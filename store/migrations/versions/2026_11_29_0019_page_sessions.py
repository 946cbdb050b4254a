"""page sessions kept in the database, the browser holding only a random token

Revision ID: 0019
Revises: 0018

The page session was a signed cookie: an applicant's unified-identity claims (ID number,
name, mobile) and the query codes a browser had verified travelled in it, readable by anyone
holding the cookie, and a copy taken before a sign-out still worked after it. Its 4 KB also
dropped long text typed into a refused form.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "page_sessions",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("data", sa.Text(), nullable=False, comment="the session as JSON"),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_page_sessions")),
    )
    op.create_index(op.f("ix_page_sessions_expires_at"), "page_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_page_sessions_expires_at"), table_name="page_sessions")
    op.drop_table("page_sessions")
