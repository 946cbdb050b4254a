"""Receiving an application: checking it against its matter, numbering it, starting it.

Everything is checked before anything is written; when the engine cannot be reached the
caller gets a 503 and nothing is left behind, so a retry (same Idempotency-Key) is safe.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from fastapi import Request
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.container import Services
from api.errors import ApiError, EngineUnreachable, conflict, invalid, not_found, too_many
from api.schemas import SubmissionIn
from api.security import keyed_query_code, new_query_code, query_code_digest
from api.services.accounts import StaffUser
from api.services.materials import NAME_MISMATCH, receive_materials
from api.services.region_scope import visible
from definitions.catalogue import Catalogue
from domain.actors import Actor
from domain.application import (
    ENGINE,
    Applicant,
    ApplicationInput,
    ApplicationStatus,
    MaterialReceipt,
    MaterialSource,
    Tolerance,
)
from domain.fields import clean_fields, fields_problems
from domain.identifiers import id_number_problem
from domain.matter import Channel, Connector, FieldType, MatterDefinition, MatterStatus
from domain.reason import reason_problem
from domain.regions import RegionLevel
from domain.routing import handling_region, localised
from domain.states import ApplicationState
from store.db import insert_into
from store.models import ApplicationRow, IdempotencyRow, NumberSequenceRow
from workflows.case import commitment as pledged_commitment
from workflows.case import tolerance as pledged_tolerance

IDEMPOTENCY_TTL = timedelta(hours=24)


def matter_in_force(catalogue: Catalogue, code: str, at: datetime) -> MatterDefinition:
    """The version of matter `code` in force at `at`, to show its guide: 404 for a matter
    unknown, not yet in force, or cancelled."""
    matter = catalogue.in_force(code, at)
    if matter is None:
        first = catalogue.versions.get(code)
        if first:
            raise not_found(
                f"该事项（{first[0].name}）自{first[0].effective_from:%Y-%m-%d}起施行，尚不能办理"
            )
        raise not_found(f"没有事项 {code}")
    if matter.status is MatterStatus.cancelled:
        raise not_found(f"该事项（{matter.name}）已取消（自{matter.effective_from:%Y-%m-%d}起）")
    return matter


def offered_matter(catalogue: Catalogue, code: str, at: datetime) -> MatterDefinition:
    """The version an application made at `at` pins: the one in force then. A suspended
    matter takes no new applications (409), a cancelled one is gone (404)."""
    matter = matter_in_force(catalogue, code, at)
    if matter.status is MatterStatus.suspended:
        raise conflict(f"该事项（{matter.name}）已暂停办理（自{matter.effective_from:%Y-%m-%d}起）")
    return matter


def online_region(services: Services, region_code: str | None) -> str | None:
    """The region an online application is made to (None: the centre's own): a county-level
    division's centre; 422 for any other code (`routed` would let an unknown one through)."""
    if region_code is None or region_code == services.settings.region_code:
        return None
    region = services.regions.get(region_code)
    if region is None or region.level is not RegionLevel.county:
        raise invalid({"region_code": "应为本市所辖县（市、区）的行政区划代码"})
    return region_code


def routed(services: Services, matter: MatterDefinition, accepting: str) -> MatterDefinition:
    """The definition to pin: as the level that handles what `accepting` accepts has it (its
    departments, its promise). 409 where the matter is neither handled nor accepted on
    behalf. A centre outside the regions file keeps the matter as it is, as before regions."""
    tree = services.regions
    if accepting not in tree:
        return matter
    region = handling_region(matter, accepting, tree)
    if region is None:
        raise conflict(
            f"该事项（{matter.name}）不在{tree.name(accepting)}受理，请到上级政务服务中心办理"
        )
    return localised(matter, region, services.catalogue.all_departments)


def form_field_problems(
    matter: MatterDefinition, form: Mapping[str, Any], today: date
) -> dict[str, str]:
    """The matter's own form fields, checked on their own (they do not depend on who
    applies): problems by field, as a refused submission names them."""
    problems = fields_problems(matter.form, form, today=today)
    return {f"form.{code}": reason for code, reason in problems.items()}


def not_applicants_own(
    matter: MatterDefinition, form: Mapping[str, Any], applicant: Applicant
) -> dict[str, str]:
    """The fields that name the applicant itself (`applicants_own`) but hold another's
    identifier. A clearance certificate issued at once to the credit code typed in the form
    would otherwise be another company's, and would block that company's own."""
    problems = {}
    for spec in matter.form:
        value = str(form.get(spec.code) or "").strip().upper()
        if not spec.applicants_own or not value:
            continue
        own = applicant.id_number if spec.type is FieldType.id_number else applicant.credit_code
        if value != (own or "").upper():
            which = "身份证号码" if spec.type is FieldType.id_number else "统一社会信用代码"
            problems[f"form.{spec.code}"] = f"须为申请人本人的{which}"
    return problems


async def unchecked_form_problems(request: Request, body: Any) -> dict[str, str]:
    """For a submission its model refused (`api.errors.also_checked`): the problems of its
    matter's form fields, which only `check_submission` would have found. Nothing for a
    body that names no matter in force, carries no form, or is a refusal (不予受理 checks
    nothing)."""
    if not isinstance(body, dict) or body.get("decision") == "refuse":
        return {}
    code, form = body.get("matter_code"), body.get("form")
    if not isinstance(code, str) or not isinstance(form, dict):
        return {}
    services: Services = request.app.state.services
    today = await services.today()
    matter = services.catalogue.in_force(code, today)
    return {} if matter is None else form_field_problems(matter, form, today)


async def check_submission(
    session: AsyncSession,
    services: Services,
    matter: MatterDefinition,
    submission: SubmissionIn,
    *,
    today: datetime,
    channel: Channel,
    tolerance: Tolerance | None = None,
) -> tuple[dict[str, str], list[MaterialReceipt]]:
    """Problems by field (empty when acceptable) and the materials as received (without
    those the window accepts missing: 容缺受理)."""
    problems: dict[str, str] = {}
    missing = pledged_tolerance.problem(matter, tolerance)
    if missing:
        problems[missing[0]] = missing[1]
    refused = pledged_commitment.problem(matter, submission.commitment_signed)
    if refused:
        problems["commitment_signed"] = refused
    if channel not in matter.channels:
        names = {"online": "网上", "mobile": "掌上", "window": "窗口"}
        problems["channel"] = f"本事项不能通过{names[channel.value]}办理"
    applicant = submission.applicant
    if applicant.kind not in matter.applicant_types:
        needed = "企业（统一社会信用代码）" if applicant.kind == "person" else "个人（身份证号码）"
        problems["applicant"] = f"本事项须以{needed}申请"
    if applicant.id_number and id_number_problem(applicant.id_number, today=today.date()):
        problems["applicant.id_number"] = "出生日期不能晚于今天"
    problems |= form_field_problems(matter, submission.form, today.date())
    for key, reason in not_applicants_own(matter, submission.form, applicant).items():
        problems.setdefault(key, reason)  # a check digit's problem says more
    materials, material_problems = await received_materials(
        session, services, matter, submission, today=today.date()
    )
    owed = set(tolerance.missing) if tolerance and not missing else set()
    problems |= {k: v for k, v in material_problems.items() if k.partition(".")[2] not in owed}
    materials = [m for m in materials if m.code not in owed]
    if channel is not Channel.window:
        for i, m in enumerate(submission.materials):
            if m.source is MaterialSource.paper:
                problems[f"materials[{i}].source"] = (
                    "纸质材料只能在窗口提交，网上申请请上传或使用电子证照"
                )
    if submission.delivery == "express" and not submission.delivery_address:
        problems["delivery_address"] = "选择邮寄送达时必须填写收件地址"
    return problems, materials


def connectors_of(services: Services) -> dict[str, Connector]:
    """The departments' connectors, pinned with the application (the workflow pushes their
    tasks to them): every department's, not only those with steps in the matter, since a
    step may be rerouted (改派) to any department."""
    departments = services.catalogue.all_departments.items()
    return {code: d.connector for code, d in departments if d.connector is not None}


async def received_materials(
    session: AsyncSession,
    services: Services,
    matter: MatterDefinition,
    submission: SubmissionIn,
    *,
    today: date,
) -> tuple[list[MaterialReceipt], dict[str, str]]:
    return await receive_materials(
        session,
        matter=matter,
        applicant=submission.applicant,
        form=clean_fields(matter.form, submission.form),
        given=[MaterialReceipt(**m.model_dump()) for m in submission.materials],
        today=today,
        licence_names=services.catalogue.licence_names,
    )


async def allocate_number(session: AsyncSession, *, region: str, now: datetime) -> str:
    """`{region}{yyyymmdd}{nnnnnn}`: digits only, easy to read out and type on a phone."""
    day = now.strftime("%Y%m%d")
    table = NumberSequenceRow.__table__
    stmt = (
        insert_into(session.get_bind().dialect.name, table)
        .values(day=day, last=1)
        .on_conflict_do_update(index_elements=["day"], set_={"last": table.c.last + 1})
        .returning(table.c.last)
    )
    last = (await session.execute(stmt)).scalar_one()
    await session.commit()
    return f"{region}{day}{last:06d}"


def _request_digest(submission: SubmissionIn) -> str:
    return hashlib.sha256(submission.model_dump_json().encode()).hexdigest()


async def _claim_key(
    session: AsyncSession, secret: bytes, prefix: str, key: str, digest: str, now: datetime
) -> tuple[str, str, bool]:
    """(number, query code, whether this call created them) for an Idempotency-Key. The
    code is derived from the key and the request (`keyed_query_code`), not stored: rows
    written before kept theirs, and answer with it until purged."""
    code = keyed_query_code(secret, key, digest)
    for _ in range(2):
        row = await session.get(IdempotencyRow, key)
        if row is not None:
            if row.request_digest != digest:
                raise invalid({"Idempotency-Key": "该幂等键已用于另一份不同的申请"})
            return row.application_no, row.query_code or code, False
        number = await allocate_number(session, region=prefix, now=now)
        try:
            await session.execute(
                delete(IdempotencyRow).where(IdempotencyRow.created_at < now - IDEMPOTENCY_TTL)
            )
            await session.execute(
                insert(IdempotencyRow).values(
                    key=key,
                    request_digest=digest,
                    application_no=number,
                    query_code="",  # derived again on a retry: no code in the database
                    created_at=now,
                )
            )
            await session.commit()
            return number, code, True
        except IntegrityError:
            await session.rollback()  # the same key arrived twice at once: use the first
    raise ApiError(409, "conflict", "该幂等键的申请正在处理，请稍后重试")


async def _claim(
    secret: bytes,
    prefix: str,
    session: AsyncSession,
    submission: SubmissionIn,
    idempotency_key: str | None,
    now: datetime,
) -> tuple[str, str, bool]:
    """(number, query code, whether new) for a submission, reusing those of a retried key;
    numbers begin with `prefix`, the accepting region's six digits."""
    if idempotency_key:
        if len(idempotency_key) > 200:
            raise invalid({"Idempotency-Key": "幂等键不能超过200个字符"})
        digest = _request_digest(submission)
        return await _claim_key(session, secret, prefix, idempotency_key, digest, now)
    number = await allocate_number(session, region=prefix, now=now)
    return number, new_query_code(), True


def _told_of_licences(matter: MatterDefinition, problems: Mapping[str, str]) -> bool:
    """Whether a refusal says anything of the licence library: a name not the licence's, a
    licence held or not, by whom. Told an anonymous caller, each is a guess answered (whose
    is this certificate? does this ID number own property?), so each counts as a failure."""
    from_library = {f"materials.{m.code}" for m in matter.materials if m.licence_type}
    return NAME_MISMATCH in problems or not from_library.isdisjoint(problems)


async def receive(
    *,
    services: Services,
    session: AsyncSession,
    submission: SubmissionIn,
    channel: Channel,
    actor: Actor,
    idempotency_key: str | None,
    refusal: str | None = None,
    region: str | None = None,
    tolerance: Tolerance | None = None,
    client: str | None = None,
) -> tuple[str, str, ApplicationStatus]:
    """Check, number and start an application. Returns (number, query code, status).

    `client`: an anonymous applicant's address. A licence found for the identifier typed
    must be in the name typed (api.services.materials), which would let anyone check which
    name goes with an ID number; a refusal about a licence held or not tells whose a
    certificate is. Those refusals are throttled per identifier and client, as wrong query
    codes are (429).

    With a `refusal` the window refuses it on the spot (不予受理): it is numbered and started
    all the same, so that the refusal is recorded, notified and looked up like any other
    decision, by the one transition that makes it; no clock ever starts.

    `region` is where it is accepted (the clerk's or agent's; the centre's own when None):
    its six digits begin the number, and the matter's implementation says which level's
    departments handle it (api.services.intake.routed).
    """
    applicant = submission.applicant
    who = f"applicant:{applicant.id_number or applicant.credit_code}"
    attempt = None
    if client is not None:
        attempt = services.submissions.attempt(who, client, services.session_clock())
        wait = await services.submissions.retry_after(session, attempt)
        if wait is not None:
            raise too_many("提交失败次数过多，请稍后再试", wait)
    now = await services.clock()
    accepting = region or services.settings.region_code
    matter = routed(
        services, offered_matter(services.catalogue, submission.matter_code, now), accepting
    )
    local_now = now.astimezone(services.tz)
    if refusal is None:
        problems, materials = await check_submission(
            session, services, matter, submission, today=local_now, channel=channel,
            tolerance=tolerance,
        )  # fmt: skip
        if problems:
            if attempt is not None and _told_of_licences(matter, problems):
                # Nothing else is written yet: only the failure is committed.
                await services.submissions.fail(session, attempt)
                await session.commit()
            raise invalid(problems)
    else:
        # Incomplete or unfit materials are often why it is refused: keep what was given.
        problem = reason_problem(refusal, "不予受理必须说明理由")
        if problem:
            raise invalid({"reason": problem})
        materials, _ = await received_materials(
            session, services, matter, submission, today=local_now.date()
        )
    prefix = accepting[:6]
    number, code, created = await _claim(
        services.secret, prefix, session, submission, idempotency_key, local_now
    )
    app = ApplicationInput(
        engine=ENGINE,
        application_no=number,
        matter=matter,
        calendar=services.calendars.snapshot_around(services.settings.centre, local_now),
        applicant=submission.applicant,
        form=clean_fields(matter.form, submission.form),
        materials=materials,
        channel=channel,
        delivery=submission.delivery,
        delivery_address=submission.delivery_address,
        accepted_by=actor,
        # Online, the window still decides on acceptance; at the window it is decided now.
        needs_acceptance=channel is not Channel.window and refusal is None,
        refusal=refusal.strip() if refusal is not None else None,
        tolerance=tolerance if refusal is None and tolerance and tolerance.missing else None,
        commitment_signed=submission.commitment_signed and refusal is None,
        connectors=connectors_of(services),
        query_code_digest=query_code_digest(services.secret, code),
        # A township's or village's code is longer than the six digits of its county.
        local_region=accepting if len(accepting) > len(prefix) else None,
    )
    try:
        status = await services.engine.submit(app)
    except EngineUnreachable:
        # Nothing reached the engine, so nothing started: free the key.
        if idempotency_key and created:
            await session.execute(
                delete(IdempotencyRow).where(IdempotencyRow.key == idempotency_key)
            )
            await session.commit()
        raise
    except ApiError as exc:
        # After a timeout the workflow may exist: the caller is given its number and code,
        # and a retry with the same key finds it by that number.
        if exc.status == 503:
            exc.details = {"application_no": number, "query_code": code}
        raise
    return number, code, status


async def pending(session: AsyncSession, user: StaffUser) -> list[ApplicationRow]:
    """Applications submitted online awaiting the window's decision, the oldest first (those
    the clerk's region sees)."""
    return list(
        await session.scalars(
            select(ApplicationRow)
            .where(ApplicationRow.state == ApplicationState.received.value, visible(user))
            .order_by(ApplicationRow.received_at)
            .limit(500)
        )
    )
