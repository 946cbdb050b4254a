"""Checks that many procedures share: the case is open, the step exists and is the actor's.

Each returns None when the action may go on, otherwise the reason in plain Chinese; the API
passes it on as the message of a 409 and the pages show it as it is.
"""

from __future__ import annotations

from domain.actions import StepAction
from domain.actors import Role
from domain.application import ApplicationStatus
from domain.states import ApplicationState, StepState

DEPARTMENT_ROLES = (Role.staff,)
APPLICANT_SIDE = (Role.applicant, Role.clerk)
SUPERVISING = (Role.supervisor, Role.admin)


def closed(status: ApplicationStatus) -> str | None:
    if status.state.final:
        return f"办件已{status.state.label.removeprefix('已')}，不能再办理"
    return None


def unknown_step(status: ApplicationStatus, code: str) -> str | None:
    if any(s.code == code for s in status.steps):
        return None
    return f"本事项没有环节 {code}"


def step_problem(status: ApplicationStatus, action: StepAction) -> str | None:
    """Common to department actions: the step exists, is the actor's and is theirs to act on."""
    problem = closed(status)
    if problem:
        return problem
    if status.state is ApplicationState.received:
        return "该申请尚未受理，部门暂不能办理"
    problem = unknown_step(status, action.step_code)
    if problem:
        return problem
    step = status.step(action.step_code)
    if action.actor.role not in DEPARTMENT_ROLES:
        return "只有承办部门工作人员可以办理该环节"
    if action.actor.department != step.department:
        return "该环节不属于您的部门，不能办理"
    if step.auto_pending:
        return "该环节正在按规则自动审批（秒批），请稍后再办理"
    return None


def decidable(status: ApplicationStatus, action: StepAction) -> str | None:
    """The department may decide the step now: it is in hand, and not someone else's."""
    problem = step_problem(status, action)
    if problem:
        return problem
    step = status.step(action.step_code)
    if step.state not in (StepState.open, StepState.claimed):
        return f"该环节当前为“{step.state.label}”，不能办理"
    if step.claimed_by and step.claimed_by.id != action.actor.id:
        return f"该环节已由{step.claimed_by.name}签收办理"
    return None


def supervising_step(status: ApplicationStatus, action: StepAction, only: str) -> str | None:
    """A supervisor's action on a step: `only` says who may take it."""
    problem = closed(status)
    if problem:
        return problem
    if action.actor.role not in SUPERVISING:
        return only
    return unknown_step(status, action.step_code)
