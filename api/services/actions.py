"""Every action on an application, written once: the JSON routers and the pages call these.

Each checks what the read model can already tell (who may act, the shape of the input, a
closed case) so that a refusal names the field at fault, then sends the action to the
workflow as its own typed update (`MatterWorkflow.approve` with an `ApproveInput`), whose
validator has the last word, and answers with the application or the task as the read model
shows it afterwards.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from api.container import Services
from api.engine import A, UpdateMethod
from api.errors import conflict, forbidden, invalid
from api.schemas import (
    AcceptanceCorrectionIn,
    AcceptanceRefusalIn,
    AcceptIn,
    ApplicationView,
    DecisionIn,
    ExtensionIn,
    ExtensionRefusalIn,
    HandoverIn,
    MissingMaterialsIn,
    OrderAnswerIn,
    OrderIn,
    RerouteIn,
    ReturnIn,
    SpecialEndIn,
    SpecialIn,
    StagePassIn,
    StageSendBackIn,
    SupplyIn,
    TaskView,
    VerificationIn,
    WithdrawIn,
)
from api.services import aftercare, materials
from api.services import status as lookup
from api.services.accounts import StaffUser
from api.services.tasks import Task, reload_task
from api.services.views import pinned, task_view
from domain.actions import (
    AcceptanceCorrectionInput,
    AcceptInput,
    ApproveInput,
    ClaimInput,
    ExtendInput,
    ExtensionRefusalInput,
    ExtensionRequestInput,
    HandOverInput,
    MissingMaterialsInput,
    OrderAnswerInput,
    RefuseAcceptanceInput,
    RejectInput,
    ReleaseInput,
    RerouteInput,
    ReturnStepInput,
    SpecialProcedureEndInput,
    SpecialProcedureInput,
    StagePassInput,
    StageSendBackInput,
    SupervisionOrderInput,
    SupplementRequestInput,
    SupplyInput,
    VerificationInput,
    WithdrawInput,
)
from domain.actors import Actor, Role
from domain.application import (
    Applicant,
    ApplicationStatus,
    MaterialReceipt,
    MaterialSource,
    Tolerance,
)
from domain.fields import clean_fields, fields_problems
from domain.reason import reason_problem
from domain.states import ApplicationState
from store.models import ApplicationRow
from workflows.matter import MatterWorkflow

# The request's Idempotency-Key: set for the JSON routes' actions by `api.deps.IDEMPOTENT`,
# for the pages' forms (their `action_key`) by `api.deps.PAGE_IDEMPOTENT`.
_ACTION_KEY: ContextVar[str | None] = ContextVar("action_key", default=None)


@contextmanager
def action_key(key: str | None) -> Iterator[None]:
    """The key of the actions sent within, for this request only: a test's requests can
    share one task, and with it this context."""
    token = _ACTION_KEY.set(key or None)
    try:
        yield
    finally:
        _ACTION_KEY.reset(token)


def update_id(key: str | None, action: BaseModel) -> str | None:
    """The id of the action's update: Temporal runs an update once per id and answers a
    second with the first's outcome, also while the first is still running (its write
    waiting for the database). Made of the key and the action as sent, who sends it
    included: the same key with another body, or from another person, is another action."""
    if not key:
        return None
    sent = f"{key}\n{type(action).__name__}\n{action.model_dump_json()}"
    return "key-" + hashlib.sha256(sent.encode()).hexdigest()


def _maybe_a_retry() -> bool:
    """An action sent with a key may be the retry of the one that moved the application on
    (the 通过 that granted it, the 补正 that answered the notice). The read model then shows
    the state that action left, and its refusals would turn the retry away: the engine is
    asked instead, which answers a retry as it answered the first and refuses anything else
    with the same reasons."""
    return _ACTION_KEY.get() is not None


def _still_open(status: ApplicationStatus) -> None:
    """Actions on a closed application are refused from the read model, with no engine call,
    unless they may be a retry."""
    if not _maybe_a_retry():
        lookup.still_open(status)


async def _send(
    services: Services,
    session: AsyncSession,
    application_no: str,
    update: UpdateMethod[A],
    action: A,
) -> None:
    """The action, to its workflow, once the session has given its connection back.

    An update lasts as long as the workflow takes (a second and more under load); held that
    long, the connections of the pool ran out and the polls of the same process waited for
    new ones to be opened. Nothing is written before an action is sent (the workflow's
    projection writes the read model), so the commit only ends the reads."""
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("an action is sent before anything is written, not after")
    await session.commit()
    key = update_id(_ACTION_KEY.get(), action)
    await services.engine.update(application_no, update, action, update_id=key)


# --- on the application ----------------------------------------------------------------


async def _on_application(
    services: Services,
    session: AsyncSession,
    found: lookup.Found,
    update: UpdateMethod[A],
    action: A,
) -> ApplicationView:
    _still_open(found.status)
    await _send(services, session, found.application_no, update, action)
    return lookup.view(services, await lookup.reload(session, found))


async def accept(
    *,
    services: Services,
    session: AsyncSession,
    found: lookup.Found,
    clerk: StaffUser,
    body: AcceptIn | None = None,
) -> ApplicationView:
    """受理 an application submitted online: its clocks start now (容缺受理 with materials
    accepted missing: the workflow checks them against its pinned matter, 409 with why)."""
    tolerance = None
    if body is not None and body.tolerance is not None:
        tolerance = Tolerance(**body.tolerance.model_dump())
    app = await session.get(ApplicationRow, found.application_no)
    if app is not None and found.status.state is ApplicationState.received:
        problems = await materials.pinned_licence_problems(
            session,
            matter=pinned(app),
            application_no=found.application_no,
            today=await services.today(),
            licence_names=services.catalogue.licence_names,
        )
        if problems:
            raise conflict(
                "；".join(problems.values())
                + "。不能据此受理：请不予受理并告知原因，申请人可凭有效证照重新申请"
            )
    action = AcceptInput(actor=clerk.actor(), tolerance=tolerance)
    return await _on_application(services, session, found, MatterWorkflow.accept, action)


async def ask_correction_before_acceptance(
    *,
    services: Services,
    session: AsyncSession,
    found: lookup.Found,
    clerk: StaffUser,
    body: AcceptanceCorrectionIn,
) -> ApplicationView:
    """受理前补正告知: the application stays unaccepted until the applicant answers; then the
    window decides within a new acceptance period."""
    items = _correction_items(body.items, body.reason)
    action = AcceptanceCorrectionInput(actor=clerk.actor(), items=items, reason=body.reason)
    return await _on_application(
        services, session, found, MatterWorkflow.correction_before_acceptance, action
    )


async def supply_missing(
    *,
    services: Services,
    session: AsyncSession,
    found: lookup.Found,
    actor: Actor,
    body: MissingMaterialsIn,
) -> ApplicationView:
    """容缺材料补齐: by the applicant (uploads), or by the window (paper too). Accepted after
    the grant as well: the result waits for them."""
    owed = found.status.outstanding
    if (owed is None or not owed.open) and not _maybe_a_retry():
        raise conflict("该办件没有待补齐的容缺材料")
    problems = {}
    receipts = [MaterialReceipt(**m.model_dump()) for m in body.materials]
    for i, m in enumerate(body.materials):
        if m.source is MaterialSource.paper and actor.role is Role.applicant:
            problems[f"materials[{i}].source"] = "纸质材料只能在窗口提交，网上补交请上传"
        elif m.source is MaterialSource.sharing:
            problems[f"materials[{i}].source"] = "容缺材料须上传、以电子证照或在窗口提交"
        elif m.source is not MaterialSource.paper and not m.ref.strip():
            problems[f"materials[{i}].ref"] = "请先上传文件，并填写文件编号"
        elif m.source is MaterialSource.licence:
            receipt, problem = await _licence_handed_in(services, session, found, m.code, m.ref)
            if problem:
                problems[f"materials[{i}].ref"] = problem
            elif receipt is not None:
                receipts[i] = receipt  # pinned: its number and digest, verified
    if problems:
        raise invalid(problems)
    action = MissingMaterialsInput(actor=actor, materials=receipts)
    await _send(services, session, found.application_no, MatterWorkflow.supply_missing, action)
    return lookup.view(services, await lookup.reload(session, found))


async def _licence_handed_in(
    services: Services, session: AsyncSession, found: lookup.Found, code: str, ref: str
) -> tuple[MaterialReceipt | None, str | None]:
    """A licence named for an owed material, checked as at submission (None, None: not a
    material of the matter that a licence may stand for; the workflow says what is owed)."""
    app = await session.get(ApplicationRow, found.application_no)
    spec = next((m for m in pinned(app).materials if m.code == code), None) if app else None
    if app is None or spec is None or not spec.licence_type:
        return None, None if spec is None else f"“{spec.name}”不能以电子证照代替"
    person = app.applicant_kind == "person"
    applicant = Applicant.model_construct(
        name=app.applicant_name,
        id_number=app.applicant_id if person else None,
        credit_code=None if person else app.applicant_id,
        phone=app.applicant_phone,
    )
    return await materials.licence_in_hand(
        session,
        spec=spec,
        ref=ref,
        applicant=applicant,
        form=app.form,
        today=await services.today(),
        licence_names=services.catalogue.licence_names,
    )


async def refuse_acceptance(
    *,
    services: Services,
    session: AsyncSession,
    found: lookup.Found,
    clerk: StaffUser,
    body: AcceptanceRefusalIn,
) -> ApplicationView:
    """不予受理 an application submitted online, with the reason the applicant is told."""
    action = RefuseAcceptanceInput(actor=clerk.actor(), reason=body.reason)
    return await _on_application(services, session, found, MatterWorkflow.refuse_acceptance, action)


async def supply(
    *,
    services: Services,
    session: AsyncSession,
    found: lookup.Found,
    actor: Actor,
    body: SupplyIn,
) -> ApplicationView:
    """Answer the open correction notice (补正), all items at once: by the applicant, or by
    the window when the applicant brings them in person."""
    _still_open(found.status)
    notice = found.status.correction
    if notice is not None:
        given = [i.item for i in body.items]
        missing = [i for i in notice.items if i not in given]
        extra = [i for i in given if i not in notice.items]
        if missing:
            raise invalid({"items": f"补正材料不全，还缺：{'、'.join(missing)}"})
        if extra:
            raise invalid({"items": f"以下内容不在补正告知中：{'、'.join(extra)}"})
    elif not _maybe_a_retry():
        raise conflict("当前没有需要补正的事项")
    action = SupplyInput(actor=actor, items=body.items, note=body.note)
    return await _on_application(services, session, found, MatterWorkflow.supply_supplement, action)


async def withdraw(
    *,
    services: Services,
    session: AsyncSession,
    found: lookup.Found,
    actor: Actor,
    body: WithdrawIn,
) -> ApplicationView:
    """撤回: by the applicant, or at the window on their behalf."""
    action = WithdrawInput(actor=actor, reason=body.reason)
    return await _on_application(services, session, found, MatterWorkflow.withdraw, action)


async def hand_over(
    *,
    services: Services,
    session: AsyncSession,
    found: lookup.Found,
    clerk: StaffUser,
    body: HandoverIn,
) -> ApplicationView:
    """综合窗口出件: handed over at the window, or posted with its tracking number. This stops
    the delivery clock the grant started."""
    if body.method == "express" and not body.ref:
        raise invalid({"ref": "邮寄送达须填写快递单号"})
    if found.status.delivery is None:
        # Granted before results had a delivery clock: its workflow has closed already.
        await aftercare.hand_over(
            session=session,
            application_no=found.application_no,
            handover=body,
            actor=clerk.actor(),
            now=await services.clock(),
        )
    else:
        action = HandOverInput(actor=clerk.actor(), method=body.method, ref=body.ref)
        await _send(services, session, found.application_no, MatterWorkflow.hand_over, action)
    return lookup.view(services, await lookup.reload(session, found))


# --- on a department's task --------------------------------------------------------------


async def _on_task(
    services: Services, session: AsyncSession, task: Task, update: UpdateMethod[A], action: A
) -> TaskView:
    _still_open(ApplicationStatus.model_validate(task.app.status))
    await _send(services, session, task.app.application_no, update, action)
    fresh = await reload_task(session, task)
    return task_view(fresh.step, fresh.app, services.tz, await services.clock(), services.catalogue)


def _acting_staff(user: StaffUser) -> None:
    """Supervisors may read a department's tasks but only its own staff work them."""
    if user.role is not Role.staff:
        raise forbidden("只有承办部门工作人员可以办理任务")


