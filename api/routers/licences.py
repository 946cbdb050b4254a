"""电子证照: verification by anyone (what a licence's QR code opens), look-ups by staff with a
reason (each on the audit trail), revocation by supervisors."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from api.deps import ServicesDep, SessionDep, Supervisor, require
from api.openapi import answers
from api.schemas import LicenceDetail, LicenceVerification, RevocationIn
from api.services import licences
from api.services.accounts import StaffUser
from domain.actors import Role
from domain.matter import Code

router = APIRouter(prefix="/api/licences", tags=["licences"])

LicenceNumber = Annotated[str, Path(min_length=1, max_length=64, description="证照编号")]
LicenceTypeCode = Annotated[Code, Path(description="证照类型")]
LicenceTypeFilter = Annotated[Code | None, Query(description="证照类型")]
LookingUp = Annotated[
    StaffUser, Depends(require(Role.clerk, Role.staff, Role.supervisor, Role.admin))
]


@router.get("/{number}/verify", response_model=LicenceVerification)
@answers(404, 409)
async def verify(
    number: LicenceNumber,
    services: ServicesDep,
    session: SessionDep,
    type: Annotated[Code | None, Query(description="only when two types share a number")] = None,
) -> LicenceVerification:
    """Public: is this licence genuine, whose, and is it still valid (验证真伪)."""
    return await licences.verify(services=services, session=session, number=number, type=type)


@router.get("", response_model=list[LicenceDetail])
async def look_up(
    user: LookingUp,
    services: ServicesDep,
    session: SessionDep,
    holder_id: Annotated[str, Query(min_length=1, max_length=18, description="ID or credit code")],
    type: LicenceTypeFilter = None,
    application_no: Annotated[
        str | None, Query(max_length=40, description="why: the application it is for")
    ] = None,
    reason: Annotated[str, Query(max_length=200, description="why, without an application")] = "",
) -> list[LicenceDetail]:
    """A holder's licences, for the window, the departments handling the holder's application
    and supervisors. Every look-up is written to the audit trail with its reason."""
    return await licences.look_up(
        services=services,
        session=session,
        user=user,
        holder_id=holder_id,
        type=type,
        application_no=application_no,
        reason=reason,
    )


@router.post("/{type}/{number}/revoke", response_model=LicenceDetail)
@answers(404, 409)
async def revoke(
    user: Supervisor,
    type: LicenceTypeCode,
    number: LicenceNumber,
    body: RevocationIn,
    services: ServicesDep,
    session: SessionDep,
) -> LicenceDetail:
    """注销: the licence then verifies as revoked and no longer replaces a material."""
    return await licences.revoke(
        services=services, session=session, user=user, type=type, number=number, reason=body.reason
    )
