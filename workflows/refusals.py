"""Why an action may not be taken now: the checks behind every update validator.

Each function returns None when the action is allowed, otherwise the reason in plain Chinese;
the API passes it on as the message of a 409 and the pages show it as it is. They are run
twice: by the validator (a refused update leaves no history) and again by the handler, which
may run after a timer changed the state.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.actions import (
    AcceptInput,
    ApproveInput,
    CalendarChangedInput,
    ClaimInput,
    ExtendInput,
    ExtensionRefusalInput,
    ExtensionRequestInput,
    RefuseAcceptanceInput,
    RejectInput,
    ReleaseInput,
    StepAction,
    SupplementRequestInput,
    SupplyInput,
    WithdrawInput,
)
from domain.actors import Actor, Role
from domain.application import ApplicationStatus, StepStatus
from domain.calendar import WorkCalendar
from domain.fields import fields_problems
from domain.matter import MatterDefinition
from domain.states import ApplicationState, SlaLevel, StepState

_DEPARTMENT_ROLES = (Role.staff,)
_APPLICANT_SIDE = (Role.applicant, Role.clerk)
_SUPERVISING = (Role.supervisor, Role.admin)


def _closed(status: ApplicationStatus) -> str | None:
    if status.state.final:
        return f"办件已{status.state.label.removeprefix('已')}，不能再办理"
    return None


def _step_problem(status: ApplicationStatus, action: StepAction) -> str | None:
    """Common to department actions: the step exists, is the actor's and is theirs to act on."""
    closed = _closed(status)
    if closed:
        return closed
    if status.state is ApplicationState.received:
        return "该申请尚未受理，部门暂不能办理"
    try:
        step = status.step(action.step_code)
    except KeyError:
        return f"本事项没有环节 {action.step_code}"
    if action.actor.role not in _DEPARTMENT_ROLES:
        return "只有承办部门工作人员可以办理该环节"
    if action.actor.department != step.department:
        return "该环节不属于您的部门，不能办理"
    return None


def _decidable(status: ApplicationStatus, action: StepAction) -> str | None:
    problem = _step_problem(status, action)
    if problem:
        return problem
    step = status.step(action.step_code)
    if step.state not in (StepState.open, StepState.claimed):
        return f"该环节当前为“{step.state.label}”，不能办理"
    if step.claimed_by and step.claimed_by.id != action.actor.id:
        return f"该环节已由{step.claimed_by.name}签收办理"
    return None


def claim(status: ApplicationStatus, action: ClaimInput) -> str | None:
    problem = _step_problem(status, action)
    if problem:
        return problem
    step = status.step(action.step_code)
    if step.state is StepState.claimed:
        who = step.claimed_by.name if step.claimed_by else "他人"
        return "您已签收该环节" if step.claimed_by == action.actor else f"该环节已由{who}签收"
    if step.state is not StepState.open:
        return f"该环节当前为“{step.state.label}”，不能签收"
    return None


def release(status: ApplicationStatus, action: ReleaseInput) -> str | None:
    """The claimer hands a step back; a supervisor may take it back from an absent claimer."""
    supervising = action.actor.role in _SUPERVISING
    problem = _closed(status) if supervising else _step_problem(status, action)
    if problem:
        return problem
    try:
        step = status.step(action.step_code)
    except KeyError:
        return f"本事项没有环节 {action.step_code}"
    if step.state is not StepState.claimed or step.claimed_by is None:
        return "该环节未被签收，无需退回"
    if step.claimed_by.id != action.actor.id and not supervising:
        return f"该环节由{step.claimed_by.name}签收，只有签收人或监督管理人员可以退回"
    return None


def approve(
    status: ApplicationStatus, matter: MatterDefinition, action: ApproveInput, now: datetime
) -> str | None:
    problem = _decidable(status, action)
    if problem:
        return problem
    spec = matter.step(action.step_code)
    problems = fields_problems(spec.result_fields, action.result, today=now.date())
    if problems:
        labels = {f.code: f.label for f in spec.result_fields}
        return "办理结果填写有误：" + "；".join(
            f"{labels.get(code, code)}{msg}" for code, msg in problems.items()
        )
    return None


def reject(status: ApplicationStatus, action: RejectInput) -> str | None:
    problem = _decidable(status, action)
    if problem:
        return problem
    if len(action.reason.strip()) < 2:
        return "不予通过必须说明理由"
    return None


def request_supplement(status: ApplicationStatus, action: SupplementRequestInput) -> str | None:
    problem = _decidable(status, action)
    if problem:
        return problem
    items = [i.strip() for i in action.items if i.strip()]
    if not items:
        return "补正告知必须列明需要补正的材料或内容"
    if len(items) != len(set(items)):
        return "补正事项有重复"
    if len(action.reason.strip()) < 2:
        return "补正告知必须说明理由"
    return None


