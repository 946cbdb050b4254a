"""The licence library as the API uses it: public verification, staff look-ups (each one on
the audit trail), the applicant's wallet, and revocation.

Personal data is protected information: the public sees a person's name masked, and a
look-up by staff is recorded with who looked, at whose licences, and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.container import Services
from api.errors import ApiError, conflict, forbidden, invalid, not_found
from api.schemas import LicenceDetail, LicenceVerification
from api.services.accounts import StaffUser
from api.services.region_scope import level_of, may_see
from api.services.views import pinned
from domain.actors import Role
from domain.licences import HolderKind, LicenceStatus, mask_name
from domain.matter import FieldType
from domain.regions import RegionLevel
from store import licences as library
from store.audit_trail import record_audit
from store.models import ApplicationRow, LicenceRow, MaterialRow, StepRow


def type_name(services: Services, code: str) -> str:
    spec = services.catalogue.licence_types.get(code)
    return spec.name if spec else code


def verification(services: Services, row: LicenceRow, today: date) -> LicenceVerification:
    """What anyone scanning a licence's QR code may see."""
    return LicenceVerification(
        number=row.number,
        type=row.type,
        type_name=type_name(services, row.type),
        holder_name=mask_name(row.holder_name, HolderKind(row.holder_kind)),
        holder_kind=HolderKind(row.holder_kind),
        issuer=row.issuer,
        issued_on=row.issued_on,
        valid_until=row.valid_until,
        status=library.status(row, today),
    )


def detail(services: Services, row: LicenceRow, today: date) -> LicenceDetail:
    """A licence in full, for its holder and for staff with a reason to see it."""
    spec = services.catalogue.licence_types.get(row.type)
    labels = {f.code: f.label for f in spec.fields} if spec else {}
    return LicenceDetail(
        **dict(verification(services, row, today)),
        holder_name_full=row.holder_name,
        holder_id=row.holder_id,
        fields=dict(row.fields),
        field_labels=labels,
        application_no=row.application_no,
        digest=row.digest,
        revoked_at=row.revoked_at.astimezone(services.tz) if row.revoked_at else None,
        revoke_reason=row.revoke_reason,
    )


async def verify(
    *, services: Services, session: AsyncSession, number: str, type: str | None
) -> LicenceVerification:
    found = await library.find(session, number=number.strip(), type=type)
    if not found:
        raise not_found("没有该电子证照")
    if len(found) > 1:
        raise conflict(
            "多种证照使用了这个编号，请同时指明证照类型（type）",
            details=[{"type": row.type} for row in found],
        )
    return verification(services, found[0], await services.today())


async def _may_look_up(
    session: AsyncSession, user: StaffUser, holder_id: str, application_no: str | None
) -> None:
    """The city's window and supervisors may look up anyone's licences, with a reason (an
    application they see, or words); below the city, only those of the applicant (and the
    people its form names) of an application they see; a department only those of an
    applicant whose application is in its hands."""
    if user.role is not Role.staff:
        city = level_of(user) is RegionLevel.city
        if not application_no:
            if not city:
                raise invalid({"application_no": "区县及以下查询电子证照须说明用于哪个办件"})
            return
        app = await session.get(ApplicationRow, application_no)
        if app is None or not await _sees(session, user, application_no):
            raise invalid({"application_no": f"没有办件 {application_no}"})
        if not city and holder_id not in _holders_of(app):
            raise forbidden("只能查询该办件申请人（及申请表所列人员）的电子证照")
        return
    if not application_no:
        raise invalid({"application_no": "部门查询电子证照须说明用于哪个办件"})
    app = await session.get(ApplicationRow, application_no)
    ours = app is not None and await session.scalar(
        select(StepRow.id)
        .where(StepRow.application_no == application_no, StepRow.department == user.department)
        .limit(1)
    )
    if not ours:
        raise forbidden("该办件不在本部门办理，不能查询其电子证照")
    assert app is not None
    if holder_id not in _holders_of(app):
        raise forbidden("只能查询该办件申请人（及申请表所列人员）的电子证照")


async def _sees(session: AsyncSession, user: StaffUser, application_no: str | None) -> bool:
    """Whether `application_no` is an application `user` sees (None, a licence issued by no
    application here: only the city's staff)."""
    city = level_of(user) is RegionLevel.city
    if application_no is None:
        return city
    app = await session.get(ApplicationRow, application_no)
    return app is not None and (city or may_see(user, app.region_code, app.accepted_by_id))


def _holders_of(app: ApplicationRow) -> set[str]:
    """The applicant and everyone the form names by an ID number or a credit code."""
    identifiers = (FieldType.id_number, FieldType.credit_code)
    named = {
        str(app.form[f.code]).upper()
        for f in pinned(app).form
        if f.type in identifiers and app.form.get(f.code)
    }
    return {app.applicant_id, *named}


