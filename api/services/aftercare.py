"""After the decision: the applicant's rating (好差评) with the follow-up of every bad one,
and the hand-over of results granted before the workflow watched their delivery.

Their rows are written here. Their events continue the application's audit trail: written
here too once the workflow has recorded its last event, but recorded by the workflow before
that (a commitment being verified, materials accepted missing still owed, licences being
revoked), since it numbers its own events then (`workflows/case/aftercare.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.container import Services
from api.errors import conflict, invalid, not_found
from api.schemas import HandoverIn, HandoverItem, RatingIn, ReviewView
from api.services.accounts import StaffUser
from api.services.region_scope import visible
from api.services.status import Found, load
from api.services.views import local
from domain.actions import AftercareInput
from domain.actors import Actor
from domain.application import ApplicationStatus
from domain.events import EventKind
from domain.ratings import BAD_RATINGS, RatingLevel
from domain.reason import reason_problem
from domain.states import ApplicationState
from store.audit import append_event
from store.models import ApplicationRow, EventRow, RatingRow
from store.statistics import mark_stale, recount_visits


@dataclass(frozen=True)
class Recorded:
    """An aftercare event as the audit trail holds it."""

    payload: dict[str, Any]
    at: datetime
    by: str


async def _recorded(
    services: Services,
    session: AsyncSession,
    status: ApplicationStatus,
    kind: EventKind,
    actor: Actor,
    payload: dict[str, str | None],
) -> Recorded | None:
    """The event of `kind` (there is one of each per application) as the audit trail holds
    it, recorded now by the workflow if it may still record events of its own (watching the
    decision, revoking its licences, a push winding down: the read model cannot tell them
    all, so the engine is asked); None when the caller is to write it, the workflow having
    recorded its last. One recorded by an earlier attempt whose row was not written (the
    database away) is found, not recorded again."""
    number = status.application_no
    found = await _event(session, number, kind)
    if found is None:
        await session.commit()  # only reads so far: the connection goes back while it waits
        action = AftercareInput(actor=actor, kind=kind.value, payload=payload)
        if await services.engine.note_aftercare(number, action, update_id=f"aftercare-{kind}"):
            found = await _event(session, number, kind)
    return found


async def _event(session: AsyncSession, application_no: str, kind: EventKind) -> Recorded | None:
    row = (
        await session.execute(
            select(EventRow.payload, EventRow.at, EventRow.actor_name).where(
                EventRow.application_no == application_no, EventRow.kind == kind
            )
        )
    ).first()
    return None if row is None else Recorded(dict(row.payload), row.at, row.actor_name)


async def rate(
    *, services: Services, session: AsyncSession, found: Found, rating: RatingIn, actor: Actor
) -> None:
    if not found.status.state.final:
        raise conflict("办结后才能评价")
    if found.rating is not None:
        raise conflict("该办件已评价，每件只能评价一次")
    delivery = found.status.delivery
    if delivery is not None and not delivery.done:
        raise conflict("办理结果送达后才能评价")
    if rating.level.bad and reason_problem(rating.reason, "missing"):
        raise invalid({"reason": "选择“不满意”或“非常不满意”时，请说明原因，我们将逐一整改回访"})
    payload: dict[str, Any] = {
        "level": rating.level.value,
        "label": rating.level.label,
        "reason": rating.reason,
    }
    now = await services.clock()
    recorded = await _recorded(services, session, found.status, EventKind.rated, actor, payload)
    if recorded is not None:  # the row says what the trail says (of two sent at once, one)
        payload, now = recorded.payload, recorded.at
    level = RatingLevel(payload["level"])
    due = None
    if level.bad:
        calendar = services.calendars.calendar_around(services.settings.centre, now)
        due = calendar.deadline(now, services.settings.bad_review_follow_up_days).at
    session.add(
        RatingRow(
            application_no=found.application_no,
            level=level,
            reason=payload["reason"],
            rated_at=now,
            follow_up_due=due,
        )
    )
    try:
        await session.flush()
    except IntegrityError as exc:  # the same rating sent twice at once
        await session.rollback()
        raise conflict("该办件已评价，每件只能评价一次") from exc
    if recorded is None:
        await append_event(
            session,
            application_no=found.application_no,
            kind=EventKind.rated,
            actor=actor,
            at=now,
            payload=payload,
        )
    await mark_stale(session, found.application_no)  # the 好差评 figure moves
    await session.commit()


async def hand_over(
    *, session: AsyncSession, application_no: str, handover: HandoverIn, actor: Actor, now: datetime
) -> None:
    """出件 of a case granted before results had a delivery clock (its workflow has closed;
    later cases hand over through their workflow)."""
    # One conditional write: of two clerks handing over at once, exactly one wins.
    won = await session.execute(
        update(ApplicationRow)
        .where(
            ApplicationRow.application_no == application_no,
            ApplicationRow.state == ApplicationState.granted.value,
            ApplicationRow.handed_over_at.is_(None),
        )
        .values(
            handed_over_at=now,
            handover_method=handover.method,
            handover_ref=handover.ref or None,
            handed_over_by=actor.name,
        )
    )
    if won.rowcount != 1:  # type: ignore[attr-defined]
        await session.rollback()
        app = await session.get(ApplicationRow, application_no)
        if app is None:
            raise not_found(f"没有办件 {application_no}")
        if app.state != ApplicationState.granted.value:
            raise conflict("只有已办结（准予）的办件才能出件")
        raise conflict("该办件的结果已经送达")
    await append_event(
        session,
        application_no=application_no,
        kind=EventKind.handed_over,
        actor=actor,
        at=now,
        payload={"method": handover.method, "ref": handover.ref},
    )
    # A result handed over at the window is a visit; the figures of its day move.
    await session.execute(recount_visits(application_no))
    await mark_stale(session, application_no)
    await session.commit()


async def awaiting_handover(
    services: Services, session: AsyncSession, user: StaffUser, limit: int = 200
) -> list[HandoverItem]:
    """Granted applications whose results have not reached the applicant yet, oldest
    first, with the centre's times (for the API and the window's page alike)."""
    rows = await session.scalars(
        select(ApplicationRow)
        .where(
            visible(user),
            ApplicationRow.state == ApplicationState.granted.value,
            ApplicationRow.handed_over_at.is_(None),
        )
        .order_by(ApplicationRow.completed_at)
        .limit(limit)
    )
    return [
        HandoverItem(
            application_no=a.application_no,
            matter_name=a.matter_name,
            applicant_name=a.applicant_name,
            applicant_phone=a.applicant_phone,
            delivery=a.delivery,
            delivery_address=a.delivery_address,
            completed_at=local(a.completed_at, services.tz),
        )
        for a in rows
    ]


async def bad_reviews(
    *, services: Services, session: AsyncSession, user: StaffUser, pending_only: bool
) -> list[ReviewView]:
    # Of the application, only the two columns shown (its row holds the form, the pinned
    # definition and calendar, the status: far more than the list needs).
    query = (
        select(RatingRow, ApplicationRow.matter_name, ApplicationRow.applicant_name)
        .join(ApplicationRow, ApplicationRow.application_no == RatingRow.application_no)
        .where(RatingRow.level.in_(BAD_RATINGS), visible(user))
        .order_by(RatingRow.follow_up_due)
    )
    if pending_only:
        query = query.where(RatingRow.followed_up_at.is_(None))
    tz = services.tz
    return [
        ReviewView(
            application_no=r.application_no,
            matter_name=matter_name,
            applicant_name=applicant_name,
            level=r.level,
            label=RatingLevel(r.level).label,
            reason=r.reason,
            rated_at=r.rated_at.astimezone(tz),
            follow_up_due=local(r.follow_up_due, tz),
            followed_up_at=local(r.followed_up_at, tz),
            followed_up_by=r.followed_up_by,
            follow_up_note=r.follow_up_note,
        )
        for r, matter_name, applicant_name in await session.execute(query)
    ]


async def follow_up(
    *,
    services: Services,
    session: AsyncSession,
    application_no: str,
    note: str,
    user: StaffUser,
) -> None:
    """整改回访 of a bad review, by a supervisor who sees the application (404 for one of
    another region, as if there were none: its reviews are not his to know or answer)."""
    found = await load(session, application_no, user)
    actor = user.actor()
    rating = await session.get(RatingRow, application_no)
    if rating is None or not RatingLevel(rating.level).bad:
        raise not_found(f"办件 {application_no} 没有差评")
    if rating.followed_up_at is not None:
        raise conflict("该差评已整改回访")
    now = await services.clock()
    recorded = await _recorded(
        services, session, found.status, EventKind.review_followed_up, actor, {"note": note}
    )
    by = actor.name
    if recorded is not None:
        note, now, by = str(recorded.payload["note"]), recorded.at, recorded.by
    # One conditional write: of two follow-ups at once, exactly one is recorded.
    won = await session.execute(
        update(RatingRow)
        .where(
            RatingRow.application_no == application_no,
            RatingRow.level.in_(BAD_RATINGS),
            RatingRow.followed_up_at.is_(None),
        )
        .values(followed_up_at=now, followed_up_by=by, follow_up_note=note)
    )
    if won.rowcount != 1:  # type: ignore[attr-defined]
        # The bad rating was there above, and a rating is never changed or taken back:
        # another follow-up was written meanwhile.
        await session.rollback()
        raise conflict("该差评已整改回访")
    if recorded is None:
        await append_event(
            session,
            application_no=application_no,
            kind=EventKind.review_followed_up,
            actor=actor,
            at=now,
            payload={"note": note},
        )
    await session.commit()
