"""撤回: the applicant (or the window on their behalf) withdraws an open application."""

from __future__ import annotations

from datetime import datetime

from domain.actions import WithdrawInput
from domain.events import EventKind
from domain.reason import remark_problem
from domain.states import ApplicationState
from workflows.case.core import Case, Transition
from workflows.case.guards import APPLICANT_SIDE, closed


def _withdraw_problem(case: Case, action: WithdrawInput, _now: datetime) -> str | None:
    problem = closed(case.status) or remark_problem(action.reason)
    if problem:
        return problem
    if action.actor.role not in APPLICANT_SIDE:
        return "只有申请人（或窗口代为）可以撤回申请"
    return None


def _withdraw(case: Case, action: WithdrawInput, now: datetime) -> None:
    case.finish(now, ApplicationState.withdrawn, action.reason.strip() or None)
    case.record(now, EventKind.withdrawn, action.actor, reason=action.reason)


WITHDRAW = Transition(_withdraw_problem, _withdraw)
