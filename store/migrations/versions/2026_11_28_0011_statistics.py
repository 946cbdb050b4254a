"""statistics: what each application's figures need, daily aggregates, refreshed days

Revision ID: 0011
Revises: 0010

Applications already there get their region (their number's first six digits), the day they
were received (at their calendar's time zone), their visits, who decided on their acceptance
and whether they were completed early, from their rows and their events, as the projection
keeps them from now on. The rules are written out here as they stand today.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.types
from domain.calendar import CalendarSnapshot, WorkCalendar

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "daily_statistics",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("region_code", sa.String(length=12), nullable=False),
        sa.Column("matter_code", sa.String(length=40), nullable=False),
        sa.Column("applications", sa.Integer(), nullable=False),
        sa.Column("online", sa.Integer(), nullable=False),
        sa.Column("fully_online", sa.Integer(), nullable=False),
        sa.Column("acceptance_decided", sa.Integer(), nullable=False),
        sa.Column("one_window", sa.Integer(), nullable=False),
        sa.Column("at_most_one_visit", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.Column("on_time", sa.Integer(), nullable=False),
        sa.Column("early", sa.Integer(), nullable=False),
        sa.Column("very_satisfied", sa.Integer(), nullable=False),
        sa.Column("satisfied", sa.Integer(), nullable=False),
        sa.Column("basically_satisfied", sa.Integer(), nullable=False),
        sa.Column("dissatisfied", sa.Integer(), nullable=False),
        sa.Column("very_dissatisfied", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "region_code", "matter_code", name=op.f("pk_daily_statistics")
        ),
    )
    op.create_table(
        "statistics_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("refreshed_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("stale", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_statistics_days")),
    )
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "region_code",
                sa.String(length=12),
                nullable=True,
                comment="the region that numbered it: its first six digits",
            )
        )
        batch_op.add_column(
            sa.Column(
                "received_on",
                sa.Date(),
                nullable=True,
                comment="the day it was received, at the centre",
            )
        )
        batch_op.add_column(
            sa.Column(
                "visits",
                sa.Integer(),
                server_default="0",
                nullable=False,
                comment="times the applicant came to a window",
            )
        )
        batch_op.add_column(
            sa.Column(
                "acceptance_role",
                sa.String(length=20),
                nullable=True,
                comment="who decided acceptance: clerk, admin, system",
            )
        )
        batch_op.add_column(
            sa.Column(
                "completed_early",
                sa.Boolean(),
                nullable=True,
                comment="completed a working day or more before the promised deadline",
            )
        )
        batch_op.create_index(
            batch_op.f("ix_applications_received_on"), ["received_on"], unique=False
        )
    _backfill()


VISITS = """
UPDATE applications SET visits =
    (CASE WHEN channel = 'window' THEN 1 ELSE 0 END)
    + (SELECT count(*) FROM events
       WHERE events.application_no = applications.application_no
         AND events.kind IN ('correction_supplied', 'withdrawn')
         AND events.actor_role IN ('clerk', 'admin'))
    + (CASE WHEN handover_method = 'window' THEN 1 ELSE 0 END)
"""
ACCEPTANCE = """
UPDATE applications SET acceptance_role = (
    SELECT events.actor_role FROM events
    WHERE events.application_no = applications.application_no
      AND events.kind IN ('accepted', 'deemed_accepted', 'not_accepted')
    ORDER BY events.seq LIMIT 1)
"""


def _backfill() -> None:
    op.execute(VISITS)
    op.execute(ACCEPTANCE)
    apps = sa.table(
        "applications",
        sa.column("application_no", sa.String()),
        sa.column("state", sa.String()),
        sa.column("calendar", sa.JSON()),
        sa.column("received_at", store.types.UTCDateTime()),
        sa.column("completed_at", store.types.UTCDateTime()),
        sa.column("promised_deadline", store.types.UTCDateTime()),
        sa.column("region_code", sa.String()),
        sa.column("received_on", sa.Date()),
        sa.column("completed_early", sa.Boolean()),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(
            apps.c.application_no,
            apps.c.state,
            apps.c.calendar,
            apps.c.received_at,
            apps.c.completed_at,
            apps.c.promised_deadline,
        )
    ).all()
    calendars: dict[str, WorkCalendar] = {}
    updates = []
    for no, state, calendar, received_at, completed_at, deadline in rows:
        snapshot = CalendarSnapshot.model_validate(calendar)
        work = calendars.setdefault(snapshot.version, WorkCalendar(snapshot))
        early = None
        if state in ("granted", "refused") and completed_at and deadline:
            early = work.day_zero(completed_at) < work.local(deadline).date()
        head = no[:6]
        updates.append(
            {
                "no": no,
                "region": head if len(head) == 6 and head.isdigit() else None,
                "day": work.local(received_at).date(),
                "early": early,
            }
        )
    if updates:
        bind.execute(
            apps.update()
            .where(apps.c.application_no == sa.bindparam("no"))
            .values(
                region_code=sa.bindparam("region"),
                received_on=sa.bindparam("day"),
                completed_early=sa.bindparam("early"),
            ),
            updates,
        )


def downgrade() -> None:
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_applications_received_on"))
        batch_op.drop_column("completed_early")
        batch_op.drop_column("acceptance_role")
        batch_op.drop_column("visits")
        batch_op.drop_column("received_on")
        batch_op.drop_column("region_code")

    op.drop_table("statistics_days")
    op.drop_table("daily_statistics")
