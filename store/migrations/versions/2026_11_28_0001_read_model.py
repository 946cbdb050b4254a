"""read model

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-28 00:55:32.104459
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import store.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "applications",
        sa.Column("application_no", sa.String(length=40), nullable=False),
        sa.Column("matter_code", sa.String(length=40), nullable=False),
        sa.Column("matter_name", sa.String(length=100), nullable=False),
        sa.Column("matter_version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("sla_level", sa.String(length=10), nullable=False),
        sa.Column("applicant_name", sa.String(length=100), nullable=False),
        sa.Column("applicant_kind", sa.String(length=10), nullable=False),
        sa.Column("applicant_id", sa.String(length=18), nullable=False),
        sa.Column("applicant_phone", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("delivery", sa.String(length=10), nullable=False),
        sa.Column("form", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column(
            "definition",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
            comment="the pinned definition",
        ),
        sa.Column(
            "calendar",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
            comment="the pinned calendar",
        ),
        sa.Column("query_code_digest", sa.String(length=64), nullable=False),
        sa.Column("accepted_by_id", sa.String(length=64), nullable=False),
        sa.Column("accepted_by_name", sa.String(length=100), nullable=False),
        sa.Column("accepted_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("promised_deadline", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("legal_deadline", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deadline_provisional", sa.Boolean(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("working_days_left", sa.Double(), nullable=True),
        sa.Column("extension_days", sa.Integer(), nullable=False),
        sa.Column("completed_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome_reason", sa.Text(), nullable=True),
        sa.Column(
            "status",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=False,
            comment="the last ApplicationStatus",
        ),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("application_no", name=op.f("pk_applications")),
    )
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_applications_accepted_at"), ["accepted_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_applications_applicant_id"), ["applicant_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_applications_matter_code"), ["matter_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_applications_promised_deadline"), ["promised_deadline"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_applications_sla_level"), ["sla_level"], unique=False)
        batch_op.create_index(batch_op.f("ix_applications_state"), ["state"], unique=False)

    op.create_table(
        "corrections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("application_no", sa.String(length=40), nullable=False),
        sa.Column("notice_no", sa.Integer(), nullable=False),
        sa.Column("opened_at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "items", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column(
            "requests", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("answered_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "supplied", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_no"],
            ["applications.application_no"],
            name=op.f("fk_corrections_application_no_applications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_corrections")),
        sa.UniqueConstraint(
            "application_no", "notice_no", name=op.f("uq_corrections_application_no_notice_no")
        ),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("application_no", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("actor_name", sa.String(length=100), nullable=False),
        sa.Column("actor_role", sa.String(length=20), nullable=False),
        sa.Column("actor_department", sa.String(length=40), nullable=True),
        sa.Column("step_code", sa.String(length=40), nullable=True),
        sa.Column(
            "payload", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["application_no"],
            ["applications.application_no"],
            name=op.f("fk_events_application_no_applications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("application_no", "seq", name=op.f("uq_events_application_no_seq")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_kind"), ["kind"], unique=False)

    op.create_table(
        "materials",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("application_no", sa.String(length=40), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("ref", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_no"],
            ["applications.application_no"],
            name=op.f("fk_materials_application_no_applications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_materials")),
        sa.UniqueConstraint(
            "application_no", "code", name=op.f("uq_materials_application_no_code")
        ),
    )
    with op.batch_alter_table("materials", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_materials_source"), ["source"], unique=False)

    op.create_table(
        "notifications",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("application_no", sa.String(length=40), nullable=False),
        sa.Column("at", store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recipient", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("sent_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_no"],
            ["applications.application_no"],
            name=op.f("fk_notifications_application_no_applications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notifications_application_no"), ["application_no"], unique=False
        )
        batch_op.create_index("ix_notifications_pending", ["recipient", "sent_at"], unique=False)

    op.create_table(
        "steps",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("application_no", sa.String(length=40), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("department", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("sla_level", sa.String(length=10), nullable=False),
        sa.Column("opened_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deadline", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deadline_provisional", sa.Boolean(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("working_days_left", sa.Double(), nullable=True),
        sa.Column("extension_days", sa.Integer(), nullable=False),
        sa.Column("claimed_by_id", sa.String(length=64), nullable=True),
        sa.Column("claimed_by_name", sa.String(length=100), nullable=True),
        sa.Column("decided_by_id", sa.String(length=64), nullable=True),
        sa.Column("decided_by_name", sa.String(length=100), nullable=True),
        sa.Column("decided_at", store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "result", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_no"],
            ["applications.application_no"],
            name=op.f("fk_steps_application_no_applications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_steps")),
        sa.UniqueConstraint("application_no", "code", name=op.f("uq_steps_application_no_code")),
    )
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.create_index("ix_steps_inbox", ["department", "state", "deadline"], unique=False)
        batch_op.create_index(batch_op.f("ix_steps_sla_level"), ["sla_level"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_steps_sla_level"))
        batch_op.drop_index("ix_steps_inbox")

    op.drop_table("steps")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_pending")
        batch_op.drop_index(batch_op.f("ix_notifications_application_no"))

    op.drop_table("notifications")
    with op.batch_alter_table("materials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_materials_source"))

    op.drop_table("materials")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_kind"))
        batch_op.drop_index(batch_op.f("ix_events_at"))

    op.drop_table("events")
    op.drop_table("corrections")
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_applications_state"))
        batch_op.drop_index(batch_op.f("ix_applications_sla_level"))
        batch_op.drop_index(batch_op.f("ix_applications_promised_deadline"))
        batch_op.drop_index(batch_op.f("ix_applications_matter_code"))
        batch_op.drop_index(batch_op.f("ix_applications_applicant_id"))
        batch_op.drop_index(batch_op.f("ix_applications_accepted_at"))

    op.drop_table("applications")
