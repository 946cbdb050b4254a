"""The comprehensive window (综合窗口): accept or refuse on the applicant's behalf."""

from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from api.deps import IDEMPOTENT, Clerk, ServicesDep, SessionDep, StaffApplication
from api.errors import also_checked
from api.openapi import answers
from api.routers.applications import IdempotencyKey, receipt
from api.schemas import (
    AcceptanceCorrectionIn,
    AcceptanceRefusalIn,
    AcceptIn,
    ApplicationView,
    HandoverIn,
    HandoverItem,
    MissingMaterialsIn,
    PendingApplication,
    Receipt,
    RefusalNotice,
    RerouteIn,
    SupplyIn,
    WindowSubmissionIn,
    WithdrawIn,
)
from api.services import actions, aftercare, intake
from api.services import status as lookup
from api.services.views import local
from domain.application import Tolerance
from domain.matter import Channel, Code

router = APIRouter(prefix="/api/window", tags=["window"])


@router.post(
    "/applications",
    status_code=status.HTTP_201_CREATED,
    response_model=Receipt,
    responses={200: {"model": RefusalNotice, "description": "不予受理: recorded with its reason"}},
)
@also_checked(intake.unchecked_form_problems)
@answers(404, 409, 503)
async def accept_at_window(
    submission: WindowSubmissionIn,
    clerk: Clerk,
    services: ServicesDep,
    session: SessionDep,
    idempotency_key: IdempotencyKey = None,
) -> Receipt | JSONResponse:
    """受理 (201 with the receipt) or 不予受理 (200, with the reason on record)."""
    refusal = submission.reason if submission.decision == "refuse" else None
    number, code, state = await intake.receive(
        services=services,
        session=session,
        submission=submission,
        channel=Channel.window,
        actor=clerk.actor(),
        region=clerk.region,
        idempotency_key=idempotency_key,
        refusal=refusal,
        tolerance=Tolerance(**submission.tolerance.model_dump()) if submission.tolerance else None,
    )
    if refusal is not None:
        notice = RefusalNotice(
            application_no=number,
            query_code=code,
            reason=state.outcome_reason or refusal,
            status_url=f"/status/{number}",
        )
        return JSONResponse(notice.model_dump(mode="json"))
    return receipt(number, code, state, services)


@router.get("/handovers", response_model=list[HandoverItem])
async def awaiting_handover(
    clerk: Clerk, services: ServicesDep, session: SessionDep
) -> list[HandoverItem]:
    """Granted applications whose results have not reached the applicant yet."""
    return await aftercare.awaiting_handover(services, session, clerk)


@router.post("/applications/{application_no}/handover", status_code=204, dependencies=[IDEMPOTENT])
@answers(409, 503)
async def hand_over(
    clerk: Clerk,
    found: StaffApplication,
    body: HandoverIn,
    services: ServicesDep,
    session: SessionDep,
) -> None:
    """综合窗口出件: handed over at the window, or posted (with the tracking number); this
    stops the delivery clock of 行政许可法 Art 44."""
    await actions.hand_over(services=services, session=session, found=found, clerk=clerk, body=body)


@router.get("/pending", response_model=list[PendingApplication])
async def pending(
    clerk: Clerk, services: ServicesDep, session: SessionDep
) -> list[PendingApplication]:
    """Applications submitted online awaiting acceptance, the oldest first (accepted by law
    if not decided by `acceptance_due`)."""
    return [
        PendingApplication(
            application_no=r.application_no,
            matter_code=r.matter_code,
            matter_name=r.matter_name,
            applicant_name=r.applicant_name,
            applicant_phone=r.applicant_phone,
            channel=r.channel,
            received_at=r.received_at.astimezone(services.tz),
            acceptance_due=local(r.acceptance_due, services.tz),
        )
        for r in await intake.pending(session, clerk)
    ]


@router.get("/applications/{application_no}", response_model=ApplicationView)
async def follow(_clerk: Clerk, found: StaffApplication, services: ServicesDep) -> ApplicationView:
    """An application as the window follows it for the applicant: any in the clerk's region;
    for a township's or village's agent (代办员), those he accepted and forwarded."""
    return lookup.view(services, found)


