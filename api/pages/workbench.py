"""The department workbench: the inbox by deadline, a task, and the decisions on it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from api.container import Services
from api.deps import PAGE_IDEMPOTENT, ServicesDep, SessionDep
from api.errors import ApiError, invalid
from api.pages.common import (
    StaffPage,
    check_csrf,
    flash,
    forbidden_page,
    form_model,
    keep_values,
    pager,
    problem_text,
    redirect,
    render,
)
from api.schemas import (
    DecisionIn,
    ExtensionIn,
    OrderAnswerIn,
    ReturnIn,
    SpecialEndIn,
    SpecialIn,
    StagePassIn,
    StageSendBackIn,
    VerificationIn,
)
from api.services import actions, licences, tasks
from api.services.accounts import StaffUser
from api.services.tasks import Task
from api.services.views import pinned

router = APIRouter(include_in_schema=False, dependencies=[PAGE_IDEMPOTENT])


@router.get("/workbench")
async def inbox(
    request: Request, staff: StaffPage, services: ServicesDep, session: SessionDep
) -> Response:
    state = request.query_params.get("state") or None
    sla = request.query_params.get("sla") or None
    states, sla_levels = ([state] if state else None), ([sla] if sla else None)
    department_filter = request.query_params.get("department") or None
    number = request.query_params.get("application_no", "").strip()[:40] or None
    # Counted first: the count is read from the inbox's index, and says which page is last.
    total = await tasks.count_tasks(
        session=session,
        user=staff,
        states=states,
        sla_levels=sla_levels,
        department=department_filter,
        application_no=number,
    )
    paging = pager(request, total)
    items = await tasks.list_tasks(
        services=services,
        session=session,
        user=staff,
        states=states,
        sla_levels=sla_levels,
        department=department_filter,
        application_no=number,
        limit=paging.size,
        offset=paging.offset,
    )
    department = services.catalogue.departments.get(staff.department or "")
    return render(
        request,
        "workbench.html",
        user=staff,
        tasks=items,
        paging=paging,
        state=state or "",
        sla=sla or "",
        number=number or "",
        department_label=department.name if department else "全部部门",
    )


@router.get("/workbench/tasks/{task_id}")
async def task_page(
    task_id: int, request: Request, staff: StaffPage, services: ServicesDep, session: SessionDep
) -> Response:
    try:
        task = await tasks.load_task(session=session, user=staff, task_id=task_id)
    except ApiError as exc:
        if exc.status == 403:
            return forbidden_page(request, staff)
        raise
    detail = await tasks.task_detail(services=services, session=session, task=task)
    return render(request, "task.html", user=staff, task=detail)


def _decision(decision: str, form: FormData) -> DecisionIn:
    return form_model(
        DecisionIn,
        {
            "decision": decision,
            "result": {
                k.removeprefix("result_"): str(v)
                for k, v in form.items()
                if k.startswith("result_")
            },
            "reason": str(form.get("reason", "")),
            "items": [line for line in str(form.get("items", "")).splitlines() if line.strip()],
            "comment": str(form.get("comment", "")),
        },
    )


# What each button does, and what the page then says. The same actions as the JSON API's.
PageAction = Callable[[Services, AsyncSession, Task, StaffUser, FormData], Awaitable[object]]


def _decide(decision: str) -> PageAction:
    async def run(
        services: Services, session: AsyncSession, task: Task, user: StaffUser, form: FormData
    ) -> object:
        body = _decision(decision, form)
        return await actions.decide(
            services=services, session=session, task=task, user=user, body=body
        )

    return run


async def _claim(
    services: Services, session: AsyncSession, task: Task, user: StaffUser, _form: FormData
) -> object:
    return await actions.claim(services=services, session=session, task=task, user=user)


async def _release(
    services: Services, session: AsyncSession, task: Task, user: StaffUser, _form: FormData
) -> object:
    return await actions.release(services=services, session=session, task=task, user=user)


def _with_form(
    action: Callable[..., Awaitable[object]], model: type[BaseModel], *fields: str
) -> PageAction:
    """An action whose body is `model` built from the form's fields of the same names."""

    async def run(
        services: Services, session: AsyncSession, task: Task, user: StaffUser, form: FormData
    ) -> object:
        body = form_model(model, {f: form.get(f, "") for f in fields})
        return await action(services=services, session=session, task=task, user=user, body=body)

    return run


def _verify(passed: bool) -> PageAction:
    async def run(
        services: Services, session: AsyncSession, task: Task, user: StaffUser, form: FormData
    ) -> object:
        body = form_model(
            VerificationIn, {"passed": passed, "findings": str(form.get("findings", ""))}
        )
        return await actions.verify(
            services=services, session=session, task=task, user=user, body=body
        )

    return run


