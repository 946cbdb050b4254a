"""indexes behind the paged inbox and supervision list, and the overview's figures

Revision ID: 0014
Revises: 0013

The first page of a department's inbox and of the supervision list, their counts and the
overview's figures, read from indexes at a city's scale (bench/scale.py): 10,000 open
applications beside a few hundred thousand closed ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES: list[tuple[str, str, list[str]]] = [
    (
        "ix_applications_open_list",
        "applications",
        ["state", "sla_level", "promised_deadline", "application_no"],
    ),
    (
        "ix_applications_figures",
        "applications",
        ["completed_at", "state", "channel", "sla_level", "promised_deadline"],
    ),
    (
        "ix_applications_awaiting",
        "applications",
        ["state", "handed_over_at", "delivery_deadline"],
    ),
    ("ix_steps_inbox_paging", "steps", ["department", "state", "sla_level", "deadline"]),
    ("ix_steps_decided", "steps", ["state", "decided_at", "department", "deadline"]),
    ("ix_steps_active", "steps", ["state", "department", "sla_level"]),
    ("ix_steps_push_state", "steps", ["push_state"]),
    ("ix_materials_verified", "materials", ["verified"]),
    ("ix_notifications_sms", "notifications", ["channel", "state", "attempts", "at"]),
    ("ix_ratings_follow_up", "ratings", ["level", "followed_up_at", "follow_up_due"]),
]


def upgrade() -> None:
    # The inbox's index gains the card (it now covers the filtered counts).
    op.drop_index("ix_steps_inbox", table_name="steps")
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    pending = sa.text("extension_request IS NOT NULL")
    op.create_index(
        "ix_steps_extension_requests",
        "steps",
        ["deadline"],
        sqlite_where=pending,
        postgresql_where=pending,
    )


def downgrade() -> None:
    op.drop_index("ix_steps_extension_requests", table_name="steps")
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.create_index("ix_steps_inbox", "steps", ["department", "state", "deadline"])
