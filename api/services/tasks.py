"""Department inboxes: listing and loading tasks. Staff see only their department."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.container import Services
from api.errors import forbidden, not_found
from api.schemas import (
    DB_INT_MAX,
    ApplicantView,
    AutoVerdictView,
    MaterialView,
    SignoffView,
    SpecialKindView,
    TaskDetail,
    TaskView,
)
from api.services.accounts import StaffUser
from api.services.region_scope import level_of, may_see, visible
from api.services.views import correction_view, pinned, step_procedures, task_view
from domain.actors import Role
from domain.application import ApplicationStatus
from domain.regions import RegionLevel
from domain.states import StepState
from store.models import ApplicationRow, MaterialRow, StepRow

# A query of steps (their rows, or a count), filtered as the inbox filters them.
Q = TypeVar("Q", bound=Select[*tuple[Any, ...]])

ACTIVE = [
    StepState.open.value,
    StepState.claimed.value,
    StepState.correction.value,
    StepState.special.value,  # the department ends it from its inbox
    StepState.verifying.value,  # 告知承诺: the department owes its verification (核查)
]


def _inbox_filter(
    query: Q,
    *,
    user: StaffUser,
    states: Sequence[str] | None,
    sla_levels: Sequence[str] | None,
    department: str | None,
    application_no: str | None,
) -> Q:
    query = query.where(visible(user))
    if user.role is Role.staff:
        query = query.where(StepRow.department == user.department)
        if user.signoff_role is not None:
            # 分级签署: a member with a level sees the staged tasks waiting at that level
            # (and every task without stages).
            query = query.where(
                or_(StepRow.stage_role.is_(None), StepRow.stage_role == user.signoff_role.value)
            )
    elif department:
        query = query.where(StepRow.department == department)
    if application_no:
        query = query.where(StepRow.application_no == application_no)
    query = query.where(StepRow.state.in_(states or ACTIVE))
    if sla_levels:
        query = query.where(StepRow.sla_level.in_(sla_levels))
    return query


def _joined(query: Q, user: StaffUser) -> Q:
    """Applications are joined only when the caller's region limits what he sees (and for
    the rows themselves): the city's inbox is counted from the steps' index alone."""
    if level_of(user) is RegionLevel.city:
        return query
    return query.join(ApplicationRow, ApplicationRow.application_no == StepRow.application_no)


async def list_tasks(
    *,
    services: Services,
    session: AsyncSession,
    user: StaffUser,
    states: Sequence[str] | None,
    sla_levels: Sequence[str] | None,
    department: str | None,
    application_no: str | None = None,
    limit: int,
    offset: int,
) -> list[TaskView]:
    query = select(StepRow, ApplicationRow).join(
        ApplicationRow, ApplicationRow.application_no == StepRow.application_no
    )
    query = _inbox_filter(
        query,
        user=user,
        states=states,
        sla_levels=sla_levels,
        department=department,
        application_no=application_no,
    )
    # Soonest deadline first; steps without one (waiting, closed) last; the id breaks ties,
    # so that pages follow one another with no task repeated or skipped.
    query = query.order_by(
        case((StepRow.deadline.is_(None), 1), else_=0), StepRow.deadline, StepRow.id
    )
    rows = (await session.execute(query.limit(limit).offset(offset))).all()
    now = await services.clock()
    return [task_view(step, app, services.tz, now, services.catalogue) for step, app in rows]


async def count_tasks(
    *,
    session: AsyncSession,
    user: StaffUser,
    states: Sequence[str] | None,
    sla_levels: Sequence[str] | None,
    department: str | None,
    application_no: str | None = None,
) -> int:
    """How many tasks `list_tasks` pages through with the same filters."""
    query = _joined(select(func.count()).select_from(StepRow), user)
    query = _inbox_filter(
        query,
        user=user,
        states=states,
        sla_levels=sla_levels,
        department=department,
        application_no=application_no,
    )
    return int(await session.scalar(query) or 0)


async def pending_extension_requests(
    *, services: Services, session: AsyncSession, user: StaffUser
) -> list[TaskView]:
    # The pending requests are a handful (a step's is cleared when it is decided), read from
    # their partial index; the steps' state is checked here. Asked in SQL as well, SQLite
    # (without statistics) read every active step instead: 16 ms with 10,000 applications
    # open, against 1 ms.
    rows = (
        await session.execute(
            select(StepRow, ApplicationRow)
            .join(ApplicationRow, ApplicationRow.application_no == StepRow.application_no)
            .where(StepRow.extension_request.is_not(None), visible(user))
            .order_by(StepRow.deadline)
        )
    ).all()
    now = await services.clock()
    return [
        task_view(step, app, services.tz, now, services.catalogue)
        for step, app in rows
        if step.state in ACTIVE
    ]


@dataclass(frozen=True)
class Task:
    """A step of an application as its department's inbox shows it, loaded for one caller."""

    step: StepRow
    app: ApplicationRow

    @property
    def id(self) -> int:
        return self.step.id