async def claim(
    *, services: Services, session: AsyncSession, task: Task, user: StaffUser
) -> TaskView:
    _acting_staff(user)
    action = ClaimInput(step_code=task.step.code, actor=user.actor())
    return await _on_task(services, session, task, MatterWorkflow.claim, action)


async def release(
    *, services: Services, session: AsyncSession, task: Task, user: StaffUser
) -> TaskView:
    """Hand a claimed task back to the inbox: its claimer, or a supervisor taking it back
    from someone absent."""
    action = ReleaseInput(step_code=task.step.code, actor=user.actor())
    return await _on_task(services, session, task, MatterWorkflow.release, action)


async def decide(
    *, services: Services, session: AsyncSession, task: Task, user: StaffUser, body: DecisionIn
) -> TaskView:
    """approve (with the result fields), reject (with a reason), or request_supplement."""
    _acting_staff(user)
    code, actor = task.step.code, user.actor()
    if body.decision == "approve":
        spec = pinned(task.app).step(code)
        problems = fields_problems(spec.result_fields, body.result, today=await services.today())
        if problems:
            raise invalid({f"result.{field}": reason for field, reason in problems.items()})
        approval = ApproveInput(
            step_code=code,
            actor=actor,
            result=clean_fields(spec.result_fields, body.result),
            comment=body.comment,
        )
        return await _on_task(services, session, task, MatterWorkflow.approve, approval)
    if body.decision == "reject":
        problem = reason_problem(body.reason, "不予通过必须说明理由")
        if problem:
            raise invalid({"reason": problem})
        rejection = RejectInput(step_code=code, actor=actor, reason=body.reason)
        return await _on_task(services, session, task, MatterWorkflow.reject, rejection)
    items = _correction_items(body.items, body.reason)
    request = SupplementRequestInput(step_code=code, actor=actor, items=items, reason=body.reason)
    return await _on_task(services, session, task, MatterWorkflow.request_supplement, request)


