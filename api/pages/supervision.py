"""The supervisor's dashboard (电子监察): cards, overdue lists, departments, timelines."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from api.deps import PAGE_IDEMPOTENT, ServicesDep, SessionDep
from api.errors import ApiError
from api.pages.common import (
    REROUTE_LABELS,
    SupervisorPage,
    check_csrf,
    flash,
    form_model,
    keep_values,
    pager,
    problem_text,
    redirect,
    render,
    routable_departments,
    safe_path,
)
from api.schemas import ExtensionIn, ExtensionRefusalIn, FollowUpIn, OrderIn, RerouteIn
from api.services import actions, aftercare, supervision, tasks
from api.services import status as lookup
from api.services.deliveries import report as delivery_report
from api.services.views import correction_view, step_procedures
from domain.application import ApplicationStatus
from domain.states import SlaLevel
from store.models import ApplicationRow, StepRow

router = APIRouter(include_in_schema=False, dependencies=[PAGE_IDEMPOTENT])

CARD_COLOURS = {"green": "#2e8b57", "yellow": "#e0a800", "red": "#d9363e", "serious": "#7b1fa2"}


def chart(rows: list[tuple[str, dict[str, int]]]) -> dict[str, object]:
    """Stacked bars of open steps per department and card, laid out for an inline SVG."""
    longest = max((sum(c.values()) for _, c in rows), default=0) or 1
    bars = []
    for i, (name, counts) in enumerate(rows):
        x = 0.0
        segments = []
        for level in ("green", "yellow", "red", "serious"):
            n = counts.get(level, 0)
            if n:
                width = 300 * n / longest
                segments.append(
                    {"x": x, "width": width, "colour": CARD_COLOURS[level], "n": n, "level": level}
                )
                x += width
        bars.append(
            {"y": 10 + i * 28, "name": name, "segments": segments, "total": sum(counts.values())}
        )
    return {"bars": bars, "height": 20 + 28 * len(rows)}


@router.get("/supervision")
async def dashboard(
    request: Request, boss: SupervisorPage, services: ServicesDep, session: SessionDep
) -> Response:
    overview = await supervision.overview(services=services, session=session, user=boss)
    lists = {}
    for name, levels in (
        ("overdue", [SlaLevel.red.value, SlaLevel.serious.value]),
        ("yellow", [SlaLevel.yellow.value]),
    ):
        # Each list pages on its own (?overdue_page=, ?yellow_page=), keeping the other's.
        total = await supervision.count_applications(
            session=session, user=boss, matter=None, department=None, sla_level=levels, state=None
        )
        paging = pager(request, total, param=f"{name}_page")
        page_rows = await supervision.applications(
            services=services,
            session=session,
            user=boss,
            matter=None,
            department=None,
            sla_level=levels,
            state=None,
            limit=paging.size,
            offset=paging.offset,
        )
        lists[name] = (page_rows, paging)
    rows = [
        (d.department_name, d.open_by_card)
        for d in sorted(overview.departments, key=lambda d: d.department)
        if d.open_by_card
    ]
    return render(
        request,
        "supervision.html",
        user=boss,
        overview=overview,
        overdue=lists["overdue"][0],
        overdue_paging=lists["overdue"][1],
        yellow=lists["yellow"][0],
        yellow_paging=lists["yellow"][1],
        chart=chart(rows),
        departments=[d for d in overview.departments if d.open or d.completed]
        or overview.departments,
        reviews=await aftercare.bad_reviews(
            services=services, session=session, user=boss, pending_only=True
        ),
        extension_requests=await tasks.pending_extension_requests(
            services=services, session=session, user=boss
        ),
        colours=CARD_COLOURS,
        deliveries=await delivery_report(services=services, session=session, user=boss),
    )


@router.get("/supervision/find")
async def find(request: Request, _boss: SupervisorPage) -> Response:
    """办件查询: straight to an application by its number (a call about one, a complaint),
    as at the window."""
    number = request.query_params.get("no", "").strip()
    if not number:
        return redirect("/supervision")
    return redirect(f"/supervision/applications/{quote(number)}")


@router.get("/supervision/applications/{number}")
async def drill_down(
    number: str, request: Request, boss: SupervisorPage, services: ServicesDep, session: SessionDep
) -> Response:
    found = await lookup.load(session, number, boss)  # 404 if none, or another region's
    app = await session.get(ApplicationRow, number)
    assert app is not None
    status = ApplicationStatus.model_validate(app.status)
    rows = await session.scalars(select(StepRow).where(StepRow.application_no == number))
    task_ids = {row.code: row.id for row in rows}
    events = await supervision.timeline(services=services, session=session, application_no=number)
    return render(
        request,
        "supervision_application.html",
        user=boss,
        app=app,
        status=status,
        task_ids=task_ids,
        events=events,
        temporal_link=supervision.temporal_url(services, number),
        active=[s for s in status.steps if s.state.active],
        step_names={s.code: s.name for s in status.steps},
        view=lookup.view(services, found),
        corrections=[correction_view(n, services.tz) for n in status.corrections],
        # 特别程序 and 督办单 of each step; the departments a returned step may go to (改派).
        procedures={s.code: step_procedures(status, s.code, services.tz) for s in status.steps},
        departments=routable_departments(services, status),
    )


@router.post("/supervision/tasks/{task_id}/extension")
async def extend(
    task_id: int, request: Request, boss: SupervisorPage, services: ServicesDep, session: SessionDep
) -> Response:
    form = await request.form()
    check_csrf(request, form)
    task = await tasks.load_task(session=session, user=boss, task_id=task_id)
    back = safe_path(form.get("back"), f"/supervision/applications/{task.app.application_no}")
    try:
        body = form_model(
            ExtensionIn,
            {"working_days": form.get("working_days", ""), "reason": form.get("reason", "")},
        )
        await actions.extend(services=services, session=session, task=task, user=boss, body=body)
        flash(request, f"已批准延期 {body.working_days} 个工作日。")
    except ApiError as exc:
        flash(request, problem_text(exc), "error")
        keep_values(request, back, f"extension-{task_id}", form)
    return redirect(back)


@router.post("/supervision/tasks/{task_id}/extension/refuse")
async def refuse_extension(
    task_id: int, request: Request, boss: SupervisorPage, services: ServicesDep, session: SessionDep
) -> Response:
    form = await request.form()
    check_csrf(request, form)
    task = await tasks.load_task(session=session, user=boss, task_id=task_id)
    back = safe_path(form.get("back"), "/supervision")
    try:
        body = form_model(ExtensionRefusalIn, {"reason": form.get("reason", "")})
        await actions.refuse_extension(
            services=services, session=session, task=task, user=boss, body=body
        )
        flash(request, "已作出不予延期的答复。")
    except ApiError as exc:
        flash(request, problem_text(exc), "error")
        keep_values(request, back, f"refusal-{task_id}", form)
    return redirect(back)


# How the 督办 form's fields read in a refusal.
ORDER_LABELS = {"working_days": "答复期限", "demand": "督办要求"}


@router.post("/supervision/tasks/{task_id}/orders")
async def order(
    task_id: int, request: Request, boss: SupervisorPage, services: ServicesDep, session: SessionDep
) -> Response:
    """督办单 on a yellow or red step, with the working days for the department's answer."""
    form = await request.form()
    check_csrf(request, form)
    task = await tasks.load_task(session=session, user=boss, task_id=task_id)
    page = f"/supervision/applications/{task.app.application_no}"
    try:
        body = form_model(
            OrderIn,
            {"working_days": form.get("working_days", ""), "demand": form.get("demand", "")},
        )
        await actions.order(services=services, session=session, task=task, user=boss, body=body)
        flash(request, f"已下达督办单，请承办部门在 {body.working_days} 个工作日内书面答复。")
    except ApiError as exc:
        flash(request, problem_text(exc, ORDER_LABELS), "error")
        keep_values(request, page, f"orders-{task_id}", form)
    return redirect(page)