@router.post(
    "/applications/{application_no}/accept",
    response_model=ApplicationView,
    dependencies=[IDEMPOTENT],
)
@answers(409, 503)
async def accept(
    clerk: Clerk,
    found: StaffApplication,
    services: ServicesDep,
    session: SessionDep,
    body: AcceptIn | None = None,
) -> ApplicationView:
    """受理 an application submitted online: its clocks start now. With `tolerance`, 容缺受理:
    the materials named are owed by the deadline the matter allows, on the applicant's signed
    commitment."""
    return await actions.accept(
        services=services, session=session, found=found, clerk=clerk, body=body
    )


@router.post(
    "/applications/{application_no}/missing-materials",
    response_model=ApplicationView,
    dependencies=[IDEMPOTENT],
)
@answers(409, 503)
async def supply_missing_at_window(
    clerk: Clerk,
    found: StaffApplication,
    body: MissingMaterialsIn,
    services: ServicesDep,
    session: SessionDep,
) -> ApplicationView:
    """容缺材料补齐 brought to the window (paper, or files): recorded for the applicant."""
    return await actions.supply_missing(
        services=services, session=session, found=found, actor=clerk.actor(), body=body
    )


@router.post(
    "/applications/{application_no}/correction-notice",
    response_model=ApplicationView,
    dependencies=[IDEMPOTENT],
)
@answers(409, 503)
async def ask_correction(
    clerk: Clerk,
    found: StaffApplication,
    body: AcceptanceCorrectionIn,
    services: ServicesDep,
    session: SessionDep,
) -> ApplicationView:
    """受理前补正告知 on an application submitted online that is incomplete or not in the
    legal form: every item at once (一次性告知, 行政许可法 Art 32). No clock runs; once the
    applicant answers, the window decides within a new period of five working days, and
    the application is accepted by law from the answer if it does not."""
    return await actions.ask_correction_before_acceptance(
        services=services, session=session, found=found, clerk=clerk, body=body
    )


@router.post(
    "/applications/{application_no}/refuse",
    response_model=ApplicationView,
    dependencies=[IDEMPOTENT],
)
@answers(409, 503)
async def refuse(
    clerk: Clerk,
    found: StaffApplication,
    body: AcceptanceRefusalIn,
    services: ServicesDep,
    session: SessionDep,
) -> ApplicationView:
    """不予受理 an application submitted online, with the reason the applicant is told."""
    return await actions.refuse_acceptance(
        services=services, session=session, found=found, clerk=clerk, body=body
    )


@router.post(
    "/applications/{application_no}/supplements",
    response_model=ApplicationView,
    dependencies=[IDEMPOTENT],
)
@answers(409, 503)
async def supply_at_window(
    clerk: Clerk,
    found: StaffApplication,
    body: SupplyIn,
    services: ServicesDep,
    session: SessionDep,
) -> ApplicationView:
    """The applicant brings the corrections to the window; the clerk records them."""
    return await actions.supply(
        services=services, session=session, found=found, actor=clerk.actor(), body=body
    )


@router.post(
    "/applications/{application_no}/withdraw",
    response_model=ApplicationView,
    dependencies=[IDEMPOTENT],
)
@answers(409, 503)
async def withdraw_at_window(
    clerk: Clerk,
    found: StaffApplication,
    body: WithdrawIn,
    services: ServicesDep,
    session: SessionDep,
) -> ApplicationView:
    """The applicant withdraws in person at the window."""
    return await actions.withdraw(
        services=services, session=session, found=found, actor=clerk.actor(), body=body
    )


@router.post(
    "/applications/{application_no}/steps/{step_code}/reroute",
    response_model=ApplicationView,
    dependencies=[IDEMPOTENT],
)
@answers(409, 503)
async def reroute_at_window(
    clerk: Clerk,
    found: StaffApplication,
    step_code: Code,
    body: RerouteIn,
    services: ServicesDep,
    session: SessionDep,
) -> ApplicationView:
    """改派: the window gives a returned (退单) step to another department."""
    return await actions.reroute_at_window(
        services=services, session=session, found=found, step_code=step_code, clerk=clerk,
        body=body,
    )  # fmt: skip
