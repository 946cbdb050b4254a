"""The comprehensive window (一窗受理 / 综合窗口出件) for clerks."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select

from api.deps import PAGE_IDEMPOTENT, ServicesDep, SessionDep
from api.errors import ApiError
from api.pages.common import (
    REROUTE_LABELS,
    ClerkPage,
    check_csrf,
    flash,
    form_field_problems,
    form_model,
    form_problems,
    hand_receipt,
    keep_values,
    problem_text,
    redirect,
    render,
    routable_departments,
    submission_body,
    when,
)
from api.routers.matters import guide
from api.schemas import (
    AcceptanceCorrectionIn,
    AcceptanceRefusalIn,
    AcceptIn,
    HandoverIn,
    MissingMaterialsIn,
    RerouteIn,
    SupplyIn,
    WindowSubmissionIn,
    WithdrawIn,
)
from api.services import actions, aftercare, intake
from api.services import status as lookup
from api.services.accounts import StaffUser
from api.services.views import correction_view, pinned
from domain.application import Tolerance
from domain.matter import Channel, MatterDefinition
from domain.states import StepState
from store.models import ApplicationRow, MaterialRow

router = APIRouter(include_in_schema=False, dependencies=[PAGE_IDEMPOTENT])


@router.get("/window")
async def desk(
    request: Request, clerk: ClerkPage, services: ServicesDep, session: SessionDep
) -> Response:
    q = request.query_params.get("q", "").strip()
    offered = services.catalogue.in_force_all(await services.clock()).values()
    found = [
        m
        for m in offered
        if m.status.offered and Channel.window in m.channels and (q in m.name or q in m.code)
    ]
    return render(
        request,
        "window.html",
        user=clerk,
        q=q,
        matters=[guide(m, services.catalogue) for m in found],
        pending=await intake.pending(session, clerk),
        handovers=await aftercare.awaiting_handover(services, session, clerk),
    )


@router.get("/window/review/{number}")
async def review(
    number: str, request: Request, clerk: ClerkPage, services: ServicesDep, session: SessionDep
) -> Response:
    """预审: an application submitted online, its form and materials, to accept or refuse."""
    found = await lookup.load(session, number, clerk)  # 404 outside the clerk's region
    app = await session.get(ApplicationRow, number)
    if app is None:
        raise ApiError(404, "not_found", f"没有办件 {number}")
    materials = await session.scalars(
        select(MaterialRow).where(MaterialRow.application_no == number)
    )
    definition = pinned(app)
    return render(
        request,
        "window_review.html",
        user=clerk,
        app=app,
        matter=guide(definition, services.catalogue),
        labels={f.code: f.label for f in definition.form},
        materials=list(materials),
        view=lookup.view(services, found),
        corrections=[correction_view(n, services.tz) for n in found.status.corrections],
        # 退单待改派: the steps a department returned, for the window to re-route (改派).
        returned_steps=[s for s in found.status.steps if s.state is StepState.returned],
        departments=routable_departments(services, found.status),
    )


@router.get("/window/find")
async def find(request: Request, _clerk: ClerkPage) -> Response:
    """办件查询 at the window: straight to the application by its number."""
    number = request.query_params.get("no", "").strip()
    if not number:
        return redirect("/window")
    return redirect(f"/window/review/{quote(number)}")


@router.post("/window/review/{number}")
async def decide(
    number: str, request: Request, clerk: ClerkPage, services: ServicesDep, session: SessionDep
) -> Response:
    form = await request.form()
    check_csrf(request, form)
    found = await lookup.load(session, number, clerk)
    try:
        if form.get("decision") == "refuse":
            body = form_model(AcceptanceRefusalIn, {"reason": form.get("reason", "")})
            await actions.refuse_acceptance(
                services=services, session=session, found=found, clerk=clerk, body=body
            )
            flash(request, f"{number} 不予受理，已告知申请人。")
        elif form.get("decision") == "correct":
            asked = {
                "items": str(form.get("items", "")).splitlines(),
                "reason": form.get("correction_reason", ""),
            }
            notice = form_model(AcceptanceCorrectionIn, asked)
            await actions.ask_correction_before_acceptance(
                services=services, session=session, found=found, clerk=clerk, body=notice
            )
            flash(request, f"{number} 已一次性告知申请人补正，补正齐全后重新计算受理期限。")
        else:
            app = await session.get(ApplicationRow, number)
            values = {k: v for k, v in form.items() if isinstance(v, str)}
            tolerance = _tolerance(values, pinned(app)) if app is not None else None
            acceptance = form_model(AcceptIn, {"tolerance": tolerance})
            await actions.accept(
                services=services, session=session, found=found, clerk=clerk, body=acceptance
            )
            owed = "（容缺受理，已告知申请人补齐期限）" if tolerance else ""
            flash(request, f"{number} 已受理{owed}，各部门开始并联办理。")
    except ApiError as exc:
        flash(request, problem_text(exc), "error")
        keep_values(request, f"/window/review/{number}", "decide", form)
        return redirect(f"/window/review/{number}")
    return redirect("/window")


@router.post("/window/review/{number}/supplement")
async def supply(
    number: str, request: Request, clerk: ClerkPage, services: ServicesDep, session: SessionDep
) -> Response:
    """The applicant brings the corrections to the window: the clerk ticks each item received
    (on paper, or with a note) and records them, as the API's window route does."""
    form = await request.form()
    check_csrf(request, form)
    found = await lookup.load(session, number, clerk)
    notice = found.status.correction
    items = [
        {
            "item": item,
            "source": "paper",
            "ref": "窗口收取纸质材料",
            "note": str(form.get(f"note_{i}", "")).strip(),
        }
        for i, item in enumerate(notice.items if notice else [])
        if form.get(f"item_{i}")
    ]
    try:
        body = form_model(SupplyIn, {"items": items, "note": form.get("note", "")})
        view = await actions.supply(
            services=services, session=session, found=found, actor=clerk.actor(), body=body
        )
        if view.accepted_at is None:
            due = when(view.acceptance_due)
            flash(request, f"{number} 补正材料已收取，请于{due}前作出受理决定。")
        else:
            flash(request, f"{number} 补正材料已收取，办理时限恢复计算。")
    except ApiError as exc:
        flash(request, problem_text(exc), "error")
        keep_values(request, f"/window/review/{number}", "supplement", form)
    return redirect(f"/window/review/{number}")


