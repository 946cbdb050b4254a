"""the township or village whose agent accepted an application, for its statistics

Revision ID: 0021
Revises: 0020

An application's number carries its county; one accepted by a township's or village's agent
(代办员) was counted in the county's statistics only, and those of every township and
village showed no application at all.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "applications",
        sa.Column(
            "local_region",
            sa.String(length=12),
            nullable=True,
            comment="the township or village whose agent accepted it",
        ),
    )
    # Those accepted before: by an agent whose account works in a township or village of
    # the application's county. The daily aggregates are counted again.
    applications = sa.table(
        "applications",
        sa.column("application_no", sa.String),
        sa.column("region_code", sa.String),
        sa.column("accepted_by_id", sa.String),
        sa.column("local_region", sa.String),
    )
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("region_code", sa.String))
    bind = op.get_bind()
    agents = {
        f"user:{id_}": region
        for id_, region in bind.execute(sa.select(users.c.id, users.c.region_code))
        if region and len(region) > 6
    }
    # One pass over the table for up to 200 agents (accepted_by_id has no index: a statement
    # per agent read the whole table once for each).
    accounts = list(agents.items())
    for first in range(0, len(accounts), 200):
        some = dict(accounts[first : first + 200])
        region_of = sa.case(
            *(
                (
                    sa.and_(
                        applications.c.accepted_by_id == account,
                        applications.c.region_code == region[:6],  # of his county
                    ),
                    region,
                )
                for account, region in some.items()
            ),
            else_=applications.c.local_region,
        )
        bind.execute(
            applications.update()
            .where(applications.c.accepted_by_id.in_(list(some)))
            .values(local_region=region_of)
        )
    _recount(bind)


def _recount(bind: sa.Connection) -> None:
    """The daily aggregates are keyed by region: counted again, by the new key or the old."""
    bind.execute(sa.text("UPDATE statistics_days SET stale = :stale"), {"stale": True})


def downgrade() -> None:
    op.drop_column("applications", "local_region")
    _recount(op.get_bind())