def _correction_items(items: list[str], reason: str) -> list[str]:
    """The items a correction notice asks for; 422 naming what is wrong with them."""
    given = [i.strip() for i in items if i.strip()]
    problems = {}
    if not given:
        problems["items"] = "请列明需要补正的材料或内容"
    problem = reason_problem(reason, "补正告知必须说明理由")
    if problem:
        problems["reason"] = problem
    if problems:
        raise invalid(problems)
    return given


async def request_extension(
    *, services: Services, session: AsyncSession, task: Task, user: StaffUser, body: ExtensionIn
) -> TaskView:
    """延期申请: the department asks a supervisor for more working days, with a reason."""
    _acting_staff(user)
    action = ExtensionRequestInput(
        step_code=task.step.code,
        actor=user.actor(),
        working_days=body.working_days,
        reason=body.reason,
    )
    return await _on_task(services, session, task, MatterWorkflow.request_extension, action)


async def extend(
    *, services: Services, session: AsyncSession, task: Task, user: StaffUser, body: ExtensionIn
) -> TaskView:
    """A supervisor grants an extension (延期), answering a pending request if there is one."""
    action = ExtendInput(
        step_code=task.step.code,
        actor=user.actor(),
        working_days=body.working_days,
        reason=body.reason,
    )
    return await _on_task(services, session, task, MatterWorkflow.extend, action)


