"""Department staff: the inbox of their department and the actions on its tasks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import IDEMPOTENT, ServicesDep, SessionDep, Staff, TaskDep
from api.openapi import answers
from api.schemas import (
    DecisionIn,
    ExtensionIn,
    OrderAnswerIn,
    ReturnIn,
    SpecialEndIn,
    SpecialIn,
    StagePassIn,
    StageSendBackIn,
    TaskDetail,
    TaskView,
    VerificationIn,
)
from api.services import actions, tasks
from domain.matter import Code
from domain.states import SlaLevel, StepState

router = APIRouter(prefix="/api/tasks", tags=["departments"])


@router.get("", response_model=list[TaskView])
async def inbox(
    user: Staff,
    services: ServicesDep,
    session: SessionDep,
    state: Annotated[
        list[StepState] | None, Query(max_length=len(StepState), description="open unless given")
    ] = None,
    sla_level: Annotated[list[SlaLevel] | None, Query(max_length=len(SlaLevel))] = None,
    department: Annotated[Code | None, Query(description="supervisors only")] = None,
    application_no: Annotated[
        str | None, Query(max_length=40, description="one application's tasks")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
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
async def task(task: TaskDep, services: ServicesDep, session: SessionDep) -> TaskDetail:
    return await tasks.task_detail(services=services, session=session, task=task)


@router.post("/{task_id}/claim", response_model=TaskView, dependencies=[IDEMPOTENT])
@answers(409, 503)
async def claim(user: Staff, task: TaskDep, services: ServicesDep, session: SessionDep) -> TaskView:
    return await actions.claim(services=services, session=session, task=task, user=user)


@router.post("/{task_id}/release", response_model=TaskView, dependencies=[IDEMPOTENT])
@answers(409, 503)
async def release(
    user: Staff, task: TaskDep, services: ServicesDep, session: SessionDep
) -> TaskView:
    """Hand a claimed task back to the inbox: its claimer, or a supervisor taking it back
    from someone absent."""
    return await actions.release(services=services, session=session, task=task, user=user)


@router.post("/{task_id}/decision", response_model=TaskView, dependencies=[IDEMPOTENT])
@answers(409, 503)
async def decide(
    user: Staff, task: TaskDep, decision: DecisionIn, services: ServicesDep, session: SessionDep
) -> TaskView:
    """approve (with the result fields), reject (with a reason), or request_supplement."""
    return await actions.decide(
        services=services, session=session, task=task, user=user, body=decision
    )


@router.post("/{task_id}/extension-request", response_model=TaskView, dependencies=[IDEMPOTENT])
@answers(409, 503)
async def request_extension(
    user: Staff, task: TaskDep, body: ExtensionIn, services: ServicesDep, session: SessionDep
) -> TaskView:
    """延期申请: ask a supervisor for more working days, before the deadline, with a reason."""
    return await actions.request_extension(
        services=services, session=session, task=task, user=user, body=body
    )


@router.post("/{task_id}/return", response_model=TaskView, dependencies=[IDEMPOTENT])
@answers(409, 503)
async def return_step(
    user: Staff, task: TaskDep, body: ReturnIn, services: ServicesDep, session: SessionDep
) -> TaskView:
    """退单: not this department's business, with the reason; a supervisor or the window
    re-routes it (改派). The step's clock keeps running."""
    return await actions.return_step(
        services=services, session=session, task=task, user=user, body=body
    )


@router.post(
    "/{task_id}/orders/{order_no}/answer", response_model=TaskView, dependencies=[IDEMPOTENT]
)
@answers(409, 503)
async def answer_order(
    user: Staff,
    task: TaskDep,
    order_no: Annotated[int, Path(ge=1, le=1000)],
    body: OrderAnswerIn,
    services: ServicesDep,
    session: SessionDep,
) -> TaskView:
    """督办答复: the written answer to a supervision order on this task, before its deadline."""
    return await actions.answer_order(
        services=services, session=session, task=task, user=user, order_no=order_no, body=body
    )


@router.post("/{task_id}/special-procedure", response_model=TaskView, dependencies=[IDEMPOTENT])
@answers(409, 503)
async def start_special(
    user: Staff, task: TaskDep, body: SpecialIn, services: ServicesDep, session: SessionDep
) -> TaskView:
    """特别程序 (听证、检验、检测、鉴定、专家评审, Art 45), of a kind the step allows, with the
    working days it needs: the step's and the matter's clocks stop until it ends."""
    return await actions.start_special(
        services=services, session=session, task=task, user=user, body=body
    )


@router.post("/{task_id}/special-procedure/end", response_model=TaskView, dependencies=[IDEMPOTENT])
@answers(409, 503)
async def end_special(
    user: Staff, task: TaskDep, body: SpecialEndIn, services: ServicesDep, session: SessionDep
) -> TaskView:
    """End the special procedure with its outcome; the clocks run again."""
    return await actions.end_special(
        services=services, session=session, task=task, user=user, body=body
    )


@router.post("/{task_id}/verification", response_model=TaskView, dependencies=[IDEMPOTENT])
@answers(409, 503)
async def verify(
    user: Staff, task: TaskDep, body: VerificationIn, services: ServicesDep, session: SessionDep
) -> TaskView:
    """核查结果 (告知承诺制): the commitment the step was decided on, found kept (`passed`) or
    not, with the findings. Not kept, the decision is revoked with its licences."""
    return await actions.verify(services=services, session=session, task=task, user=user, body=body)


@router.post("/{task_id}/stage/pass", response_model=TaskView, dependencies=[IDEMPOTENT])
@answers(409, 503)
async def pass_stage(
    user: Staff, task: TaskDep, body: StagePassIn, services: ServicesDep, session: SessionDep
) -> TaskView:
    """分级签署 (承办 → 审核 → 批准): sign the stage the task waits at with its opinion and pass
    it to the next level. Only a member holding this stage's level, who signed no other
    stage of the step; the last stage approves or rejects through `decision` instead."""
    return await actions.pass_stage(
        services=services, session=session, task=task, user=user, body=body
    )


@router.post("/{task_id}/stage/send-back", response_model=TaskView, dependencies=[IDEMPOTENT])
@answers(409, 503)
async def send_back_stage(
    user: Staff, task: TaskDep, body: StageSendBackIn, services: ServicesDep, session: SessionDep
) -> TaskView:
    """Send the task back one stage, with the reason (any stage after the first, by its
    level). The step's clock keeps running."""
    return await actions.send_back_stage(
        services=services, session=session, task=task, user=user, body=body
    )
