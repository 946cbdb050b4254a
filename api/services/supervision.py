"""Electronic supervision (电子监察): every open matter, its cards, timeline and figures."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.container import Services
from api.schemas import (
    CatalogueFigures,
    DepartmentFigures,
    Overview,
    SupervisedApplication,
    TimelineEvent,
)
from api.services.accounts import StaffUser
from api.services.region_scope import level_of, of_visible, visible
from api.services.views import local
from definitions.catalogue import Catalogue
from domain.events import EventKind
from domain.matter import Channel
from domain.ratings import BAD_RATINGS
from domain.regions import RegionLevel
from domain.states import ApplicationState, SlaLevel, StepState
from store.models import ApplicationRow, EventRow, MaterialRow, RatingRow, StepRow

OPEN_STATES = [s.value for s in ApplicationState if not s.final]
ACTIVE_STEPS = [s.value for s in StepState if s.active]
OVERDUE = [SlaLevel.red.value, SlaLevel.serious.value]
# Steps a department decided itself: approvals and refusals (not deemed, not cancelled).
DECIDED = [StepState.approved.value, StepState.rejected.value]


def temporal_url(services: Services, application_no: str) -> str:
    base = services.settings.temporal_ui_url.rstrip("/")
    return f"{base}/namespaces/{services.settings.temporal_namespace}/workflows/{application_no}"


async def applications(
    *,
    services: Services,
    session: AsyncSession,
    user: StaffUser,
    matter: str | None,
    department: str | None,
    sla_level: Sequence[str] | None,
    state: Sequence[str] | None,
    limit: int,
    offset: int,
) -> list[SupervisedApplication]:
    query = select(ApplicationRow).where(visible(user))
    if matter:
        query = query.where(ApplicationRow.matter_code == matter)
    if department:
        query = query.where(
            ApplicationRow.application_no.in_(
                select(StepRow.application_no).where(StepRow.department == department)
            )
        )
    if sla_level:
        query = query.where(ApplicationRow.sla_level.in_(sla_level))
    query = query.where(ApplicationRow.state.in_(state or OPEN_STATES))
    query = query.order_by(
        ApplicationRow.promised_deadline.is_(None), ApplicationRow.promised_deadline
    )
    rows = list(await session.scalars(query.limit(limit).offset(offset)))
    overdue: dict[str, list[tuple[str, str]]] = {}
    if rows:
        late = await session.execute(
            select(StepRow.application_no, StepRow.code, StepRow.name).where(
                StepRow.application_no.in_([r.application_no for r in rows]),
                StepRow.state.in_(ACTIVE_STEPS),
                StepRow.sla_level.in_(OVERDUE),
            )
        )
        for no, code, name in late:
            overdue.setdefault(no, []).append((code, name))
    tz = services.tz
    return [
        SupervisedApplication(
            application_no=r.application_no,
            matter_code=r.matter_code,
            matter_name=r.matter_name,
            state=r.state,
            state_label=ApplicationState(r.state).label,
            sla_level=r.sla_level,
            applicant_name=r.applicant_name,
            channel=r.channel,
            received_at=r.received_at.astimezone(tz),
            accepted_at=local(r.accepted_at, tz),
            promised_deadline=local(r.promised_deadline, tz),
            completed_at=local(r.completed_at, tz),
            overdue_steps=[code for code, _ in sorted(overdue.get(r.application_no, []))],
            overdue_step_names=[name for _, name in sorted(overdue.get(r.application_no, []))],
            temporal_url=temporal_url(services, r.application_no),
        )
        for r in rows
    ]


async def timeline(
    *, services: Services, session: AsyncSession, application_no: str
) -> list[TimelineEvent]:
    events = await session.scalars(
        select(EventRow).where(EventRow.application_no == application_no).order_by(EventRow.seq)
    )
    return [
        TimelineEvent(
            seq=e.seq,
            at=local(e.at, services.tz) or e.at,
            kind=EventKind(e.kind),
            label=EventKind(e.kind).label,
            actor=e.actor_name,
            actor_role=e.actor_role,
            step_code=e.step_code,
            payload=e.payload,
        )
        for e in events
    ]


async def _counts(session: AsyncSession, column: object, *where: object) -> dict[str, int]:
    rows = await session.execute(select(column, func.count()).where(*where).group_by(column))  # type: ignore[call-overload]
    return {str(key): int(n) for key, n in rows}


async def overview(*, services: Services, session: AsyncSession, user: StaffUser) -> Overview:
    """The figures of what `user` sees: the whole city, or his county's applications."""
    now = await services.clock()
    mine = visible(user)
    open_by_sla = dict.fromkeys((lv.value for lv in SlaLevel), 0)
    open_by_sla |= await _counts(
        session, ApplicationRow.sla_level, ApplicationRow.state.in_(OPEN_STATES), mine
    )
    by_state = await _counts(session, ApplicationRow.state, mine)
    by_channel = await _counts(
        session, ApplicationRow.channel, ApplicationRow.state != "not_accepted", mine
    )

    on_time_step = and_(StepRow.deadline.is_not(None), StepRow.decided_at <= StepRow.deadline)
    figures = await session.execute(
        select(
            StepRow.department,
            func.count().filter(StepRow.state.in_(ACTIVE_STEPS)),
            func.count().filter(StepRow.state.in_(ACTIVE_STEPS), StepRow.sla_level.in_(OVERDUE)),
            func.count().filter(StepRow.state.in_(DECIDED)),
            func.count().filter(StepRow.state.in_(DECIDED), on_time_step),
        )
        .where(of_visible(StepRow.application_no, user))
        .group_by(StepRow.department)
    )
    found = {row[0]: row[1:] for row in figures}
    # The city's departments (a county's supervisor: his county's branches), and any other
    # department that has steps of the applications seen.
    catalogue = services.catalogue
    if level_of(user) is RegionLevel.city:
        listed = list(catalogue.departments)
    else:
        listed = [c for c, d in catalogue.branches.items() if d.region == user.region]
    listed += sorted(set(found) - set(listed))
    departments = []
    for code in listed:
        open_, overdue, completed, on_time = found.get(code, (0, 0, 0, 0))
        departments.append(
            DepartmentFigures(
                department=code,
                department_name=catalogue.department_name(code),
                open=open_,
                overdue=overdue,
                completed=completed,
                on_time=on_time,
                on_time_rate=round(on_time / completed, 4) if completed else None,
            )
        )

    completed_apps = ApplicationRow.state.in_(["granted", "refused"])
    on_time_app = or_(
        ApplicationRow.promised_deadline.is_(None),
        ApplicationRow.completed_at <= ApplicationRow.promised_deadline,
    )
    completed, completed_on_time = (
        await session.execute(
            select(
                func.count().filter(completed_apps),
                func.count().filter(completed_apps, on_time_app),
            ).where(mine)
        )
    ).one()
    materials_total, not_asked = (
        await session.execute(
            select(func.count(), func.count().filter(MaterialRow.verified.is_(True))).where(
                of_visible(MaterialRow.application_no, user)
            )
        )
    ).one()
    ratings = await _counts(session, RatingRow.level, of_visible(RatingRow.application_no, user))
    pending_reviews, overdue_reviews = (
        await session.execute(
            select(
                func.count().filter(RatingRow.followed_up_at.is_(None)),
                func.count().filter(
                    RatingRow.followed_up_at.is_(None), RatingRow.follow_up_due < now
                ),
            ).where(RatingRow.level.in_(BAD_RATINGS), of_visible(RatingRow.application_no, user))
        )
    ).one()
    awaiting = and_(
        ApplicationRow.state == ApplicationState.granted.value,
        ApplicationRow.handed_over_at.is_(None),
    )
    deliveries_pending, deliveries_overdue = (
        await session.execute(
            select(
                func.count().filter(awaiting),
                func.count().filter(awaiting, ApplicationRow.delivery_deadline < now),
            ).where(mine)
        )
    ).one()
    return Overview(
        open_by_sla=open_by_sla,
        applications_by_state=by_state,
        by_channel=by_channel,
        departments=departments,
        completed=completed,
        completed_on_time=completed_on_time,
        on_time_rate=round(completed_on_time / completed, 4) if completed else None,
        materials_total=materials_total,
        materials_not_asked=not_asked,
        ratings=ratings,
        bad_reviews_pending=pending_reviews,
        bad_reviews_overdue=overdue_reviews,
        deliveries_pending=deliveries_pending,
        deliveries_overdue=deliveries_overdue,
        online_share=_share(
            by_channel.get("online", 0) + by_channel.get("mobile", 0), sum(by_channel.values())
        ),
        catalogue=catalogue_figures(services.catalogue),
    )


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def catalogue_figures(catalogue: Catalogue) -> CatalogueFigures:
    # The matters on offer today: a suspended or cancelled version takes no application.
    matters = [m for m in catalogue.matters.values() if m.status.offered]
    n = len(matters) or 1
    online = sum(1 for m in matters if {Channel.online, Channel.mobile} & set(m.channels))
    asked = [sum(1 for x in m.materials if x.required and not x.shared) for m in matters]
    return CatalogueFigures(
        matters=len(matters),
        online_share=round(online / n, 4),
        average_promised_limit_days=round(sum(m.promised_limit_days for m in matters) / n, 2),
        average_materials=round(sum(asked) / n, 2),
    )


async def open_steps_by_department_and_card(
    session: AsyncSession, user: StaffUser
) -> dict[str, dict[str, int]]:
    """Open steps counted by department and card, for the dashboard's chart."""
    rows = await session.execute(
        select(StepRow.department, StepRow.sla_level, func.count())
        .where(StepRow.state.in_(ACTIVE_STEPS), of_visible(StepRow.application_no, user))
        .group_by(StepRow.department, StepRow.sla_level)
    )
    out: dict[str, dict[str, int]] = {}
    for department, level, n in rows:
        out.setdefault(department, {})[level] = n
    return out