def supply(status: ApplicationStatus, action: SupplyInput) -> str | None:
    closed = _closed(status)
    if closed:
        return closed
    if action.actor.role not in _APPLICANT_SIDE:
        return "只有申请人或窗口工作人员可以提交补正材料"
    notice = status.correction
    if notice is None:
        return "当前没有需要补正的事项"
    given = {i.item for i in action.items}
    missing = [item for item in notice.items if item not in given]
    if missing:
        return f"补正材料不全，还缺：{'、'.join(missing)}"
    extra = sorted(given - set(notice.items))
    if extra:
        return f"以下内容不在补正告知中：{'、'.join(extra)}"
    return None


def _acceptance(status: ApplicationStatus, actor: Actor) -> str | None:
    closed = _closed(status)
    if closed:
        return closed
    if actor.role not in (Role.clerk, Role.admin):
        return "只有综合窗口工作人员可以作出受理决定"
    if status.state is not ApplicationState.received:
        return f"该申请当前为“{status.state.label}”，无需再作受理决定"
    return None


def accept(status: ApplicationStatus, action: AcceptInput) -> str | None:
    return _acceptance(status, action.actor)


def refuse_acceptance(status: ApplicationStatus, action: RefuseAcceptanceInput) -> str | None:
    problem = _acceptance(status, action.actor)
    if problem:
        return problem
    if len(action.reason.strip()) < 2:
        return "不予受理必须说明理由"
    return None


def withdraw(status: ApplicationStatus, action: WithdrawInput) -> str | None:
    closed = _closed(status)
    if closed:
        return closed
    if action.actor.role not in _APPLICANT_SIDE:
        return "只有申请人（或窗口代为）可以撤回申请"
    return None


def _extension_problem(
    step: StepStatus,
    matter: MatterDefinition,
    working_days: int,
    reason: str,
    now: datetime,
    calendar: WorkCalendar,
) -> str | None:
    """What an extension of `step` by `working_days` may not be (granted or asked for)."""
    if not step.state.active:
        return f"该环节当前为“{step.state.label}”，不能延期"
    # From the ledger, not the stored deadline: a step paused for correction keeps time
    # in hand even when its old deadline has passed.
    out_of_time = step.clock is not None and step.clock.reading(
        calendar, now
    ).remaining <= timedelta(0)
    if step.sla_level.rank >= SlaLevel.red.rank or out_of_time:
        return "已超过办理期限，不能再申请延期（按逾期办结处理）"
    if working_days < 1:
        return "延期天数至少为1个工作日"
    allowed = matter.max_extension_days - step.extension_days
    if working_days > allowed:
        most = matter.max_extension_days
        return f"延期超过本事项允许的上限（最多{most}个工作日，尚可延期{allowed}个）"
    if len(reason.strip()) < 2:
        return "延期必须说明理由"
    return None


def extend(
    status: ApplicationStatus,
    matter: MatterDefinition,
    action: ExtendInput,
    now: datetime,
    calendar: WorkCalendar,
) -> str | None:
    closed = _closed(status)
    if closed:
        return closed
    if action.actor.role not in _SUPERVISING:
        return "只有监督管理人员可以批准延期"
    try:
        step = status.step(action.step_code)
    except KeyError:
        return f"本事项没有环节 {action.step_code}"
    return _extension_problem(step, matter, action.working_days, action.reason, now, calendar)


def request_extension(
    status: ApplicationStatus,
    matter: MatterDefinition,
    action: ExtensionRequestInput,
    now: datetime,
    calendar: WorkCalendar,
) -> str | None:
    problem = _step_problem(status, action)
    if problem:
        return problem
    step = status.step(action.step_code)
    if step.extension_request is not None:
        return "该环节已有待审批的延期申请"
    return _extension_problem(step, matter, action.working_days, action.reason, now, calendar)


def refuse_extension(status: ApplicationStatus, action: ExtensionRefusalInput) -> str | None:
    closed = _closed(status)
    if closed:
        return closed
    if action.actor.role not in _SUPERVISING:
        return "只有监督管理人员可以审批延期申请"
    try:
        step = status.step(action.step_code)
    except KeyError:
        return f"本事项没有环节 {action.step_code}"
    if step.extension_request is None:
        return "该环节没有待审批的延期申请"
    if len(action.reason.strip()) < 2:
        return "不予延期必须说明理由"
    return None


def calendar_changed(status: ApplicationStatus, action: CalendarChangedInput) -> str | None:
    closed = _closed(status)
    if closed:
        return closed
    if action.actor.role not in (*_SUPERVISING, Role.system):
        return "只有管理人员可以更新工作日历"
    if action.calendar.code != status.calendar_code:
        return f"办件使用的是 {status.calendar_code} 日历，不能换成 {action.calendar.code}"
    if action.calendar.version == status.calendar_version:
        return "日历没有变化"
    return None
