"""A department's work on its step: claim (签收), hand back, approve with results, reject.

One reasoned rejection refuses the whole application and cancels the other open steps
(一家否决); the last approval grants it.
"""

from __future__ import annotations

from datetime import datetime

from domain.actions import ApproveInput, ClaimInput, RejectInput, ReleaseInput
from domain.actors import Actor
from domain.events import APPLICANT, EventKind
from domain.fields import FieldValue, fields_problems
from domain.reason import reason_problem, remark_problem
from domain.states import ApplicationState, StepState
from workflows.case import signoff
from workflows.case.core import Case, Transition
from workflows.case.guards import SUPERVISING, closed, decidable, step_problem, unknown_step


def _claim_problem(case: Case, action: ClaimInput, _now: datetime) -> str | None:
    problem = step_problem(case.status, action)
    if problem:
        return problem
    step = case.status.step(action.step_code)
    if step.state is StepState.claimed:
        who = step.claimed_by.name if step.claimed_by else "他人"
        return "您已签收该环节" if step.claimed_by == action.actor else f"该环节已由{who}签收"
    if step.state is not StepState.open:
        return f"该环节当前为“{step.state.label}”，不能签收"
    return signoff.stage_problem(case, action)


def _claim(case: Case, action: ClaimInput, now: datetime) -> None:
    step = case.status.step(action.step_code)
    step.state = StepState.claimed
    step.claimed_by = action.actor
    case.touch()
    case.record(now, EventKind.claimed, action.actor, step.code)


# A step may be taken from its claimer also while it waits (a correction, a special
# procedure): only the claimer may end a procedure or take the step back after the answer,
# so an absent claimer would otherwise hold the application, its clocks stopped, for good.
_HELD = (StepState.claimed, StepState.correction, StepState.special)


def _release_problem(case: Case, action: ReleaseInput, _now: datetime) -> str | None:
    """The claimer hands a step back; a supervisor may take it back from an absent claimer.
    A waiting step stays waiting, its department's to carry on with."""
    supervising = action.actor.role in SUPERVISING
    status = case.status
    if supervising:
        problem = closed(status) or unknown_step(status, action.step_code)
    else:
        problem = step_problem(status, action)
    if problem:
        return problem
    step = status.step(action.step_code)
    if step.state not in _HELD or step.claimed_by is None:
        return "该环节未被签收，无需退回"
    if step.claimed_by.id != action.actor.id and not supervising:
        return f"该环节由{step.claimed_by.name}签收，只有签收人或监督管理人员可以退回"
    return None


def _release(case: Case, action: ReleaseInput, now: datetime) -> None:
    step = case.status.step(action.step_code)
    if step.state is StepState.claimed:
        step.state = StepState.open
    step.claimed_by = None
    case.record(now, EventKind.released, action.actor, step.code)


def _decide(case: Case, now: datetime, code: str, actor: Actor, state: StepState) -> None:
    step = case.status.step(code)
    step.state = state
    step.claimed_by = step.claimed_by or actor
    step.decided_by = actor
    step.decided_at = now
    case.touch()


def _approve_problem(case: Case, action: ApproveInput, now: datetime) -> str | None:
    problem = (
        decidable(case.status, action)
        or signoff.decision_problem(case, action)
        or remark_problem(action.comment)
    )
    if problem:
        return problem
    spec = case.matter.step(action.step_code)
    # "Today" is the centre's day, as the API counts it, not the UTC date.
    today = case.calendar.local(now).date()
    problems = fields_problems(spec.result_fields, action.result, today=today)
    if problems:
        labels = {f.code: f.label for f in spec.result_fields}
        return "办理结果填写有误：" + "；".join(
            f"{labels.get(code, code)}{msg}" for code, msg in problems.items()
        )
    return None


def _approve(case: Case, action: ApproveInput, now: datetime) -> None:
    approve_step(case, now, action.step_code, action.actor, dict(action.result), action.comment)


def approve_step(
    case: Case, now: datetime, code: str, actor: Actor, result: dict[str, FieldValue], comment: str
) -> None:
    """The step approved with its results (by its department, or by 秒批's rules)."""
    _decide(case, now, code, actor, StepState.approved)
    step = case.status.step(code)
    step.result = result
    case.record(now, EventKind.approved, actor, step.code, result=step.result, comment=comment)
    case.open_ready_steps(now)
    case.complete_if_done(now)


def _reject_problem(case: Case, action: RejectInput, _now: datetime) -> str | None:
    return (
        decidable(case.status, action)
        or signoff.decision_problem(case, action)
        or reason_problem(action.reason, "不予通过必须说明理由")
    )


def _reject(case: Case, action: RejectInput, now: datetime) -> None:
    reject_step(case, now, action.step_code, action.actor, action.reason.strip())


def reject_step(case: Case, now: datetime, code: str, actor: Actor, reason: str) -> None:
    """One reasoned rejection refuses the application (by its department, or by 秒批)."""
    _decide(case, now, code, actor, StepState.rejected)
    step = case.status.step(code)
    step.reason = reason
    case.record(now, EventKind.rejected, actor, step.code, reason=step.reason)
    case.finish(now, ApplicationState.refused, step.reason)
    case.record(now, EventKind.refused, actor, step.code, reason=step.reason)
    case.notify(now, APPLICANT, "refused", step_name=step.name, reason=step.reason)


CLAIM = Transition(_claim_problem, _claim)
RELEASE = Transition(_release_problem, _release)
APPROVE = Transition(_approve_problem, _approve)
REJECT = Transition(_reject_problem, _reject)