@router.post("/window/review/{number}/withdraw")
async def withdraw(
    number: str, request: Request, clerk: ClerkPage, services: ServicesDep, session: SessionDep
) -> Response:
    """The applicant withdraws in person at the window."""
    form = await request.form()
    check_csrf(request, form)
    found = await lookup.load(session, number, clerk)
    try:
        body = form_model(WithdrawIn, {"reason": form.get("reason", "")})
        await actions.withdraw(
            services=services, session=session, found=found, actor=clerk.actor(), body=body
        )
        flash(request, f"{number} 已撤回。")
    except ApiError as exc:
        flash(request, problem_text(exc), "error")
        keep_values(request, f"/window/review/{number}", "withdraw", form)
    return redirect(f"/window/review/{number}")


@router.post("/window/review/{number}/steps/{step_code}/reroute")
async def reroute(
    number: str,
    step_code: str,
    request: Request,
    clerk: ClerkPage,
    services: ServicesDep,
    session: SessionDep,
) -> Response:
    """改派 at the window: a returned (退单) step goes to another department."""
    form = await request.form()
    check_csrf(request, form)
    found = await lookup.load(session, number, clerk)
    if not any(s.code == step_code for s in found.status.steps):
        raise ApiError(404, "not_found", "本事项没有该环节")
    try:
        body = form_model(
            RerouteIn, {"department": form.get("department", ""), "reason": form.get("reason", "")}
        )
        await actions.reroute_at_window(
            services=services,
            session=session,
            found=found,
            step_code=step_code,
            clerk=clerk,
            body=body,
        )
        flash(request, f"已改派{services.catalogue.department_name(body.department)}办理。")
    except ApiError as exc:
        flash(request, problem_text(exc, REROUTE_LABELS), "error")
        keep_values(request, f"/window/review/{number}", f"reroute-{step_code}", form)
    return redirect(f"/window/review/{number}")


async def _accept_page(
    request: Request, services: ServicesDep, user: StaffUser, code: str, **extra: Any
) -> Response:
    matter = intake.offered_matter(services.catalogue, code, await services.clock())
    extra.setdefault("values", {})
    extra.setdefault("errors", {})
    return render(
        request,
        "window_accept.html",
        user=user,
        matter=guide(matter, services.catalogue),
        idempotency_key=extra["values"].get("idempotency_key") or uuid.uuid4().hex,
        **extra,
    )


@router.get("/window/accept/{code}")
async def accept_form(
    code: str, request: Request, clerk: ClerkPage, services: ServicesDep
) -> Response:
    return await _accept_page(request, services, clerk, code)


