"""补正: a department asks the applicant for more, and the applicant answers.

All open requests of all steps go to the applicant in one notice (一次性告知, 行政许可法
Art 32); a request while a notice is open joins it, so repeated requests never restart the
clock. Whether the clock stops while the applicant owes an answer is a flag of the matter.

补正期限: a matter may give the applicant `correction_answer_days` working days to answer;
the notice says until when, and past it the application is terminated (终止) with notice to
the applicant and to the departments. The deadline counts from the notice's last request.
"""

from __future__ import annotations

from datetime import datetime

from domain.actions import SupplementRequestInput, SupplyInput
from domain.application import CorrectionNotice, CorrectionRequest
from domain.clock import Clock
from domain.events import APPLICANT, EventKind, department
from domain.reason import reason_problem, remark_problem
from domain.states import ApplicationState, StepState
from workflows.case.core import Case, Transition
from workflows.case.guards import APPLICANT_SIDE, closed, decidable


def _request_problem(case: Case, action: SupplementRequestInput, _now: datetime) -> str | None:
    problem = decidable(case.status, action)
    if problem:
        return problem
    items = [i.strip() for i in action.items if i.strip()]
    if not items:
        return "补正告知必须列明需要补正的材料或内容"
    if len(items) != len(set(items)):
        return "补正事项有重复"
    return reason_problem(action.reason, "补正告知必须说明理由")


def _request(case: Case, action: SupplementRequestInput, now: datetime) -> None:
    step = case.status.step(action.step_code)
    step.state = StepState.correction
    step.claimed_by = step.claimed_by or action.actor
    case.touch()
    request = CorrectionRequest(
        step_code=step.code,
        items=[i.strip() for i in action.items if i.strip()],
        reason=action.reason.strip(),
        requested_by=action.actor,
        requested_at=now,
    )
    notice = case.status.correction
    if notice is None:
        notice = CorrectionNotice(
            notice_no=len(case.status.corrections) + 1, opened_at=now, requests=[]
        )
        case.status.corrections.append(notice)
        case.status.state = ApplicationState.correction
        if case.matter.supplement_pauses_clock:
            case.promised.pause(now, "correction")
            case.legal.pause(now, "correction")
    notice.requests.append(request)
    days = case.matter.correction_answer_days
    if days and case.answer_deadlines:
        notice.answer_clock = Clock(started_at=now, limit_days=days)
        notice.answer_due = notice.answer_clock.reading(case.calendar, now).deadline
    if case.matter.supplement_pauses_clock and step.clock:
        step.clock.pause(now, "correction")
    case.record(
        now,
        EventKind.correction_requested,
        action.actor,
        step.code,
        notice_no=notice.notice_no,
        items=request.items,
        reason=request.reason,
    )
    items = "；".join(notice.items)
    if notice.answer_due:
        due = case.when(notice.answer_due)
        case.notify(
            now,
            APPLICANT,
            "correction_due",
            notice_no=str(notice.notice_no),
            items=items,
            answer_due=due,
        )
    else:
        case.notify(now, APPLICANT, "correction", notice_no=str(notice.notice_no), items=items)


def _supply_problem(case: Case, action: SupplyInput, _now: datetime) -> str | None:
    status = case.status
    problem = closed(status) or remark_problem(action.note)
    if problem:
        return problem
    if action.actor.role not in APPLICANT_SIDE:
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


def _supply(case: Case, action: SupplyInput, now: datetime) -> None:
    notice = case.status.correction
    assert notice is not None  # checked by _supply_problem
    notice.answered_at = now
    notice.supplied = list(action.items)
    case.status.state = ApplicationState.in_progress
    # A special procedure (Art 45) on another step keeps the matter's clocks stopped.
    if not any(s.state is StepState.special for s in case.status.steps):
        case.promised.resume(now)
        case.legal.resume(now)
    for step in case.status.steps:
        if step.state is StepState.correction:
            step.state = StepState.claimed if step.claimed_by else StepState.open
            if step.clock:
                step.clock.resume(now)
            case.notify(now, department(step.department), "supplied", step_name=step.name)
    case.record(
        now,
        EventKind.correction_supplied,
        action.actor,
        notice_no=notice.notice_no,
        items=[i.model_dump(mode="json") for i in action.items],
        note=action.note,
    )


def answer_due(case: Case) -> datetime | None:
    """When the open notice lapses unanswered (None: it has no deadline)."""
    notice = case.status.correction
    return notice.answer_due if notice else None


def lapse_if_due(case: Case, now: datetime) -> bool:
    """Terminate the application if its correction deadline passed unanswered."""
    notice = case.status.correction
    if notice is None or notice.answer_due is None or now < notice.answer_due:
        return False
    due = case.when(notice.answer_due)
    opened = [s for s in case.status.steps if s.opened_at]
    reason = f"未在补正期限（{due}）内提交补正材料"
    case.finish(now, ApplicationState.terminated, reason)
    case.record(now, EventKind.correction_lapsed, notice_no=notice.notice_no, answer_due=due)
    case.notify(now, APPLICANT, "terminated", reason=reason)
    for code in dict.fromkeys(s.department for s in opened):
        case.notify(now, department(code), "correction_lapsed")
    return True


REQUEST = Transition(_request_problem, _request)
SUPPLY = Transition(_supply_problem, _supply)
