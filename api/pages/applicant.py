"""Applicants' pages (掌上办, mobile first): catalogue, guide, form, receipt, status.

An applicant has no account: a verified (number, query code) pair is kept in the signed page
session, so the status page can be reloaded and its forms posted without the code in URLs.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import segno
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from api.deps import PAGE_IDEMPOTENT, ServicesDep, SessionDep, client_key
from api.errors import ApiError
from api.pages.common import (
    check_csrf,
    flash,
    forget_access,
    form_field_problems,
    form_model,
    form_problems,
    keep_values,
    problem_text,
    redirect,
    remember_access,
    remembered_code,
    render,
    submission_body,
    take_receipt,
)
from api.routers.matters import guide
from api.schemas import (
    MatterPage,
    MissingMaterialsIn,
    OnlineSubmissionIn,
    RatingIn,
    SupplyIn,
    WithdrawIn,
)
from api.services import actions, aftercare, catalogue_entries, intake
from api.services import status as lookup
from api.services.files import save_upload
from api.services.prefill import prefill
from api.services.views import pinned
from api.unified_login import signed_in
from definitions.demo_catalogue import default_base_matters
from domain.actors import Actor, Role
from domain.matter import Channel, MatterDefinition
from domain.regions import RegionLevel
from store.models import ApplicationRow, LicenceRow

router = APIRouter(include_in_schema=False, dependencies=[PAGE_IDEMPOTENT])

CATALOGUE_PAGE_SIZE = 20
REGION_CODE = re.compile(r"\d{6}(\d{3}){0,2}", re.ASCII)


async def _matter(services: ServicesDep, code: str) -> MatterDefinition:
    """The version in force, to read its guide (a suspended one too)."""
    return intake.matter_in_force(services.catalogue, code, await services.clock())


async def _offered(services: ServicesDep, code: str) -> MatterDefinition:
    """The version an application made now would pin (refused while suspended)."""
    return intake.offered_matter(services.catalogue, code, await services.clock())


def _query_int(value: str | None, default: int, *, low: int, high: int) -> int:
    try:
        return min(max(int(value or default), low), high)
    except ValueError:
        return default


def _departments(services: ServicesDep) -> dict[str, str]:
    """Every department the catalogue may list, for the search form."""
    names = {code: d.name for code, d in services.catalogue.departments.items()}
    for dept in default_base_matters().departments:
        names.setdefault(dept.code, dept.name)
    return names


@router.get("/")
async def catalogue(request: Request, services: ServicesDep, session: SessionDep) -> Response:
    """事项目录: search by name, pinyin, initials or keyword, by region, level, department."""
    params = request.query_params
    level = params.get("level", "")
    region = params.get("region", "").strip()
    form = {
        "q": params.get("q", "").strip()[:50],
        "region": region if REGION_CODE.fullmatch(region) else "",
        "level": level if level in RegionLevel.__members__ else "",
        "department": params.get("department", "").strip()[:40],
        "inactive": "1" if params.get("inactive") == "1" else "",
    }
    page = _query_int(params.get("page"), 1, low=1, high=10_000)
    found: MatterPage | None = None
    error: str | None = None
    try:
        found = await catalogue_entries.search(
            services=services,
            session=session,
            q=form["q"],
            region=form["region"] or None,
            level=RegionLevel(form["level"]) if form["level"] else None,
            department=form["department"] or None,
            include_inactive=bool(form["inactive"]),
            page=page,
            page_size=CATALOGUE_PAGE_SIZE,
        )
    except ApiError as exc:
        error = problem_text(exc)
    kept = {k: v for k, v in form.items() if v}
    return render(
        request,
        "catalogue.html",
        found=found,
        form=form,
        error_message=error,
        regions=[(r.code, "　" * r.level.rank + r.name) for r in services.regions.all()],
        levels=[(lv.value, lv.label) for lv in RegionLevel],
        departments=sorted(_departments(services).items()),
        page_link=lambda n: "/?" + urlencode(kept | {"page": n}),
    )


@router.get("/matters/{code}")
async def matter_guide(code: str, request: Request, services: ServicesDep) -> Response:
    matter = await _matter(services, code)
    return render(request, "guide.html", matter=guide(matter, services.catalogue))


def _form_page(
    request: Request,
    services: ServicesDep,
    matter: MatterDefinition,
    *,
    region: str | None = None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    status_code: int = 200,
    held: Mapping[str, LicenceRow] | None = None,
) -> Response:
    return render(
        request,
        "apply.html",
        matter=guide(matter, services.catalogue),
        # 办理地: a county's centre, when the catalogue's entry was the county's.
        region=region,
        region_name=services.regions.full_name(region) if region else None,
        held=held or {},
        values=values or {},
        errors=errors or {},
        error_message=message,
        idempotency_key=(values or {}).get("idempotency_key") or uuid.uuid4().hex,
        status_code=status_code,
    )


async def _offered_at(
    services: ServicesDep, code: str, region_code: str | None
) -> tuple[MatterDefinition, str | None]:
    """The matter as the centre applied to handles it (its departments, its promise), and
    that centre's region (None: the city's)."""
    region = intake.online_region(services, region_code or None)
    matter = await _offered(services, code)
    return intake.routed(services, matter, region or services.settings.region_code), region


@router.get("/apply/{code}")
async def apply_form(
    code: str, request: Request, services: ServicesDep, session: SessionDep
) -> Response:
    matter, region = await _offered_at(services, code, request.query_params.get("region"))
    identity = signed_in(request)
    if identity is None:
        return _form_page(request, services, matter, region=region)
    # 秒填: from the signed-in applicant's identity and licences.
    filled = await prefill(session, matter=matter, identity=identity, today=await services.today())
    return _form_page(
        request, services, matter, region=region, values=filled.values, held=filled.licences
    )


async def _materials(
    form: FormData, matter: MatterDefinition, services: ServicesDep
) -> list[dict[str, str]]:
    """A file, or an electronic licence number where the material allows one."""
    out = []
    for m in matter.materials:
        if m.shared:
            continue  # fetched by data sharing, never asked
        licence = str(form.get(f"licence_{m.code}", "")).strip()
        upload = form.get(f"file_{m.code}")
        if licence and m.licence_type:
            out.append({"code": m.code, "source": "licence", "ref": licence})
        elif isinstance(upload, UploadFile) and upload.filename:
            ref = await save_upload(services.settings.data_dir, f"materials.{m.code}", upload)
            out.append({"code": m.code, "source": "upload", "ref": ref})
    return out


@router.post("/apply/{code}")
async def apply_submit(
    code: str, request: Request, services: ServicesDep, session: SessionDep
) -> Response:
    form = await request.form()
    check_csrf(request, form)
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    matter, region = await _offered_at(services, code, values.get("region"))
    mobile = "Mobile" in request.headers.get("user-agent", "")
    channel = Channel.mobile if mobile and Channel.mobile in matter.channels else Channel.online
    try:
        materials = await _materials(form, matter, services)
        body = submission_body(values, matter, materials) | {
            "channel": channel.value,
            "commitment_signed": bool(values.get("commitment_signed")),
            "region_code": region,
        }
        submission = OnlineSubmissionIn.model_validate(body)
        actor = Actor(id="applicant", name=submission.applicant.name, role=Role.applicant)
        number, query_code, _ = await intake.receive(
            services=services,
            session=session,
            submission=submission,
            channel=channel,
            actor=actor,
            idempotency_key=str(form.get("idempotency_key", "")) or None,
            region=region,
            client=client_key(request),
        )
    except (ValidationError, ApiError) as exc:
        today = await services.today()
        errors, message, status = form_problems(exc, form_field_problems(values, matter, today))
        if status != 503:  # only a retry after 503 may reuse the key: it may have started
            values.pop("idempotency_key", None)
        identity = signed_in(request)
        held = {}
        if identity is not None:
            filled = await prefill(session, matter=matter, identity=identity, today=today)
            held = filled.licences
        return _form_page(
            request,
            services,
            matter,
            region=region,
            values=values,
            errors=errors,
            message=message,
            status_code=status,
            held=held,
        )
    remember_access(request, number, query_code)
    return redirect(f"/receipt/{number}")


async def _pinned(session: SessionDep, number: str) -> MatterDefinition:
    row = await session.get(ApplicationRow, number)
    if row is None:
        raise ApiError(404, "not_found", f"没有办件 {number}")
    return pinned(row)


def qr_svg(data: str) -> str:
    """The QR code as inline SVG, drawn by the app (no outside service)."""
    return str(segno.make(data, error="m").svg_inline(scale=4, dark="#111", border=2))


@router.get("/receipt/{number}")
async def receipt(
    number: str, request: Request, services: ServicesDep, session: SessionDep
) -> Response:
    """受理通知书: printable, with a QR code that opens the status page."""
    handed = take_receipt(request, number)  # a clerk's: printed for the applicant now
    code = handed or remembered_code(request, number)
    if code is None:
        return redirect(f"/status?no={number}")
    found = await lookup.find(
        services=services, session=session, number=number, code=code, client=client_key(request)
    )
    # The code travels in the fragment: browsers never send it, so no server log holds it.
    base = services.settings.public_url or str(request.base_url)
    link = f"{base.rstrip('/')}/status/{number}#code={code}"
    return render(
        request,
        "receipt.html",
        app=lookup.view(services, found),
        query_code=code,
        qr=qr_svg(link),
        link=link,
        for_window=handed is not None,
        # The guide of the version the application pinned, whatever is in force today.
        matter=guide(await _pinned(session, number), services.catalogue),
    )


@router.get("/status")
async def status_lookup(request: Request) -> Response:
    return render(request, "status_lookup.html", number=request.query_params.get("no", ""))


@router.post("/status")
async def status_lookup_submit(
    request: Request, services: ServicesDep, session: SessionDep
) -> Response:
    form = await request.form()
    check_csrf(request, form)
    number = str(form.get("number", "")).strip()
    code = str(form.get("code", "")).strip().upper()
    try:
        await lookup.find(
            services=services, session=session, number=number, code=code, client=client_key(request)
        )
    except ApiError as exc:
        return render(
            request,
            "status_lookup.html",
            number=number,
            error_message=exc.message,
            status_code=exc.status,
        )
    remember_access(request, number, code)
    return redirect(f"/status/{number}")


async def _found(
    request: Request, services: ServicesDep, session: SessionDep, number: str
) -> lookup.Found | None:
    """The application by its query code (in the address or remembered by this browser), or,
    for an applicant signed in by unified identity, as their own.

    A code in the address of a request another site made (an image or a link there) is not
    tried: each wrong one would count against this browser's address, so any page could lock
    out a service centre's shared address. The browser says so (`Sec-Fetch-Site`); the
    lookup form is shown instead, the number filled in."""
    typed = request.query_params.get("code")
    if request.headers.get("sec-fetch-site") == "cross-site":
        typed = None
    code = typed or remembered_code(request, number)
    if not code:
        identity = signed_in(request)
        return await lookup.find_own(session, number, identity.id) if identity else None
    found = await lookup.find(
        services=services,
        session=session,
        number=number,
        code=code.upper(),
        client=client_key(request),
    )
    remember_access(request, number, code.upper())
    return found


@router.get("/status/{number}")
async def status_page(
    number: str, request: Request, services: ServicesDep, session: SessionDep
) -> Response:
    try:
        found = await _found(request, services, session, number)
    except ApiError as exc:
        return render(
            request,
            "status_lookup.html",
            number=number,
            error_message=exc.message,
            status_code=exc.status,
        )
    if found is None:
        return redirect(f"/status?no={number}")
    if "code" in request.query_params:
        return redirect(f"/status/{number}")  # keep the code out of the address bar
    return render(request, "status.html", app=lookup.view(services, found))


async def _action(
    request: Request, services: ServicesDep, session: SessionDep, number: str
) -> tuple[FormData, lookup.Found] | Response:
    form = await request.form()
    check_csrf(request, form)
    found = await _found(request, services, session, number)
    if found is None:
        return redirect(f"/status?no={number}")
    return form, found


@router.post("/status/{number}/supplement")
async def supplement(
    number: str, request: Request, services: ServicesDep, session: SessionDep
) -> Response:
    got = await _action(request, services, session, number)
    if isinstance(got, Response):
        return got
    form, found = got
    notice = found.status.correction
    try:
        if notice is None:
            raise ApiError(409, "conflict", "当前没有需要补正的事项")
        items = []
        for i, item in enumerate(notice.items):
            upload = form.get(f"file_{i}")
            note = str(form.get(f"note_{i}", "")).strip()
            if isinstance(upload, UploadFile) and upload.filename:
                ref = await save_upload(services.settings.data_dir, f"items[{i}]", upload)
                items.append({"item": item, "source": "upload", "ref": ref, "note": note})
            elif note:
                items.append({"item": item, "source": "upload", "note": note})
            else:
                raise ApiError(422, "invalid_input", f"请为“{item}”上传文件或填写说明")
        body = form_model(SupplyIn, {"items": items, "note": form.get("note", "")})
        view = await actions.supply(
            services=services,
            session=session,
            found=found,
            actor=lookup.applicant_actor(found),
            body=body,
        )
        if view.accepted_at is None:
            flash(request, "补正材料已提交，综合窗口将在5个工作日内作出受理决定。")
        else:
            flash(request, "补正材料已提交，办理时限恢复计算。")
    except ApiError as exc:
        flash(request, problem_text(exc), "error")
        keep_values(request, f"/status/{number}", "supplement", form)
    return redirect(f"/status/{number}")


@router.post("/status/{number}/missing-materials")
async def supply_missing(
    number: str, request: Request, services: ServicesDep, session: SessionDep
) -> Response:
    """容缺材料补齐 online: the materials accepted missing, uploaded as corrections are."""
    got = await _action(request, services, session, number)
    if isinstance(got, Response):
        return got
    form, found = got
    owed = found.status.outstanding
    try:
        if owed is None or not owed.open:
            raise ApiError(409, "conflict", "该办件没有待补齐的容缺材料")
        materials = []
        for m in owed.missing:
            upload = form.get(f"owed_{m.code}")
            if isinstance(upload, UploadFile) and upload.filename:
                ref = await save_upload(services.settings.data_dir, f"materials.{m.code}", upload)
                materials.append({"code": m.code, "source": "upload", "ref": ref})
        if not materials:
            raise ApiError(422, "invalid_input", "请上传需要补齐的容缺材料")
        body = form_model(MissingMaterialsIn, {"materials": materials})
        await actions.supply_missing(
            services=services,
            session=session,
            found=found,
            actor=lookup.applicant_actor(found),
            body=body,
        )
        flash(request, "容缺材料已提交。")
    except ApiError as exc:
        flash(request, problem_text(exc), "error")
    return redirect(f"/status/{number}")


@router.post("/status/{number}/withdraw")
async def withdraw(
    number: str, request: Request, services: ServicesDep, session: SessionDep
) -> Response:
    got = await _action(request, services, session, number)
    if isinstance(got, Response):
        return got
    form, found = got
    try:
        body = form_model(WithdrawIn, {"reason": form.get("reason", "")})
        await actions.withdraw(
            services=services,
            session=session,
            found=found,
            actor=lookup.applicant_actor(found),
            body=body,
        )
        flash(request, "申请已撤回。")
    except ApiError as exc:
        flash(request, problem_text(exc), "error")
        keep_values(request, f"/status/{number}", "withdraw", form)
    return redirect(f"/status/{number}")


@router.post("/status/{number}/forget")
async def forget(number: str, request: Request) -> Response:
    """退出查询: this browser forgets the application (a shared or public computer)."""
    form = await request.form()
    check_csrf(request, form)
    forget_access(request, number)
    return redirect("/status")


@router.post("/status/{number}/rating")
async def rate(
    number: str, request: Request, services: ServicesDep, session: SessionDep
) -> Response:
    got = await _action(request, services, session, number)
    if isinstance(got, Response):
        return got
    form, found = got
    try:
        rating = form_model(
            RatingIn, {"level": form.get("level"), "reason": str(form.get("reason", ""))}
        )
        await aftercare.rate(
            services=services,
            session=session,
            found=found,
            rating=rating,
            actor=lookup.applicant_actor(found),
        )
        flash(request, "感谢您的评价！")
    except ApiError as exc:
        flash(request, problem_text(exc), "error")
        keep_values(request, f"/status/{number}", "rating", form)
    return redirect(f"/status/{number}")