@router.post("/window/accept/{code}")
async def accept(
    code: str, request: Request, clerk: ClerkPage, services: ServicesDep, session: SessionDep
) -> Response:
    form = await request.form()
    check_csrf(request, form)
    matter = intake.offered_matter(services.catalogue, code, await services.clock())
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    materials = []
    for m in matter.materials:
        licence = values.get(f"licence_{m.code}", "").strip()
        if licence and m.licence_type:
            materials.append({"code": m.code, "source": "licence", "ref": licence})
        elif values.get(f"paper_{m.code}"):
            materials.append({"code": m.code, "source": "paper", "ref": "窗口收取纸质材料"})
    body = submission_body(values, matter, materials) | {
        "decision": values.get("decision", "accept"),
        "reason": values.get("reason", ""),
        "commitment_signed": bool(values.get("commitment_signed")),
    }
    tolerance = _tolerance(values, matter)
    if tolerance is not None:
        body["tolerance"] = tolerance
    try:
        submission = WindowSubmissionIn.model_validate(body)
        refusal = submission.reason if submission.decision == "refuse" else None
        number, query_code, _ = await intake.receive(
            services=services,
            session=session,
            submission=submission,
            channel=Channel.window,
            actor=clerk.actor(),
            region=clerk.region,
            idempotency_key=values.get("idempotency_key") or None,
            refusal=refusal,
            tolerance=(
                Tolerance(**submission.tolerance.model_dump())
                if submission.tolerance and refusal is None
                else None
            ),
        )
        if refusal is not None:
            flash(request, f"已作出不予受理决定（{number}），请将决定书交给申请人。")
        else:
            flash(request, f"已受理：{number}。请打印受理通知书交给申请人。")
    except (ValidationError, ApiError) as exc:
        today = await services.today()
        errors, message, status = form_problems(exc, form_field_problems(values, matter, today))
        if status != 503:  # only a retry after 503 may reuse the key: it may have started
            values.pop("idempotency_key", None)
        return await _accept_page(
            request,
            services,
            clerk,
            code,
            values=values,
            errors=errors,
            error_message=message,
            status_code=status,
        )
    hand_receipt(request, number, query_code)
    return redirect(f"/receipt/{number}")


def _tolerance(values: Mapping[str, str], matter: MatterDefinition) -> dict[str, Any] | None:
    """容缺受理 as ticked on the form: the tolerable materials accepted missing, and whether
    the applicant signed the 容缺承诺书 (None when nothing was ticked)."""
    tolerated = matter.tolerated_missing.materials if matter.tolerated_missing else []
    missing = [code for code in tolerated if values.get(f"missing_{code}")]
    signed = bool(values.get("tolerance_signed"))
    if not missing and not signed:
        return None
    return {"missing": missing, "signed": signed}


@router.post("/window/review/{number}/missing-materials")
async def supply_missing(
    number: str, request: Request, clerk: ClerkPage, services: ServicesDep, session: SessionDep
) -> Response:
    """容缺材料补齐 at the window: the clerk ticks each owed material received on paper and
    records them, as the API's window route does."""
    form = await request.form()
    check_csrf(request, form)
    found = await lookup.load(session, number, clerk)
    owed = found.status.outstanding
    materials = [
        {"code": m.code, "source": "paper", "ref": "窗口收取纸质材料"}
        for m in (owed.missing if owed else [])
        if form.get(f"owed_{m.code}")
    ]
    try:
        if owed is None or not owed.open:
            raise ApiError(409, "conflict", "该办件没有待补齐的容缺材料")
        if not materials:
            raise ApiError(422, "invalid_input", "请勾选已收取的容缺材料")
        body = form_model(MissingMaterialsIn, {"materials": materials})
        await actions.supply_missing(
            services=services, session=session, found=found, actor=clerk.actor(), body=body
        )
        flash(request, f"{number} 容缺材料已收取。")
    except ApiError as exc:
        flash(request, problem_text(exc), "error")
    return redirect(f"/window/review/{number}")


@router.post("/window/handover/{number}")
async def hand_over(
    number: str, request: Request, clerk: ClerkPage, services: ServicesDep, session: SessionDep
) -> Response:
    form = await request.form()
    check_csrf(request, form)
    try:
        handover = form_model(
            HandoverIn, {"method": form.get("method"), "ref": str(form.get("ref", "")).strip()}
        )
        found = await lookup.load(session, number, clerk)
        await actions.hand_over(
            services=services, session=session, found=found, clerk=clerk, body=handover
        )
        flash(request, f"{number} 已{'窗口出件' if handover.method == 'window' else '邮寄送达'}。")
    except ApiError as exc:
        flash(request, problem_text(exc), "error")
    return redirect("/window")
