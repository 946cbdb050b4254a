"""The comprehensive window (综合窗口): accept or refuse on the applicant's behalf."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, status
from fastapi.responses import JSONResponse

from api.deps import Clerk, ServicesDep, SessionDep
from api.routers.applications import receipt
from api.schemas import Receipt, WindowSubmissionIn
from api.services import intake
from definitions.schema import Channel

router = APIRouter(prefix="/api/window", tags=["window"])


@router.post(
    "/applications",
    status_code=status.HTTP_201_CREATED,
    response_model=Receipt,
    responses={200: {"description": "不予受理: recorded with its reason"}},
)
async def accept_at_window(
    submission: WindowSubmissionIn,
    clerk: Clerk,
    services: ServicesDep,
    session: SessionDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Receipt | JSONResponse:
    """受理 (201 with the receipt) or 不予受理 (200, with the reason on record)."""
    if submission.decision == "refuse":
        number, code = await intake.refuse_at_window(
            services=services,
            session=session,
            submission=submission,
            actor=clerk.actor(),
            reason=submission.reason,
        )
        return JSONResponse(
            {
                "application_no": number,
                "query_code": code,
                "state": "not_accepted",
                "reason": submission.reason.strip(),
                "status_url": f"/status/{number}",
            }
        )
    number, code, state = await intake.receive(
        services=services,
        session=session,
        submission=submission,
        channel=Channel.window,
        actor=clerk.actor(),
        idempotency_key=idempotency_key,
    )
    return receipt(number, code, state, services)
