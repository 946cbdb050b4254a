"""Department inboxes: listing tasks and acting on them. Staff see only their department."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.container import Services
from api.errors import forbidden, invalid, not_found
from api.schemas import DecisionIn, TaskDetail, TaskView
from api.services.accounts import StaffUser
from api.services.status import still_open
from api.services.views import correction_view, pinned, task_view
from domain.actions import ApproveInput, RejectInput, SupplementRequestInput
from domain.actors import Role
from domain.application import ApplicationStatus
from domain.fields import clean_fields, fields_problems
from domain.states import StepState
from store.models import ApplicationRow, MaterialRow, StepRow

ACTIVE = [StepState.open.value, StepState.claimed.value, StepState.correction.value]


async def list_tasks(
    *,
    services: Services,
    session: AsyncSession,
    user: StaffUser,
    states: list[str] | None,
    sla_levels: list[str] | None,
    department: str | None,
    application_no: str | None = None,
    limit: int,
    offset: int,
) -> list[TaskView]:
    query = select(StepRow, ApplicationRow).join(
        ApplicationRow, ApplicationRow.application_no == StepRow.application_no
    )
    if user.role is Role.staff:
        query = query.where(StepRow.department == user.department)
    elif department:
        query = query.where(StepRow.department == department)
    if application_no:
        query = query.where(StepRow.application_no == application_no)
    query = query.where(StepRow.state.in_(states or ACTIVE))
    if sla_levels:
        query = query.where(StepRow.sla_level.in_(sla_levels))
    # Soonest deadline first; steps without one (waiting, closed) last.
    query = query.order_by(
        case((StepRow.deadline.is_(None), 1), else_=0), StepRow.deadline, StepRow.id
    )
    rows = (await session.execute(query.limit(limit).offset(offset))).all()
    now = await services.clock()
    return [task_view(step, app, services.tz, now) for step, app in rows]


async def pending_extension_requests(
    *, services: Services, session: AsyncSession
) -> list[TaskView]:
    rows = (
        await session.execute(
            select(StepRow, ApplicationRow)
            .join(ApplicationRow, ApplicationRow.application_no == StepRow.application_no)
            .where(StepRow.extension_request.is_not(None), StepRow.state.in_(ACTIVE))
            .order_by(StepRow.deadline)
        )
    ).all()
    now = await services.clock()
    return [task_view(step, app, services.tz, now) for step, app in rows]


async def get_task(
    *, session: AsyncSession, user: StaffUser, task_id: int
) -> tuple[StepRow, ApplicationRow]:
    step = await session.get(StepRow, task_id)
    if step is None:
        raise not_found("没有该任务")
    if user.role is Role.staff and step.department != user.department:
        raise forbidden("该任务属于其他部门，您无权查看或办理")
    app = await session.get(ApplicationRow, step.application_no)
    assert app is not None  # steps belong to applications (foreign key)
    return step, app


async def task_detail(
    *, services: Services, session: AsyncSession, step: StepRow, app: ApplicationRow
) -> TaskDetail:
    no = app.application_no
    materials = await session.scalars(select(MaterialRow).where(MaterialRow.application_no == no))
    corrections = ApplicationStatus.model_validate(app.status).corrections
    base = task_view(step, app, services.tz, await services.clock())
    return TaskDetail(
        **base.model_dump(),
        applicant={
            "name": app.applicant_name,
            "kind": app.applicant_kind,
            "id": app.applicant_id,
            "phone": app.applicant_phone,
        },
        form=app.form,
        form_labels={f.code: f.label for f in pinned(app).form},
        materials=[
            {
                "code": m.code,
                "name": m.name,
                "required": m.required,
                "source": m.source,
                "ref": m.ref,
            }
            for m in materials
        ],
        corrections=[correction_view(c, services.tz) for c in corrections],
        result=step.result,
        reason=step.reason,
        extension_days=step.extension_days,
    )


def decision_action(
    decision: DecisionIn, step: StepRow, app: ApplicationRow, user: StaffUser, today: date
) -> tuple[str, Any]:
    """The workflow update for a decision, after the checks a form can show field by field."""
    actor = user.actor()
    if decision.decision == "approve":
        spec = pinned(app).step(step.code)
        problems = fields_problems(spec.result_fields, decision.result, today=today)
        if problems:
            raise invalid({f"result.{code}": reason for code, reason in problems.items()})
        result = clean_fields(spec.result_fields, decision.result)
        return "approve", ApproveInput(
            step_code=step.code, actor=actor, result=result, comment=decision.comment
        )
    if decision.decision == "reject":
        if len(decision.reason) < 2:
            raise invalid({"reason": "不予通过必须说明理由"})
        return "reject", RejectInput(step_code=step.code, actor=actor, reason=decision.reason)
    items = [i.strip() for i in decision.items if i.strip()]
    problems = {}
    if not items:
        problems["items"] = "请列明需要补正的材料或内容"
    if len(decision.reason) < 2:
        problems["reason"] = "补正告知必须说明理由"
    if problems:
        raise invalid(problems)
    return "request_supplement", SupplementRequestInput(
        step_code=step.code, actor=actor, items=items, reason=decision.reason
    )


async def act(
    *,
    services: Services,
    session: AsyncSession,
    step: StepRow,
    app: ApplicationRow,
    update: str,
    action: Any,
) -> TaskView:
    """Send one action to the workflow; answer with the task as the read model now shows it."""
    still_open(ApplicationStatus.model_validate(app.status))
    step_id, no = step.id, app.application_no
    await services.engine.update(no, update, action)
    fresh_step = await session.get(StepRow, step_id, populate_existing=True)
    fresh_app = await session.get(ApplicationRow, no, populate_existing=True)
    assert fresh_step is not None and fresh_app is not None
    return task_view(fresh_step, fresh_app, services.tz, await services.clock())