async def _answer_order(
    services: Services, session: AsyncSession, task: Task, user: StaffUser, form: FormData
) -> object:
    # The order's number comes with its form, as the JSON API takes it from the path.
    number = str(form.get("order_no", ""))
    if not number.isdecimal() or not 1 <= int(number) <= 1000:
        raise invalid({"order_no": "请选择要答复的督办单"})
    body = form_model(OrderAnswerIn, {"answer": form.get("answer", "")})
    return await actions.answer_order(
        services=services, session=session, task=task, user=user, order_no=int(number), body=body
    )


PAGE_ACTIONS: dict[str, tuple[PageAction, str, bool]] = {
    # action: (what it does, what the page says after, whether the task stays on screen)
    "claim": (_claim, "已签收，请办理。", True),
    "release": (_release, "已退回待办。", True),
    "extension-request": (
        _with_form(actions.request_extension, ExtensionIn, "working_days", "reason"),
        "延期申请已提交，等待监督管理人员审批。",
        True,
    ),
    "stage-pass": (
        _with_form(actions.pass_stage, StagePassIn, "opinion"),
        "已签署意见，转下一级办理。",
        False,
    ),
    "stage-send-back": (
        _with_form(actions.send_back_stage, StageSendBackIn, "reason"),
        "已退回上一级重办。",
        False,
    ),
    "approve": (_decide("approve"), "已办结本环节（通过）。", False),
    "reject": (_decide("reject"), "已作出不予通过决定，申请已终止。", False),
    "request_supplement": (
        _decide("request_supplement"),
        "补正告知已发送给申请人，本环节计时暂停。",
        False,
    ),
    "verification-passed": (_verify(True), "已记录核查结果：与承诺相符。", False),
    "verification-failed": (
        _verify(False),
        "已记录核查结果：与承诺不符，许可决定已撤销，相关证照予以注销。",
        False,
    ),
    # 退单 · 特别程序 · 督办答复 (README: the procedures beside the plain path)
    "return": (
        _with_form(actions.return_step, ReturnIn, "reason"),
        "已退单，等待监督管理人员或综合窗口改派。",
        False,
    ),
    "special-procedure": (
        _with_form(actions.start_special, SpecialIn, "kind", "working_days", "reason"),
        "特别程序已启动，本环节和办件计时暂停，已书面告知申请人。",
        True,
    ),
    "special-procedure-end": (
        _with_form(actions.end_special, SpecialEndIn, "outcome"),
        "特别程序已结束，计时恢复。",
        True,
    ),
    "order-answer": (_answer_order, "督办答复已提交监督管理人员。", True),
}

# How an action's form fields read in a refusal, where FIELD_LABELS' words do not fit.
ACTION_LABELS: dict[str, dict[str, str]] = {
    "return": {"reason": "退单理由"},
    "special-procedure": {
        "kind": "特别程序种类",
        "working_days": "所需工作日",
        "reason": "启动理由",
    },
    "special-procedure-end": {"outcome": "特别程序结果"},
    "order-answer": {"order_no": "督办单", "answer": "督办答复"},
}


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
    if action not in PAGE_ACTIONS:
        raise ApiError(404, "not_found", "没有这个操作")
    run, done, stay = PAGE_ACTIONS[action]
    try:
        task = await tasks.load_task(session=session, user=staff, task_id=task_id)
    except ApiError as exc:
        if exc.status == 403:
            return forbidden_page(request, staff)
        raise
    try:
        await run(services, session, task, staff, form)
    except ApiError as exc:
        if exc.status == 403:
            return forbidden_page(request, staff)
        spec = pinned(task.app).step(task.step.code)
        labels = {f"result.{f.code}": f.label for f in spec.result_fields}
        labels |= ACTION_LABELS.get(action, {})
        flash(request, problem_text(exc, labels), "error")
        keep_values(request, page, action, form)  # the form comes back as it was typed
        return redirect(page)
    flash(request, done)
    # After a decision the task leaves the inbox: back to the inbox; else stay on the task.
    return redirect(page if stay else "/workbench")


@router.get("/workbench/tasks/{task_id}/licences/{material}")
async def material_licence(
    task_id: int,
    material: str,
    request: Request,
    staff: StaffPage,
    services: ServicesDep,
    session: SessionDep,
) -> Response:
    """The licence a material of the task came from, in full; the view is on the audit
    trail, with the application it was opened for."""
    task = await tasks.load_task(session=session, user=staff, task_id=task_id)
    licence = await licences.material_licence(
        services=services, session=session, user=staff, app=task.app, material=material
    )
    return render(request, "licence_detail.html", user=staff, licence=licence, task=task)
