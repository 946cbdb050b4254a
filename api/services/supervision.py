"""Electronic supervision (电子监察): every open matter, its cards, timeline and figures."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only

from api.container import Services
from api.schemas import (
    CatalogueFigures,
    DepartmentFigures,
    Overview,
    SupervisedApplication,
    TimelineEvent,
)
from api.services import settled
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

# A query of applications (their rows, or a count), filtered as supervision filters them.
Q = TypeVar("Q", bound=Select[*tuple[Any, ...]])

OPEN_STATES = [s.value for s in ApplicationState if not s.final]
ACTIVE_STEPS = [s.value for s in StepState if s.active]
# The steps a department still owes work on: the active ones, and those decided on a
# commitment whose verification (核查) it owes, with their own deadline and card.
OWED_STEPS = [*ACTIVE_STEPS, StepState.verifying.value]
OVERDUE = [SlaLevel.red.value, SlaLevel.serious.value]
# Steps a department decided itself: approvals and refusals (not deemed, not cancelled).
DECIDED = [StepState.approved.value, StepState.rejected.value]
COMPLETED_APPS = {ApplicationState.granted.value, ApplicationState.refused.value}
# What a grant becomes when undone, any time after it completed.
UNDONE = [ApplicationState.revoked.value, ApplicationState.terminated.value]


def temporal_url(services: Services, application_no: str) -> str:
    base = services.settings.temporal_ui_url.rstrip("/")
    return f"{base}/namespaces/{services.settings.temporal_namespace}/workflows/{application_no}"


# Past this many, the applications still being verified are matched by a subquery instead
# of by their numbers (the statement's parameters stay within SQLite's and PostgreSQL's).
_NUMBERS_AT_MOST = 2000


async def _being_verified(session: AsyncSession) -> Sequence[str] | Select[str]:
    """The applications granted on a commitment whose verification is still owed: a few,
    read by the steps' state index, so that the list's filter can name them."""
    query = select(StepRow.application_no).where(StepRow.state == StepState.verifying.value)
    numbers = list(await session.scalars(query.distinct().limit(_NUMBERS_AT_MOST + 1)))
    return numbers if len(numbers) <= _NUMBERS_AT_MOST else query


def _supervised(
    query: Q,
    *,
    user: StaffUser,
    verifying: Sequence[str] | Select[str],
    matter: str | None,
    department: str | None,
    sla_level: Sequence[str] | None,
    state: Sequence[str] | None,
) -> Q:
    query = query.where(visible(user))
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
    if state:
        return query.where(ApplicationRow.state.in_(state))
    # Unless asked for states: the open ones, and those granted on a commitment whose
    # verification is still owed (its card is the application's, and the overview counts
    # it). Named by their numbers: an OR with a subquery made PostgreSQL scan the whole
    # table, the city's history, for every page.
    open_now = ApplicationRow.state.in_(OPEN_STATES)
    if isinstance(verifying, Sequence) and not verifying:
        return query.where(open_now)
    return query.where(or_(open_now, ApplicationRow.application_no.in_(verifying)))


async def count_applications(
    *,
    session: AsyncSession,
    user: StaffUser,
    matter: str | None,
    department: str | None,
    sla_level: Sequence[str] | None,
    state: Sequence[str] | None,
) -> int:
    """How many applications `applications` pages through with the same filters."""
    query = _supervised(
        select(func.count()).select_from(ApplicationRow),
        user=user,
        verifying=() if state else await _being_verified(session),
        matter=matter,
        department=department,
        sla_level=sla_level,
        state=state,
    )
    return int(await session.scalar(query) or 0)


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
    a = ApplicationRow
    # Only the columns listed: the row's documents (form, pinned definition and calendar,
    # status) are most of its size: decoding them took 6 ms for a page of 50.
    columns = (
        a.application_no, a.matter_code, a.matter_name, a.state, a.sla_level, a.applicant_name,
        a.channel, a.received_at, a.accepted_at, a.promised_deadline, a.completed_at,
    )  # fmt: skip
    query = _supervised(
        select(a).options(load_only(*columns)),
        user=user,
        verifying=() if state else await _being_verified(session),
        matter=matter,
        department=department,
        sla_level=sla_level,
        state=state,
    )
    # The soonest promise first; the number breaks ties, so that pages follow one another
    # with no application repeated or skipped (on PostgreSQL too).
    query = query.order_by(
        ApplicationRow.promised_deadline.is_(None),
        ApplicationRow.promised_deadline,
        ApplicationRow.application_no,
    )
    rows = list(await session.scalars(query.limit(limit).offset(offset)))
    overdue: dict[str, list[tuple[str, str]]] = {}
    if rows:
        late = await session.execute(
            select(StepRow.application_no, StepRow.code, StepRow.name).where(
                StepRow.application_no.in_([r.application_no for r in rows]),
                StepRow.state.in_(OWED_STEPS),
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


@dataclass(frozen=True)
class _Settled:
    """Applications completed and steps decided before a cutoff (`api.services.settled`);
    the materials of applications received, and the ratings given, before it."""

    applications: list[tuple[str, str, str, int, int]]  # state, channel, card, n, on time
    steps: dict[str, tuple[int, int]]  # department: decided, on time
    materials: tuple[int, int]  # materials, of them verified by the centre itself
    ratings: dict[str, int]  # level: ratings


def _on_time_app() -> ColumnElement[bool]:
    return or_(
        ApplicationRow.promised_deadline.is_(None),
        ApplicationRow.completed_at <= ApplicationRow.promised_deadline,
    )


def _on_time_step() -> ColumnElement[bool]:
    return and_(StepRow.deadline.is_not(None), StepRow.decided_at <= StepRow.deadline)


async def _application_counts(
    session: AsyncSession, *where: ColumnElement[bool]
) -> list[tuple[str, str, str, int, int]]:
    """(state, channel, card, count, on time), from ix_applications_figures alone."""
    rows = await session.execute(
        select(
            ApplicationRow.state,
            ApplicationRow.channel,
            ApplicationRow.sla_level,
            func.count(),
            func.count().filter(_on_time_app()),
        )
        .where(*where)
        .group_by(ApplicationRow.state, ApplicationRow.channel, ApplicationRow.sla_level)
    )
    return [(state, channel, level, int(n), int(ok)) for state, channel, level, n, ok in rows]


async def _decided_counts(
    session: AsyncSession, *where: ColumnElement[bool]
) -> dict[str, tuple[int, int]]:
    """department: (steps it decided, on time), from ix_steps_decided alone. Counted in
    Python: grouped in SQL, SQLite walks the inbox's index (by department) instead."""
    rows = await session.execute(
        select(StepRow.department, _on_time_step()).where(StepRow.state.in_(DECIDED), *where)
    )
    out: dict[str, tuple[int, int]] = {}
    for department, on_time in rows:
        n, ok = out.get(department, (0, 0))
        out[department] = (n + 1, ok + bool(on_time))
    return out