async def look_up(
    *,
    services: Services,
    session: AsyncSession,
    user: StaffUser,
    holder_id: str,
    type: str | None,
    application_no: str | None,
    reason: str,
) -> list[LicenceDetail]:
    """Staff look-up of a holder's licences, recorded on the audit trail."""
    holder_id = holder_id.strip().upper()
    await _may_look_up(session, user, holder_id, application_no)
    if not application_no and len(reason.strip()) < 2:
        raise invalid({"reason": "查询电子证照须说明用途：办件编号或查询事由"})
    rows = await library.held_by(session, holder_id=holder_id, type=type)
    await _audit(
        session,
        user,
        action="licence.lookup",
        subject=holder_id,
        application_no=application_no,
        detail={"type": type, "reason": reason.strip(), "found": len(rows)},
        at=await services.clock(),
    )
    await session.commit()
    today = await services.today()
    return [detail(services, row, today) for row in rows]


async def material_licence(
    *,
    services: Services,
    session: AsyncSession,
    user: StaffUser,
    app: ApplicationRow,
    material: str,
) -> LicenceDetail:
    """The licence an application's material was resolved to (pinned by number and digest),
    opened by staff handling the application; recorded on the audit trail."""
    row = await session.scalar(
        select(MaterialRow).where(
            MaterialRow.application_no == app.application_no, MaterialRow.code == material
        )
    )
    spec = next((m for m in pinned(app).materials if m.code == material), None)
    if row is None or spec is None or row.source != "licence" or not spec.licence_type:
        raise not_found("该材料不是电子证照")
    found = await library.find(session, number=row.ref, type=spec.licence_type)
    if not found:
        raise not_found("电子证照库中已没有该证照")
    licence = found[0]
    await _audit(
        session,
        user,
        action="licence.view",
        subject=licence.holder_id,
        application_no=app.application_no,
        detail={"type": licence.type, "number": licence.number, "material": material},
        at=await services.clock(),
    )
    await session.commit()
    out = detail(services, licence, await services.today())
    # What was pinned at submission: a licence changed since shows a different digest.
    out.pinned_digest = row.digest
    return out


async def wallet(
    *, services: Services, session: AsyncSession, holder_id: str
) -> list[LicenceDetail]:
    """我的证照: every licence the signed-in applicant holds."""
    today = await services.today()
    return [detail(services, r, today) for r in await library.held_by(session, holder_id=holder_id)]


async def usable(
    session: AsyncSession,
    *,
    holder_id: str,
    type: str,
    today: date,
    matching: Mapping[str, str] | None = None,
) -> LicenceRow | None:
    """The newest valid licence of `type` held by `holder_id` whose fields hold `matching`'s
    values, if there is one."""
    for row in await library.held_by(session, holder_id=holder_id, type=type):
        if library.status(row, today) is LicenceStatus.valid and not mismatched(row, matching):
            return row
    return None


def mismatched(row: LicenceRow, matching: Mapping[str, str] | None) -> list[str]:
    """The fields of `matching` whose value the licence does not hold (compared as text)."""
    return [
        field
        for field, value in (matching or {}).items()
        if str(row.fields.get(field, "")).strip() != value
    ]


async def revoke(
    *,
    services: Services,
    session: AsyncSession,
    user: StaffUser,
    type: str,
    number: str,
    reason: str,
) -> LicenceDetail:
    now: datetime = await services.clock()
    # A county's supervisor revokes only what his county's applications issued (as if the
    # others did not exist); a licence imported or issued elsewhere is the city's to revoke.
    found = await library.find(session, number=number, type=type)
    if found and not await _sees(session, user, found[0].application_no):
        raise not_found("没有该电子证照")
    try:
        row = await library.revoke(
            session, type=type, number=number, actor_name=user.display_name, reason=reason, at=now
        )
    except LookupError as exc:
        raise not_found("没有该电子证照") from exc
    except library.AlreadyRevoked as exc:
        raise ApiError(409, "conflict", "该电子证照已经注销") from exc
    await _audit(
        session,
        user,
        action="licence.revoke",
        subject=row.holder_id,
        application_no=row.application_no,
        detail={"type": type, "number": number, "reason": reason},
        at=now,
    )
    await session.commit()
    return detail(services, row, await services.today())


async def _audit(session: AsyncSession, user: StaffUser, **entry: Any) -> None:
    """One entry of the audit trail by `user` (who looked at whose licence, and why)."""
    actor = user.actor()
    await record_audit(
        session, actor_id=actor.id, actor_name=actor.name, actor_role=actor.role.value, **entry
    )