async def refuse_extension(
    *,
    services: Services,
    session: AsyncSession,
    task: Task,
    user: StaffUser,
    body: ExtensionRefusalIn,
) -> TaskView:
    """不予延期: the department's request is answered with a reason; the deadline stays."""
    action = ExtensionRefusalInput(step_code=task.step.code, actor=user.actor(), reason=body.reason)
    return await _on_task(services, session, task, MatterWorkflow.refuse_extension, action)


async def return_step(
    *, services: Services, session: AsyncSession, task: Task, user: StaffUser, body: ReturnIn
) -> TaskView:
    """退单: the department sends the task back as not its business, with the reason; it
    waits for a supervisor or the window to re-route it. Its clock keeps running."""
    _acting_staff(user)
    action = ReturnStepInput(step_code=task.step.code, actor=user.actor(), reason=body.reason)
    return await _on_task(services, session, task, MatterWorkflow.return_step, action)


def _routing_problem(services: Services, body: RerouteIn, departments: Iterable[str]) -> None:
    """改派 stays at the level that handles the application (`departments`, its steps'): a
    county's application goes to its branches (or a city department with no branch there),
    never to another county's or to the city's own."""
    catalogue = services.catalogue
    region = catalogue.region_of(departments)
    if body.department in catalogue.departments_at(region):
        return
    if catalogue.department(body.department) is None:
        raise invalid({"department": f"没有部门 {body.department}"})
    level = "市级" if region is None else services.regions.name(region)
    raise invalid({"department": f"只能改派给办理该件的{level}部门"})