async def _material_counts(
    session: AsyncSession, user: StaffUser, cutoff: datetime, *, settled: bool
) -> tuple[int, int]:
    """(materials, of them verified by the centre itself) of the applications received
    before `cutoff` (`settled`) or since.

    Materials are written with an application's first projection, when it is received, and
    never change: those of applications received before the cutoff are settled. Those since
    are of the day's few applications, each looked up in the materials' index: joined
    instead, PostgreSQL read every material there is (40 ms with 400,000)."""
    if settled:
        query = (
            select(func.count(), func.count().filter(MaterialRow.verified.is_(True)))
            .select_from(MaterialRow)
            .join(ApplicationRow, ApplicationRow.application_no == MaterialRow.application_no)
            .where(ApplicationRow.received_at < cutoff, visible(user))
        )
    else:
        of_it = MaterialRow.application_no == ApplicationRow.application_no
        each = select(func.count()).where(of_it).correlate(ApplicationRow).scalar_subquery()
        # A filter, not a condition: as a condition SQLite read ix_materials_verified (every
        # verified material) for each application.
        verified = (
            select(func.count().filter(MaterialRow.verified.is_(True)))
            .where(of_it)
            .correlate(ApplicationRow)
            .scalar_subquery()
        )
        query = select(
            func.coalesce(func.sum(each), 0), func.coalesce(func.sum(verified), 0)
        ).where(ApplicationRow.received_at >= cutoff, visible(user))
    total, verified_n = (await session.execute(query)).one()
    return int(total), int(verified_n)


async def _rating_counts(
    session: AsyncSession, user: StaffUser, cutoff: datetime, *, settled: bool
) -> dict[str, int]:
    """level: ratings given before `cutoff` (`settled`: a level never changes once given) or
    since. Those since are counted in Python: grouped in SQL, SQLite walks the index by level
    (every rating) instead of ix_ratings_rated_at."""
    mine = of_visible(RatingRow.application_no, user)
    if settled:
        return await _counts(session, RatingRow.level, RatingRow.rated_at < cutoff, mine)
    since = select(RatingRow.level).where(RatingRow.rated_at >= cutoff, mine)
    return dict(Counter(await session.scalars(since)))


