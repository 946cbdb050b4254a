"""The pull feed: every change of every application, as CloudEvents, in one resumable order
(for the provincial platform and other consumers that poll rather than receive pushes)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ServicesDep, SessionDep, Staff
from api.schemas import FeedPage
from api.services.region_scope import visible
from domain.actors import Role
from store import feed

router = APIRouter(prefix="/api/events", tags=["event feed"])


@router.get("", response_model=FeedPage)
async def events(
    user: Staff,
    services: ServicesDep,
    session: SessionDep,
    after: Annotated[int, Query(ge=0, le=2**62, description="the `next` of the last page")] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> FeedPage:
    """Events after the cursor, in feed order (each application's in its own order). A
    department's staff and systems read the events of applications with a step of theirs;
    supervisors those of every application they see (the city's: all; a county's: the
    county's)."""
    await feed.sequence(session)
    department = user.department if user.role is Role.staff else None
    page = await feed.after(session, after, limit, department=department, scope=visible(user))
    source = services.settings.feed_source
    return FeedPage(
        events=[json.loads(feed.structured(e, source=source)[1]) for e in page],
        next=page[-1].position if page else after,
    )