async def reroute_task(
    *, services: Services, session: AsyncSession, task: Task, user: StaffUser, body: RerouteIn
) -> TaskView:
    """改派 by a supervisor: the returned task goes to another department with its limit."""
    steps = ApplicationStatus.model_validate(task.app.status).steps
    _routing_problem(services, body, (step.department for step in steps))
    action = RerouteInput(
        step_code=task.step.code, actor=user.actor(), department=body.department,
        reason=body.reason,
    )  # fmt: skip
    return await _on_task(services, session, task, MatterWorkflow.reroute, action)


async def reroute_at_window(
    *,
    services: Services,
    session: AsyncSession,
    found: lookup.Found,
    step_code: str,
    clerk: StaffUser,
    body: RerouteIn,
) -> ApplicationView:
    """改派 by the window, which routed the application in the first place."""
    _routing_problem(services, body, (step.department for step in found.status.steps))
    action = RerouteInput(
        step_code=step_code, actor=clerk.actor(), department=body.department, reason=body.reason
    )
    return await _on_application(services, session, found, MatterWorkflow.reroute, action)


async def order(
    *, services: Services, session: AsyncSession, task: Task, user: StaffUser, body: OrderIn
) -> TaskView:
    """督办单 on a late (yellow or red) step, with the working days for the written answer."""
    action = SupervisionOrderInput(
        step_code=task.step.code, actor=user.actor(), working_days=body.working_days,
        demand=body.demand,
    )  # fmt: skip
    return await _on_task(services, session, task, MatterWorkflow.order, action)


async def answer_order(
    *,
    services: Services,
    session: AsyncSession,
    task: Task,
    user: StaffUser,
    order_no: int,
    body: OrderAnswerIn,
) -> TaskView:
    """督办答复: the department's written answer to an order on its task."""
    _acting_staff(user)
    action = OrderAnswerInput(
        step_code=task.step.code, actor=user.actor(), order_no=order_no, answer=body.answer
    )
    return await _on_task(services, session, task, MatterWorkflow.answer_order, action)


async def start_special(
    *, services: Services, session: AsyncSession, task: Task, user: StaffUser, body: SpecialIn
) -> TaskView:
    """特别程序 (Art 45) on the task: its clock and the matter's stop; the applicant is told."""
    _acting_staff(user)
    action = SpecialProcedureInput(
        step_code=task.step.code, actor=user.actor(), kind=body.kind,
        working_days=body.working_days, reason=body.reason,
    )  # fmt: skip
    return await _on_task(services, session, task, MatterWorkflow.start_special, action)


async def end_special(
    *, services: Services, session: AsyncSession, task: Task, user: StaffUser, body: SpecialEndIn
) -> TaskView:
    """End the task's special procedure with its outcome: the clocks run again."""
    _acting_staff(user)
    action = SpecialProcedureEndInput(
        step_code=task.step.code, actor=user.actor(), outcome=body.outcome
    )
    return await _on_task(services, session, task, MatterWorkflow.end_special, action)


async def verify(
    *, services: Services, session: AsyncSession, task: Task, user: StaffUser, body: VerificationIn
) -> TaskView:
    """核查结果 (告知承诺制) on a task decided on the applicant's commitment; the application
    is granted (closed) meanwhile, so this goes to the workflow without `_on_task`'s check."""
    _acting_staff(user)
    action = VerificationInput(
        step_code=task.step.code, actor=user.actor(), passed=body.passed, findings=body.findings
    )
    await _send(services, session, task.app.application_no, MatterWorkflow.verify, action)
    fresh = await reload_task(session, task)
    return task_view(fresh.step, fresh.app, services.tz, await services.clock(), services.catalogue)


async def pass_stage(
    *, services: Services, session: AsyncSession, task: Task, user: StaffUser, body: StagePassIn
) -> TaskView:
    """分级签署: the stage the task waits at is signed with its opinion and passed on to the
    next level, by a member of the department holding this stage's level."""
    _acting_staff(user)
    action = StagePassInput(step_code=task.step.code, actor=user.actor(), opinion=body.opinion)
    return await _on_task(services, session, task, MatterWorkflow.pass_stage, action)


async def send_back_stage(
    *,
    services: Services,
    session: AsyncSession,
    task: Task,
    user: StaffUser,
    body: StageSendBackIn,
) -> TaskView:
    """A stage after the first sends the task back one level, with the reason; the step's
    clock keeps running."""
    _acting_staff(user)
    action = StageSendBackInput(step_code=task.step.code, actor=user.actor(), reason=body.reason)
    return await _on_task(services, session, task, MatterWorkflow.send_back_stage, action)
