"""Department staff: the inbox of their department and the actions on its tasks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ServicesDep, SessionDep, Staff
from api.errors import forbidden
from api.schemas import DecisionIn, ExtensionIn, TaskDetail, TaskView
from api.services import tasks
from domain.actions import ClaimInput, ExtensionRequestInput, ReleaseInput
from domain.actors import Role

router = APIRouter(prefix="/api/tasks", tags=["departments"])


def _acting_staff(user: Staff) -> None:
    if user.role is not Role.staff:
        raise forbidden("只有承办部门工作人员可以办理任务")


@router.get("", response_model=list[TaskView])
async def inbox(
    user: Staff,
    services: ServicesDep,
    session: SessionDep,
    state: Annotated[list[str] | None, Query(description="open, claimed, correction, ...")] = None,
    sla_level: Annotated[list[str] | None, Query(description="green, yellow, red, serious")] = None,
    department: Annotated[str | None, Query(description="supervisors only")] = None,
    application_no: Annotated[str | None, Query(description="one application's tasks")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[TaskView]:
    """The department's tasks, soonest deadline first (open ones unless `state` is given)."""
    return await tasks.list_tasks(
        services=services,
        session=session,
        user=user,
        states=state,
        sla_levels=sla_level,
        department=department,
        application_no=application_no,
        limit=limit,
        offset=offset,
    )


@router.get("/{task_id}", response_model=TaskDetail)
async def task(task_id: int, user: Staff, services: ServicesDep, session: SessionDep) -> TaskDetail:
    step, app = await tasks.get_task(session=session, user=user, task_id=task_id)
    return await tasks.task_detail(services=services, session=session, step=step, app=app)


@router.post("/{task_id}/claim", response_model=TaskView)
async def claim(task_id: int, user: Staff, services: ServicesDep, session: SessionDep) -> TaskView:
    _acting_staff(user)
    step, app = await tasks.get_task(session=session, user=user, task_id=task_id)
    action = ClaimInput(step_code=step.code, actor=user.actor())
    return await tasks.act(
        services=services, session=session, step=step, app=app, update="claim", action=action
    )


@router.post("/{task_id}/release", response_model=TaskView)
async def release(
    task_id: int, user: Staff, services: ServicesDep, session: SessionDep
) -> TaskView:
    """Hand a claimed task back to the inbox: its claimer, or a supervisor taking it back
    from someone absent."""
    step, app = await tasks.get_task(session=session, user=user, task_id=task_id)
    action = ReleaseInput(step_code=step.code, actor=user.actor())
    return await tasks.act(
        services=services, session=session, step=step, app=app, update="release", action=action
    )


@router.post("/{task_id}/decision", response_model=TaskView)
async def decide(
    task_id: int, decision: DecisionIn, user: Staff, services: ServicesDep, session: SessionDep
) -> TaskView:
    """approve (with the result fields), reject (with a reason), or request_supplement."""
    _acting_staff(user)
    step, app = await tasks.get_task(session=session, user=user, task_id=task_id)
    update, action = tasks.decision_action(decision, step, app, user, await services.today())
    return await tasks.act(
        services=services, session=session, step=step, app=app, update=update, action=action
    )


@router.post("/{task_id}/extension-request", response_model=TaskView)
async def request_extension(
    task_id: int, body: ExtensionIn, user: Staff, services: ServicesDep, session: SessionDep
) -> TaskView:
    """延期申请: ask a supervisor for more working days, before the deadline, with a reason."""
    _acting_staff(user)
    step, app = await tasks.get_task(session=session, user=user, task_id=task_id)
    action = ExtensionRequestInput(
        step_code=step.code, actor=user.actor(), working_days=body.working_days, reason=body.reason
    )
    return await tasks.act(
        services=services,
        session=session,
        step=step,
        app=app,
        update="request_extension",
        action=action,
    )
