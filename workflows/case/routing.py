"""退单/改派: a department sends a step back as not its business; it is given to another.

*Our choice on the clock:* a returned step's clock keeps running, and the step keeps its
limit when it is re-routed. The applicant was promised a date for the matter (docs/domain.md):
a misrouted task is the centre's delay, not the applicant's, so nothing stops the promise or
the step's deadline. The timeline keeps both the return and the re-route, each with its
department and reason; the new department finds the task in its inbox, with its deadline.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from domain.actions import RerouteInput, ReturnStepInput
from domain.actors import Role
from domain.application import TaskPush
from domain.events import SUPERVISORS, WINDOW, EventKind, department
from domain.reason import reason_problem, remark_problem
from domain.states import StepState
from workflows.case import orders, signoff
from workflows.case.core import Case, Transition
from workflows.case.guards import SUPERVISING, closed, step_problem, unknown_step

# Who may re-route: the supervisors, and the window that routed the application in the first
# place (前台综合受理).
ROUTING = (*SUPERVISING, Role.clerk)
# A department's code as definitions spell it (whether it exists is the API's to check).
_DEPARTMENT_CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")


def _return_problem(case: Case, action: ReturnStepInput, _now: datetime) -> str | None:
    problem = step_problem(case.status, action)
    if problem:
        return problem
    step = case.status.step(action.step_code)
    if step.state not in (StepState.open, StepState.claimed):
        return f"该环节当前为“{step.state.label}”，不能退单"
    if step.claimed_by and step.claimed_by.id != action.actor.id:
        return f"该环节已由{step.claimed_by.name}签收，只有签收人可以退单"
    if step.extension_request is not None:
        return "该环节有待审批的延期申请，不能退单"
    problem = signoff.holder_problem(case, action)
    if problem:
        return problem
    return reason_problem(action.reason, "退单必须说明理由（为何不属于本部门）")


def _return(case: Case, action: ReturnStepInput, now: datetime) -> None:
    step = case.status.step(action.step_code)
    reason = action.reason.strip()
    step.state = StepState.returned
    step.claimed_by = None
    step.returned_reason = reason
    step.push = None  # the task left the department: its system no longer needs it
    case.record(
        now, EventKind.step_returned, action.actor, step.code, department=step.department,
        reason=reason,
    )  # fmt: skip
    for recipient in (SUPERVISORS, WINDOW):
        case.notify(
            now, recipient, "step_returned", step_name=step.name, department=step.department,
            reason=reason,
        )  # fmt: skip


def _reroute_problem(case: Case, action: RerouteInput, _now: datetime) -> str | None:
    status = case.status
    problem = closed(status) or unknown_step(status, action.step_code)
    if problem:
        return problem
    if action.actor.role not in ROUTING:
        return "只有监督管理人员或综合窗口可以改派"
    step = status.step(action.step_code)
    if step.state is not StepState.returned:
        return f"该环节当前为“{step.state.label}”，只有退单的环节可以改派"
    if not _DEPARTMENT_CODE.fullmatch(action.department):
        return "请选择承办部门"
    if action.department == step.department:
        return "该部门刚刚退单，请改派给其他部门"
    return remark_problem(action.reason)


def _reroute(case: Case, action: RerouteInput, now: datetime) -> None:
    step = case.status.step(action.step_code)
    before = step.department
    step.department = action.department
    step.state = StepState.open
    step.reminded = False  # the new department has not been reminded of anything
    stages = case.matter.step(step.code).stages
    if stages:  # 分级签署: the new department signs its own levels, from the first
        signoff.enter(step, stages[0])
    case.record(
        now, EventKind.step_rerouted, action.actor, step.code, department_before=before,
        department=action.department, reason=action.reason.strip(),
    )  # fmt: skip
    connector = case.app.connectors.get(step.department)
    if connector is not None and case.delivers:
        step.push = TaskPush(due=now + timedelta(minutes=connector.alarm_after_minutes))
        case.pushes.append(step.code)
    deadline = step.clock.reading(case.calendar, now).deadline if step.clock else None
    case.notify(
        now, department(step.department), "task_rerouted", step_name=step.name,
        deadline=case.when(deadline), department=before,
    )  # fmt: skip
    if case.orders_follow_steps:
        orders.follow_step(case, now, step)


RETURN = Transition(_return_problem, _return)
REROUTE = Transition(_reroute_problem, _reroute)