@router.post("/supervision/tasks/{task_id}/reroute")
async def reroute(
    task_id: int, request: Request, boss: SupervisorPage, services: ServicesDep, session: SessionDep
) -> Response:
    """改派: a returned (退单) step goes to another department, keeping its deadline."""
    form = await request.form()
    check_csrf(request, form)
    task = await tasks.load_task(session=session, user=boss, task_id=task_id)
    page = f"/supervision/applications/{task.app.application_no}"
    try:
        body = form_model(
            RerouteIn, {"department": form.get("department", ""), "reason": form.get("reason", "")}
        )
        await actions.reroute_task(
            services=services, session=session, task=task, user=boss, body=body
        )
        flash(request, f"已改派{services.catalogue.department_name(body.department)}办理。")
    except ApiError as exc:
        flash(request, problem_text(exc, REROUTE_LABELS), "error")
        keep_values(request, page, f"reroute-{task_id}", form)
    return redirect(page)


@router.post("/supervision/reviews/{number}/follow-up")
async def follow_up(
    number: str, request: Request, boss: SupervisorPage, services: ServicesDep, session: SessionDep
) -> Response:
    form = await request.form()
    check_csrf(request, form)
    try:
        body = form_model(FollowUpIn, {"note": form.get("note", "")})
        await aftercare.follow_up(
            services=services, session=session, application_no=number, note=body.note, user=boss
        )
        flash(request, "已记录整改回访。")
    except ApiError as exc:
        flash(request, problem_text(exc, {"note": "整改回访情况"}), "error")
        keep_values(request, "/supervision", f"follow-up-{number}", form)
    return redirect("/supervision")