async def load_task(*, session: AsyncSession, user: StaffUser, task_id: int) -> Task:
    """The task, if `user` may see it: its department's staff, supervisors and admins."""
    if not 1 <= task_id <= DB_INT_MAX:  # a page's address, unchecked: no such row can exist
        raise not_found("没有该任务")
    step = await session.get(StepRow, task_id)
    if step is None:
        raise not_found("没有该任务")
    if user.role is Role.staff and step.department != user.department:
        raise forbidden("该任务属于其他部门，您无权查看或办理")
    app = await session.get(ApplicationRow, step.application_no)
    assert app is not None  # steps belong to applications (foreign key)
    if not may_see(user, app.region_code, app.accepted_by_id):
        raise not_found("没有该任务")  # another region's: as if there were none
    return Task(step, app)


async def reload_task(session: AsyncSession, task: Task) -> Task:
    """The task as the read model shows it now (after an action)."""
    step = await session.get(StepRow, task.step.id, populate_existing=True)
    app = await session.get(ApplicationRow, task.app.application_no, populate_existing=True)
    assert step is not None and app is not None
    return Task(step, app)


async def task_detail(*, services: Services, session: AsyncSession, task: Task) -> TaskDetail:
    step, app = task.step, task.app
    no = app.application_no
    materials = await session.scalars(select(MaterialRow).where(MaterialRow.application_no == no))
    status = ApplicationStatus.model_validate(app.status)
    corrections = status.corrections
    own = status.step(step.code)
    base = task_view(step, app, services.tz, await services.clock(), services.catalogue)
    specials, orders = step_procedures(status, step.code, services.tz)
    allowed = pinned(app).step(step.code).special_procedures
    return TaskDetail(
        **dict(base),
        applicant=ApplicantView(
            name=app.applicant_name,
            kind=app.applicant_kind,
            id=app.applicant_id,
            phone=app.applicant_phone,
        ),
        form=app.form,
        form_labels={f.code: f.label for f in pinned(app).form},
        materials=[
            MaterialView(code=m.code, name=m.name, required=m.required, source=m.source, ref=m.ref)
            for m in materials
        ],
        corrections=[correction_view(c, services.tz) for c in corrections],
        result=step.result,
        reason=step.reason,
        extension_days=step.extension_days,
        signoffs=[
            SignoffView(
                stage=x.stage,
                stage_name=x.stage_name,
                by=x.actor.name,
                at=x.at.astimezone(services.tz),
                opinion=x.opinion,
                sent_back=x.sent_back,
            )
            for x in own.signoffs
        ],
        auto=AutoVerdictView(**own.auto.model_dump()) if own.auto else None,
        special_kinds=[SpecialKindView(kind=k, label=k.label) for k in allowed],
        special_procedures=specials,
        orders=orders,
    )
