"""Supervisors: every open matter, timelines, figures, extensions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import IDEMPOTENT, ApplicationNo, ServicesDep, SessionDep, Supervisor, TaskDep
from api.openapi import answers
from api.schemas import (
    DeliveryReport,
    ExtensionIn,
    ExtensionRefusalIn,
    FollowUpIn,
    OrderIn,
    Overview,
    RerouteIn,
    ReviewView,
    SupervisedApplication,
    TaskView,
    TimelineEvent,
)
from api.services import actions, aftercare, supervision, tasks
from api.services import status as lookup
from api.services.deliveries import report as delivery_report
from domain.matter import Code
from domain.states import ApplicationState, SlaLevel

router = APIRouter(prefix="/api/supervision", tags=["supervision"])


@router.get("/applications", response_model=list[SupervisedApplication])
async def applications(
    user: Supervisor,
    services: ServicesDep,
    session: SessionDep,
    matter: Annotated[Code | None, Query(description="a matter's code")] = None,
    department: Annotated[Code | None, Query(description="a department's code")] = None,
    sla_level: Annotated[list[SlaLevel] | None, Query(max_length=len(SlaLevel))] = None,
    state: Annotated[
        list[ApplicationState] | None,
        Query(
            max_length=len(ApplicationState),
            description="unless given: the open states, and those still being verified",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[SupervisedApplication]:
    return await supervision.applications(
        services=services,
        session=session,
        user=user,
        matter=matter,
        department=department,
        sla_level=sla_level,
        state=state,
        limit=limit,
        offset=offset,
    )


@router.get("/applications/{application_no}/timeline", response_model=list[TimelineEvent])
@answers(404)
async def timeline(
    user: Supervisor, application_no: ApplicationNo, services: ServicesDep, session: SessionDep
) -> list[TimelineEvent]:
    await lookup.load(session, application_no, user)  # 404 if none, or another region's
    return await supervision.timeline(
        services=services, session=session, application_no=application_no
    )


@router.get("/overview", response_model=Overview)
async def overview(user: Supervisor, services: ServicesDep, session: SessionDep) -> Overview:
    return await supervision.overview(services=services, session=session, user=user)


@router.post("/tasks/{task_id}/extension", response_model=TaskView, dependencies=[IDEMPOTENT])
@answers(409, 503)
async def extend(
    user: Supervisor, task: TaskDep, body: ExtensionIn, services: ServicesDep, session: SessionDep
) -> TaskView:
    """Grant an extension (延期) before the step's deadline, within the matter's cap; this
    approves the department's pending request, if there is one."""
    return await actions.extend(services=services, session=session, task=task, user=user, body=body)


@router.get("/deliveries", response_model=DeliveryReport)
async def deliveries(
    user: Supervisor, services: ServicesDep, session: SessionDep
) -> DeliveryReport:
    """SMS pending, sent and given up; tasks whose push to a department's system keeps
    failing; the event feed's subscribers, how far behind they are and whether failing."""
    return await delivery_report(services=services, session=session, user=user)


@router.get("/reviews", response_model=list[ReviewView])
async def reviews(
    user: Supervisor, services: ServicesDep, session: SessionDep, pending: bool = True
) -> list[ReviewView]:
    """Bad reviews (差评) and their follow-up; every one must be followed up in time."""
    return await aftercare.bad_reviews(
        services=services, session=session, user=user, pending_only=pending
    )


@router.post("/reviews/{application_no}/follow-up", status_code=204)
@answers(404, 409)
async def follow_up(
    user: Supervisor,
    application_no: ApplicationNo,
    body: FollowUpIn,
    services: ServicesDep,
    session: SessionDep,
) -> None:
    await aftercare.follow_up(
        services=services,
        session=session,
        application_no=application_no,
        note=body.note,
        user=user,
    )


@router.get("/extension-requests", response_model=list[TaskView])
async def extension_requests(
    user: Supervisor, services: ServicesDep, session: SessionDep
) -> list[TaskView]:
    """Departments' pending requests for more time, the soonest deadline first."""
    return await tasks.pending_extension_requests(services=services, session=session, user=user)


@router.post(
    "/tasks/{task_id}/extension/refuse", response_model=TaskView, dependencies=[IDEMPOTENT]
)
@answers(409, 503)
async def refuse_extension(
    user: Supervisor,
    task: TaskDep,
    body: ExtensionRefusalIn,
    services: ServicesDep,
    session: SessionDep,
) -> TaskView:
    """不予延期: the request is answered with a reason; the deadline stays."""
    return await actions.refuse_extension(
        services=services, session=session, task=task, user=user, body=body
    )


@router.post("/tasks/{task_id}/reroute", response_model=TaskView, dependencies=[IDEMPOTENT])
@answers(409, 503)
async def reroute(
    user: Supervisor, task: TaskDep, body: RerouteIn, services: ServicesDep, session: SessionDep
) -> TaskView:
    """改派: a returned (退单) task goes to another department; it keeps its deadline."""
    return await actions.reroute_task(
        services=services, session=session, task=task, user=user, body=body
    )


@router.post("/tasks/{task_id}/orders", response_model=TaskView, dependencies=[IDEMPOTENT])
@answers(409, 503)
async def order(
    user: Supervisor, task: TaskDep, body: OrderIn, services: ServicesDep, session: SessionDep
) -> TaskView:
    """督办单 on a late (yellow or red) step: the department answers in writing within the
    given working days; the order's own card rises if it does not."""
    return await actions.order(services=services, session=session, task=task, user=user, body=body)
