"""The audit trail of access to protected data (个人信息保护法): who looked at or changed
whose data, and for which application.

Rows are only ever added, in the caller's transaction, so that an action and its record
commit or fail together. Nothing here updates or deletes them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import AuditRow


async def record_audit(
    session: AsyncSession,
    *,
    actor_id: str,
    actor_name: str,
    actor_role: str,
    action: str,
    subject: str,
    application_no: str | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime,
) -> None:
    """Add one entry. `action` such as `licence.lookup`, `licence.view`, `licence.revoke`,
    `login`, `login_failed`; `subject` whose data it was (a holder id, a username)."""
    await session.execute(
        insert(AuditRow).values(
            at=at,
            actor_id=actor_id,
            actor_name=actor_name,
            actor_role=actor_role,
            action=action,
            subject=subject,
            application_no=application_no,
            detail=detail or {},
        )
    )
