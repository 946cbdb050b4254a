"""delivery: notifications delivered and read, tasks pushed to departments, the event feed

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from store.types import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "feed_sequence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_sequence")),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column(
            "secret",
            sa.String(length=200),
            nullable=False,
            comment="signs each delivery (Standard Webhooks); the receiver holds it too",
        ),
        sa.Column("types", JSON, nullable=False, comment="event kinds; empty: all"),
        sa.Column("cursor", sa.BigInteger(), nullable=False, comment="last position sent"),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("delivered", sa.BigInteger(), nullable=False),
        sa.Column("last_delivered_at", UTCDateTime(), nullable=True),
        sa.Column("failing_since", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
    )
    op.create_table(
        "notification_reads",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.String(length=64), nullable=False),
        sa.Column("read_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_notification_reads_notification_id_notifications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notification_reads_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "notification_id", name=op.f("pk_notification_reads")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("feed_position", sa.BigInteger(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_events_feed_position"), ["feed_position"])

    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("channel", sa.String(length=10), nullable=False, server_default="inbox")
        )
        batch_op.add_column(sa.Column("sms_text", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(
            sa.Column("state", sa.String(length=10), nullable=False, server_default="pending")
        )
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("failed_at", UTCDateTime(), nullable=True))
        batch_op.alter_column(
            "kind",
            existing_type=sa.String(length=20),
            type_=sa.String(length=40),
            existing_nullable=False,
        )
        batch_op.create_index("ix_notifications_inbox", ["recipient", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_notifications_state"), ["state"], unique=False)
    # Messages written before delivery existed: staff ones are in the inbox now; the ones
    # for applicants were never sent, and are not sent late.
    op.execute(
        "UPDATE notifications SET state = 'sent', sent_at = at WHERE recipient <> 'applicant'"
    )
    op.execute(
        "UPDATE notifications SET channel = 'sms', state = 'failed', failed_at = at, "
        "sms_text = subject || ' ' || body, "
        "last_error = '投递功能上线前的消息，未发送' WHERE recipient = 'applicant'"
    )

    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("push_state", sa.String(length=12), nullable=True))
        batch_op.add_column(
            sa.Column("push_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("push_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("pushed_at", UTCDateTime(), nullable=True))

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=10), nullable=False, server_default="person")
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("kind")
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.drop_column("pushed_at")
        batch_op.drop_column("push_error")
        batch_op.drop_column("push_attempts")
        batch_op.drop_column("push_state")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_state"))
        batch_op.drop_index("ix_notifications_inbox")
        batch_op.alter_column(
            "kind",
            existing_type=sa.String(length=40),
            type_=sa.String(length=20),
            existing_nullable=False,
        )
        batch_op.drop_column("failed_at")
        batch_op.drop_column("last_error")
        batch_op.drop_column("attempts")
        batch_op.drop_column("state")
        batch_op.drop_column("sms_text")
        batch_op.drop_column("channel")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_events_feed_position"), type_="unique")
        batch_op.drop_column("feed_position")
    op.drop_table("notification_reads")
    op.drop_table("subscriptions")
    op.drop_table("feed_sequence")
