"""The department workbench: the inbox by deadline, a task, and the decisions on it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import ServicesDep, SessionDep
from api.errors import ApiError
from api.pages.common import (
    StaffPage,
    check_csrf,
    flash,
    forbidden_page,
    redirect,
    render,
)
from api.schemas import DecisionIn
from api.services import tasks
from domain.actions import ClaimInput, ExtensionRequestInput, ReleaseInput
from domain.actors import Role

router = APIRouter(include_in_schema=False)


@router.get("/workbench")
async def inbox(
    request: Request, staff: StaffPage, services: ServicesDep, session: SessionDep
) -> Response:
    state = request.query_params.get("state") or None
    sla = request.query_params.get("sla") or None
    items = await tasks.list_tasks(
        services=services,
        session=session,
        user=staff,
        states=[state] if state else None,
        sla_levels=[sla] if sla else None,
        department=request.query_params.get("department") or None,
        limit=200,
        offset=0,
    )
    department = services.catalogue.departments.get(staff.department or "")
    return render(
        request,
        "workbench.html",
        user=staff,
        tasks=items,
        state=state or "",
        sla=sla or "",
        department_name=department.name if department else "全部部门",
    )


@router.get("/workbench/tasks/{task_id}")
async def task_page(
    task_id: int, request: Request, staff: StaffPage, services: ServicesDep, session: SessionDep
) -> Response:
    try:
        step, app = await tasks.get_task(session=session, user=staff, task_id=task_id)
    except ApiError as exc:
        if exc.status == 403:
            return forbidden_page(request, staff)
        raise
    detail = await tasks.task_detail(services=services, session=session, step=step, app=app)
    return render(request, "task.html", user=staff, task=detail)


@router.post("/workbench/tasks/{task_id}/{action}")
async def act(
    task_id: int,
    action: str,
    request: Request,
    staff: StaffPage,
    services: ServicesDep,
    session: SessionDep,
) -> Response:
    form = await request.form()
    check_csrf(request, form)
    page = f"/workbench/tasks/{task_id}"
    try:
        if staff.role is not Role.staff and action != "release":
            raise ApiError(403, "forbidden", "只有承办部门工作人员可以办理任务")
        step, app = await tasks.get_task(session=session, user=staff, task_id=task_id)
        payload: Any
        if action == "claim":
            update, payload = "claim", ClaimInput(step_code=step.code, actor=staff.actor())
            done = "已签收，请办理。"
        elif action == "release":
            update, payload = "release", ReleaseInput(step_code=step.code, actor=staff.actor())
            done = "已退回待办。"
        elif action == "extension-request":
            update = "request_extension"
            payload = ExtensionRequestInput(
                step_code=step.code,
                actor=staff.actor(),
                working_days=int(str(form.get("working_days", "0")) or 0),
                reason=str(form.get("reason", "")).strip(),
            )
            done = "延期申请已提交，等待监督管理人员审批。"
        elif action in ("approve", "reject", "request_supplement"):
            decision = DecisionIn(
                decision=action,
                result={
                    k.removeprefix("result_"): str(v)
                    for k, v in form.items()
                    if k.startswith("result_")
                },
                reason=str(form.get("reason", "")).strip(),
                items=[
                    line.strip() for line in str(form.get("items", "")).splitlines() if line.strip()
                ],
                comment=str(form.get("comment", "")).strip(),
            )
            update, payload = tasks.decision_action(
                decision, step, app, staff, await services.today()
            )
            done = {
                "approve": "已办结本环节（通过）。",
                "reject": "已作出不予通过决定，申请已终止。",
                "request_supplement": "补正告知已发送给申请人，本环节计时暂停。",
            }[action]
        else:
            raise ApiError(404, "not_found", "没有这个操作")
        await tasks.act(
            services=services, session=session, step=step, app=app, update=update, action=payload
        )
    except ValueError:
        flash(request, "延期天数应为整数", "error")
        return redirect(page)
    except ApiError as exc:
        if exc.status == 403:
            return forbidden_page(request, staff)
        flash(request, exc.message, "error")
        return redirect(page)
    flash(request, done)
    # After a decision the task leaves the inbox: back to the inbox; else stay on the task.
    return redirect(page if action in ("claim", "release", "extension-request") else "/workbench")
