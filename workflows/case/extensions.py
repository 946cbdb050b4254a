"""延期: a department asks for more time, a supervisor grants it (or refuses it with a reason).

An extension is granted before the deadline, with a reason, within the matter's cap
(行政许可法 Art 42); asked after the deadline it is an overdue completion instead. The
matter's limits follow its most extended step.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.actions import ExtendInput, ExtensionRefusalInput, ExtensionRequestInput
from domain.application import ExtensionRequest, StepStatus
from domain.events import APPLICANT, SUPERVISORS, EventKind, department
from domain.reason import reason_problem
from domain.states import SlaLevel, StepState
from workflows.case import signoff
from workflows.case.core import Case, Transition
from workflows.case.guards import step_problem, supervising_step


def _extension_problem(
    case: Case, step: StepStatus, working_days: int, reason: str, now: datetime
) -> str | None:
    """What an extension of `step` by `working_days` may not be (granted or asked for)."""
    if not step.state.active:
        return f"该环节当前为“{step.state.label}”，不能延期"
    # From the ledger, not the stored deadline: a step paused for correction keeps time
    # in hand even when its old deadline has passed.
    out_of_time = step.clock is not None and step.clock.reading(
        case.calendar, now
    ).remaining <= timedelta(0)
    if step.sla_level.rank >= SlaLevel.red.rank or out_of_time:
        return "已超过办理期限，不能再申请延期（按逾期办结处理）"
    # Nor once the application itself is past its promised deadline (a step opened late):
    # extending its limits then would make an overdue completion look on time.
    if case.promised.reading(case.calendar, now).remaining <= timedelta(0):
        return "办件已超过承诺办结期限，不能再延期（按逾期办结处理）"
    if working_days < 1:
        return "延期天数至少为1个工作日"
    allowed = case.matter.max_extension_days - step.extension_days
    if working_days > allowed:
        most = case.matter.max_extension_days
        return f"延期超过本事项允许的上限（最多{most}个工作日，尚可延期{allowed}个）"
    return reason_problem(reason, "延期必须说明理由")


def _request_problem(case: Case, action: ExtensionRequestInput, now: datetime) -> str | None:
    problem = step_problem(case.status, action)
    if problem:
        return problem
    step = case.status.step(action.step_code)
    if step.extension_request is not None:
        return "该环节已有待审批的延期申请"
    if step.state is StepState.returned:
        return "该环节已退单，待改派后由承办部门申请延期"
    problem = signoff.holder_problem(case, action)
    if problem:
        return problem
    return _extension_problem(case, step, action.working_days, action.reason, now)


def _request(case: Case, action: ExtensionRequestInput, now: datetime) -> None:
    step = case.status.step(action.step_code)
    step.extension_request = ExtensionRequest(
        working_days=action.working_days,
        reason=action.reason.strip(),
        requested_by=action.actor,
        requested_at=now,
    )
    case.record(
        now,
        EventKind.extension_requested,
        action.actor,
        step.code,
        working_days=action.working_days,
        reason=action.reason.strip(),
    )
    case.notify(
        now,
        SUPERVISORS,
        "extension_requested",
        step_name=step.name,
        days=str(action.working_days),
    )


def _refuse_problem(case: Case, action: ExtensionRefusalInput, _now: datetime) -> str | None:
    problem = supervising_step(case.status, action, "只有监督管理人员可以审批延期申请")
    if problem:
        return problem
    if case.status.step(action.step_code).extension_request is None:
        return "该环节没有待审批的延期申请"
    return reason_problem(action.reason, "不予延期必须说明理由")


def _refuse(case: Case, action: ExtensionRefusalInput, now: datetime) -> None:
    step = case.status.step(action.step_code)
    request = step.extension_request
    step.extension_request = None
    case.record(
        now,
        EventKind.extension_refused,
        action.actor,
        step.code,
        requested_days=request.working_days if request else None,
        reason=action.reason.strip(),
    )
    case.notify(now, department(step.department), "extension_refused", step_name=step.name)


def _extend_problem(case: Case, action: ExtendInput, now: datetime) -> str | None:
    problem = supervising_step(case.status, action, "只有监督管理人员可以批准延期")
    if problem:
        return problem
    step = case.status.step(action.step_code)
    return _extension_problem(case, step, action.working_days, action.reason, now)


def _extend(case: Case, action: ExtendInput, now: datetime) -> None:
    step = case.status.step(action.step_code)
    assert step.clock is not None
    request, step.extension_request = step.extension_request, None
    before = step.clock.reading(case.calendar, now).deadline
    promised_before = case.promised.reading(case.calendar, now).deadline
    step.clock.extend(action.working_days)
    longest = max(s.clock.extension_days for s in case.status.steps if s.clock)
    case.promised.extend_to(longest)
    case.legal.extend_to(longest)
    after = step.clock.reading(case.calendar, now).deadline
    promised_after = case.promised.reading(case.calendar, now).deadline
    case.record(
        now,
        EventKind.extended,
        action.actor,
        step.code,
        working_days=action.working_days,
        reason=action.reason.strip(),
        requested_days=request.working_days if request else None,
        deadline_before=before.isoformat() if before else None,
        deadline_after=after.isoformat() if after else None,
        # The application's promised deadline moves only when this step's extension is the
        # longest: the provincial platform is told both, as they stand.
        promised_before=promised_before.isoformat() if promised_before else None,
        promised_after=promised_after.isoformat() if promised_after else None,
    )
    case.notify(
        now,
        APPLICANT,
        "extended",
        step_name=step.name,
        days=str(action.working_days),
        reason=action.reason.strip(),
    )
    case.notify(now, department(step.department), "extension_granted", step_name=step.name)


REQUEST = Transition(_request_problem, _request)
REFUSE = Transition(_refuse_problem, _refuse)
EXTEND = Transition(_extend_problem, _extend)
