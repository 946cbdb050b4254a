"""容缺 materials brought to the window count as a visit; 全程网办 reads how the result went

Revision ID: 0024
Revises: 0023

Materials accepted missing (容缺) and brought to the window later are a trip of the
applicant's own, as a correction brought there is, and were not counted: the visits of the
applications with such an event are counted again. A result the window posted counts as
posted for 全程网办 whatever delivery the applicant had chosen. Every day's aggregates are
marked stale, to be computed again with both.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BROUGHT = (
    "SELECT count(*) FROM events e WHERE e.application_no = applications.application_no"
    " AND e.kind = 'missing_supplied' AND e.actor_role IN ('clerk', 'admin')"
)


def _recount(sign: str) -> None:
    """Add (or take back) each application's 容缺 hand-ins at the window, and have every
    day's figures computed again."""
    op.execute(
        f"UPDATE applications SET visits = visits {sign} ({_BROUGHT})"
        " WHERE application_no IN (SELECT application_no FROM events"
        " WHERE kind = 'missing_supplied' AND actor_role IN ('clerk', 'admin'))"
    )
    op.get_bind().execute(sa.text("UPDATE statistics_days SET stale = :stale"), {"stale": True})


def upgrade() -> None:
    _recount("+")


def downgrade() -> None:
    _recount("-")
