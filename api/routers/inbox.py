"""Staff inboxes: escalations, reminders, new tasks and answers, per person and department."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CurrentUser, ServicesDep, SessionDep
from api.schemas import Inbox, InboxMessage, Marked, ReadIn
from api.services import inbox

router = APIRouter(prefix="/api/inbox", tags=["inbox"])


@router.get("", response_model=Inbox)
async def messages(
    user: CurrentUser,
    services: ServicesDep,
    session: SessionDep,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Inbox:
    """The signed-in member of staff's messages, the newest first, and the unread count."""
    rows = await inbox.messages(session, user, unread_only=unread, limit=limit, offset=offset)
    return Inbox(
        unread=await inbox.unread_count(session, user),
        messages=[
            InboxMessage(
                id=row.id,
                application_no=row.application_no,
                at=row.at.astimezone(services.tz),
                kind=row.kind,
                subject=row.subject,
                body=row.body,
                recipient=row.recipient,
                read=read,
            )
            for row, read in rows
        ],
    )


@router.post("/read", response_model=Marked)
async def mark_read(
    body: ReadIn, user: CurrentUser, services: ServicesDep, session: SessionDep
) -> Marked:
    """Mark messages read (all of them when no ids are given)."""
    marked = await inbox.mark_read(session, user, body.ids, await services.clock())
    return Marked(marked=marked)
