"""Applicants: submit, poll status with number + query code, answer corrections, withdraw."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response, status

from api.container import Services
from api.deps import (
    IDEMPOTENT,
    Applicants,
    ApplicationNo,
    QueryCode,
    ServicesDep,
    SessionDep,
    client_key,
    services_of,
)
from api.errors import also_checked, invalid
from api.openapi import answers
from api.schemas import (
    ApplicationView,
    MissingMaterialsIn,
    OnlineSubmissionIn,
    RatingIn,
    Receipt,
    SupplyIn,
    WithdrawIn,
)
from api.services import actions, aftercare, intake
from api.services import status as lookup
from api.services.views import local
from domain.actors import Actor, Role
from domain.application import ApplicationStatus
from domain.matter import Channel
from observability.logs import note_application

router = APIRouter(prefix="/api/applications", tags=["applicants"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="a retry with the same key returns the same application",
    ),
]


def receipt(number: str, code: str, status: ApplicationStatus, services: Services) -> Receipt:
    return Receipt(
        application_no=number,
        query_code=code,
        state=status.state,
        matter_code=status.matter_code,
        matter_name=status.matter_name,
        received_at=status.received.astimezone(services.tz),
        accepted_at=local(status.accepted_at, services.tz),
        acceptance_due=local(status.acceptance_due, services.tz),
        promised_deadline=local(status.promised_deadline, services.tz),
        deadline_provisional=status.deadline_provisional,
        status_url=f"/status/{number}",
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Receipt)
@also_checked(intake.unchecked_form_problems)
@answers(404, 409, 429, 503)
async def submit(
    request: Request,
    submission: OnlineSubmissionIn,
    services: ServicesDep,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> Receipt:
    """Apply online or on mobile. Retrying with the same Idempotency-Key returns the same
    application (and query code) instead of a second one."""
    if submission.channel == "window":
        raise invalid({"channel": "窗口申请须由综合窗口受理（/api/window/applications）"})
    actor = Actor(id="applicant", name=submission.applicant.name, role=Role.applicant)
    number, code, state = await intake.receive(
        services=services,
        session=session,
        submission=submission,
        channel=Channel(submission.channel),
        actor=actor,
        idempotency_key=idempotency_key,
        region=intake.online_region(services, submission.region_code),
        client=client_key(request),
    )
    return receipt(number, code, state, services)


@router.get("/{application_no}", response_model=ApplicationView)
@answers(404, 429, 503)
async def get_status(
    request: Request, application_no: ApplicationNo, query_code: QueryCode = None
) -> Response:
    """The status poll. The most frequent request of all, so its parameters are declared
    here, not through the `Applicants` chain (services, session, application) the actions
    use: FastAPI resolving that chain cost a poll a tenth of its time. Same checks, on a
    connection that only reads; the answer made once per row read
    (api/services/status_answers.py)."""
    services = services_of(request)
    note_application(application_no)
    async with services.reads() as connection:
        found = await lookup.find(
            services=services,
            session=connection,
            number=application_no,
            code=query_code,
            client=client_key(request),
        )
    body = services.answers.answer(found.number, found.row, lambda: lookup.view(services, found))
    return Response(body, media_type="application/json")


@router.post(
    "/{application_no}/supplements", response_model=ApplicationView, dependencies=[IDEMPOTENT]
)
@answers(409, 503)
async def supply(
    body: SupplyIn, found: Applicants, services: ServicesDep, session: SessionDep
) -> ApplicationView:
    """Answer the open correction notice (补正), all items at once."""
    return await actions.supply(
        services=services,
        session=session,
        found=found,
        actor=lookup.applicant_actor(found),
        body=body,
    )


@router.post(
    "/{application_no}/missing-materials", response_model=ApplicationView, dependencies=[IDEMPOTENT]
)
@answers(409, 503)
async def supply_missing(
    body: MissingMaterialsIn, found: Applicants, services: ServicesDep, session: SessionDep
) -> ApplicationView:
    """容缺材料补齐: the materials accepted missing, uploaded (`source: upload`, the file's id
    from the upload endpoint as `ref`) before the deadline of the 容缺受理通知书."""
    return await actions.supply_missing(
        services=services,
        session=session,
        found=found,
        actor=lookup.applicant_actor(found),
        body=body,
    )


@router.post(
    "/{application_no}/withdraw", response_model=ApplicationView, dependencies=[IDEMPOTENT]
)
@answers(409, 503)
async def withdraw(
    body: WithdrawIn, found: Applicants, services: ServicesDep, session: SessionDep
) -> ApplicationView:
    return await actions.withdraw(
        services=services,
        session=session,
        found=found,
        actor=lookup.applicant_actor(found),
        body=body,
    )


@router.post("/{application_no}/rating", response_model=ApplicationView)
@answers(409)
async def rate(
    body: RatingIn, found: Applicants, services: ServicesDep, session: SessionDep
) -> ApplicationView:
    """好差评 after completion: five levels; a bad rating must say why (it is followed up)."""
    await aftercare.rate(
        services=services,
        session=session,
        found=found,
        rating=body,
        actor=lookup.applicant_actor(found),
    )
    return lookup.view(services, await lookup.reload(session, found))