async def _settled_figures(session: AsyncSession, user: StaffUser, cutoff: datetime) -> _Settled:
    async def count() -> _Settled:
        settled_steps = await session.execute(
            select(StepRow.department, func.count(), func.count().filter(_on_time_step()))
            .where(
                StepRow.state.in_(DECIDED),
                StepRow.decided_at < cutoff,
                of_visible(StepRow.application_no, user),
            )
            .group_by(StepRow.department)
        )
        return _Settled(
            applications=await _application_counts(
                session, ApplicationRow.completed_at < cutoff, visible(user)
            ),
            steps={department: (int(n), int(ok)) for department, n, ok in settled_steps},
            materials=await _material_counts(session, user, cutoff, settled=True),
            ratings=await _rating_counts(session, user, cutoff, settled=True),
        )

    # A grant revoked or terminated since they were counted changes a completed
    # application's state: counted again then (a few rows of ix_applications_open_list).
    undone = await session.scalar(
        select(func.count()).where(ApplicationRow.state.in_(UNDONE), visible(user))
    )
    return await settled.kept("overview", session, user, cutoff, count, version=undone)


async def overview(*, services: Services, session: AsyncSession, user: StaffUser) -> Overview:
    """The figures of what `user` sees: the whole city, or his county's applications.

    Nothing here reads the rows themselves: each count comes from an index, and what was
    settled before the day began (less a margin) is counted once a day
    (`api.services.settled`), so a view costs what is open and what was settled since, not
    the city's whole history."""
    now = await services.clock()
    mine = visible(user)
    cutoff = settled.cutoff(now, services.tz)
    before = await _settled_figures(session, user, cutoff)
    # Open (never completed) and completed since the cutoff: two ranges of the index (as
    # one OR, SQLite would read the table).
    live = await _application_counts(session, ApplicationRow.completed_at.is_(None), mine)
    live += await _application_counts(session, ApplicationRow.completed_at >= cutoff, mine)
    open_by_sla = dict.fromkeys((lv.value for lv in SlaLevel), 0)
    by_state: dict[str, int] = {}
    by_channel: dict[str, int] = {}
    completed = completed_on_time = 0
    for state, channel, level, n, on_time in before.applications + live:
        by_state[state] = by_state.get(state, 0) + n
        if state in OPEN_STATES:
            open_by_sla[level] = open_by_sla.get(level, 0) + n
        if state != ApplicationState.not_accepted.value:
            by_channel[channel] = by_channel.get(channel, 0) + n
        if state in COMPLETED_APPS:
            completed += n
            completed_on_time += on_time
    # Results not yet handed over: few, and they change until handed over (ix_..._awaiting).
    deliveries_pending, deliveries_overdue = (
        await session.execute(
            select(func.count(), func.count().filter(ApplicationRow.delivery_deadline < now)).where(
                ApplicationRow.state == ApplicationState.granted.value,
                ApplicationRow.handed_over_at.is_(None),
                mine,
            )
        )
    ).one()

    # Steps: the open ones by department and card (ix_steps_active), the decided ones.
    steps_mine = of_visible(StepRow.application_no, user)
    found: dict[str, list[int]] = {}
    by_card: dict[str, dict[str, int]] = {}
    for _, department, level, n in await session.execute(_active_steps(user)):
        figures = found.setdefault(department, [0, 0, 0, 0])
        figures[0] += n
        if level in OVERDUE:
            figures[1] += n
        cards = by_card.setdefault(department, {})
        cards[level] = cards.get(level, 0) + n
    decided_live = await _decided_counts(session, StepRow.decided_at >= cutoff, steps_mine)
    for counts in (before.steps, decided_live):
        for department, (n, on_time) in counts.items():
            figures = found.setdefault(department, [0, 0, 0, 0])
            figures[2] += n
            figures[3] += on_time
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
        open_, overdue, decided, decided_on_time = found.get(code, (0, 0, 0, 0))
        departments.append(
            DepartmentFigures(
                department=code,
                department_name=catalogue.department_name(code),
                open=open_,
                open_by_card=by_card.get(code, {}),
                overdue=overdue,
                completed=decided,
                on_time=decided_on_time,
                on_time_rate=round(decided_on_time / decided, 4) if decided else None,
            )
        )

    # Materials and ratings: those settled before the cutoff, and those since (by indexes).
    materials_live = await _material_counts(session, user, cutoff, settled=False)
    materials_total = before.materials[0] + materials_live[0]
    not_asked = before.materials[1] + materials_live[1]
    ratings = dict(before.ratings)
    for level, n in (await _rating_counts(session, user, cutoff, settled=False)).items():
        ratings[level] = ratings.get(level, 0) + n
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


def _active_steps(user: StaffUser) -> Select[str, str, str, int]:
    """Open steps (and verifications owed) counted by state, department and card. Grouped
    in ix_steps_active's order, so that SQLite reads that index and only the open steps'
    part of it."""
    return (
        select(StepRow.state, StepRow.department, StepRow.sla_level, func.count())
        .where(StepRow.state.in_(OWED_STEPS), of_visible(StepRow.application_no, user))
        .group_by(StepRow.state, StepRow.department, StepRow.sla_level)
    )
