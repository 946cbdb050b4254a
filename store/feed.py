"""The event feed: every event gets a place in one global order once it is committed, and
subscribers and pollers read the feed by that place.

Event ids cannot serve as the order on PostgreSQL: ids are given at insert, so a reader may
see id 12 committed while id 11 is still in flight, and a cursor past 12 would skip 11 for
ever. Positions are given by `sequence()` to what is visible, in id order, under a lock on
the one row of `feed_sequence`, so they only ever grow and nothing committed is skipped.
Events of one application are committed in their own order (one workflow writes them one
projection after the other), so the feed keeps each application's order too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cloudevents.core.bindings.http import to_structured
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from sqlalchemy import ColumnElement, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.events import EventKind
from store.models import ApplicationRow, EventRow, FeedSequenceRow, StepRow

BATCH = 2000


async def sequence(session: AsyncSession) -> int:
    """Give positions to the committed events without one; commits; returns how many."""
    # Touch the counter first: the write takes the lock (a row lock on PostgreSQL, the
    # database's write lock on SQLite) before anything is read.
    touched = await session.execute(
        update(FeedSequenceRow).where(FeedSequenceRow.id == 1).values(last=FeedSequenceRow.last)
    )
    if touched.rowcount == 0:  # type: ignore[attr-defined]
        try:
            async with session.begin_nested():
                await session.execute(insert(FeedSequenceRow).values(id=1, last=0))
        except IntegrityError:
            pass  # another process created it first
        await session.commit()
        return await sequence(session)
    last = int(
        await session.scalar(select(FeedSequenceRow.last).where(FeedSequenceRow.id == 1)) or 0
    )
    ids = list(
        await session.scalars(
            select(EventRow.id)
            .where(EventRow.feed_position.is_(None))
            .order_by(EventRow.id)
            .limit(BATCH)
        )
    )
    if ids:
        await session.execute(
            update(EventRow),
            [{"id": event_id, "feed_position": last + i} for i, event_id in enumerate(ids, 1)],
        )
        await session.execute(
            update(FeedSequenceRow).where(FeedSequenceRow.id == 1).values(last=last + len(ids))
        )
    await session.commit()
    return len(ids)


async def sequence_all(session: AsyncSession) -> None:
    while await sequence(session) == BATCH:
        pass


async def end(session: AsyncSession) -> int:
    """The last position given so far (0 for an empty feed)."""
    return int(
        await session.scalar(select(FeedSequenceRow.last).where(FeedSequenceRow.id == 1)) or 0
    )


@dataclass(frozen=True)
class FeedEvent:
    position: int
    application_no: str
    matter_code: str
    seq: int
    at: datetime
    kind: str
    actor_name: str
    actor_role: str
    actor_department: str | None
    step_code: str | None
    payload: dict[str, Any]


async def after(
    session: AsyncSession,
    cursor: int,
    limit: int,
    kinds: list[str] | None = None,
    department: str | None = None,
    scope: ColumnElement[bool] | None = None,
) -> list[FeedEvent]:
    """The events placed after `cursor`, in feed order (only `kinds`, when given; only of
    applications with a step in `department`, when given; only of applications meeting
    `scope`, a condition on their rows, when given: a region's)."""
    query = (
        select(EventRow, ApplicationRow.matter_code)
        .join(ApplicationRow, ApplicationRow.application_no == EventRow.application_no)
        .where(EventRow.feed_position > cursor)
        .order_by(EventRow.feed_position)
        .limit(limit)
    )
    if kinds:
        query = query.where(EventRow.kind.in_(kinds))
    if scope is not None:
        query = query.where(scope)
    if department:
        query = query.where(
            EventRow.application_no.in_(
                select(StepRow.application_no).where(StepRow.department == department)
            )
        )
    return [
        FeedEvent(
            position=int(e.feed_position or 0),
            application_no=e.application_no,
            matter_code=matter_code,
            seq=e.seq,
            at=e.at,
            kind=e.kind,
            actor_name=e.actor_name,
            actor_role=e.actor_role,
            actor_department=e.actor_department,
            step_code=e.step_code,
            payload=e.payload,
        )
        for e, matter_code in await session.execute(query)
    ]


# --- as CloudEvents 1.0 -------------------------------------------------------------------

EVENT_TYPE_PREFIX = "cn.gov.tongban.application."


def cloud_event(event: FeedEvent, *, source: str) -> CloudEvent:
    """The event as a CloudEvent: its id stable (`<application>/<seq>`), its type the event
    kind, the `sequence` extension its place among its application's events."""
    kind = EventKind(event.kind)
    return CloudEvent(
        {
            "id": f"{event.application_no}/{event.seq}",
            "source": source,
            "type": EVENT_TYPE_PREFIX + event.kind,
            "subject": event.application_no,
            "time": event.at.astimezone(UTC),
            "datacontenttype": "application/json",
            "sequence": str(event.seq),
            "feedposition": str(event.position),
        },
        {
            "application_no": event.application_no,
            "matter_code": event.matter_code,
            "seq": event.seq,
            "kind": event.kind,
            "label": kind.label,
            "step_code": event.step_code,
            "actor": {
                "name": event.actor_name,
                "role": event.actor_role,
                "department": event.actor_department,
            },
            "payload": event.payload,
        },
    )


def structured(event: FeedEvent, *, source: str) -> tuple[str, bytes]:
    """(content type, body) of the event in CloudEvents' structured JSON mode."""
    message = to_structured(cloud_event(event, source=source), JSONFormat())
    return message.headers["content-type"], message.body
