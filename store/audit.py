"""Events written after an application's workflow has closed (handover, rating, follow-up).

The workflow numbers its own events; these continue its numbering. Two writers racing for
the same number collide on the unique (application_no, seq) and the loser retries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.actors import Actor
from domain.events import EventKind
from store.models import EventRow


async def append_event(
    session: AsyncSession,
    *,
    application_no: str,
    kind: EventKind,
    actor: Actor,
    at: datetime,
    payload: dict[str, Any],
) -> None:
    for _ in range(5):
        last = await session.scalar(
            select(func.max(EventRow.seq)).where(EventRow.application_no == application_no)
        )
        try:
            async with session.begin_nested():
                session.add(
                    EventRow(
                        application_no=application_no,
                        seq=(last or 0) + 1,
                        at=at,
                        kind=kind,
                        actor_id=actor.id,
                        actor_name=actor.name,
                        actor_role=actor.role.value,
                        actor_department=actor.department,
                        step_code=None,
                        payload=payload,
                    )
                )
            return
        except IntegrityError:
            continue
    raise RuntimeError(f"could not number an event for {application_no}")
