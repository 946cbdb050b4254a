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
from typing import Any

from domain.actions import AcceptanceCorrectionInput, SupplementRequestInput, SupplyInput
from domain.actors import Actor
from domain.application import BEFORE_ACCEPTANCE, CorrectionNotice, CorrectionRequest
from domain.clock import Clock
from domain.events import APPLICANT, WINDOW, EventKind, department
from domain.reason import reason_problem, remark_problem
from domain.states import ApplicationState, StepState
from workflows.case import signoff
from workflows.case.acceptance import decision_problem
from workflows.case.core import Case, Transition
from workflows.case.guards import APPLICANT_SIDE, closed, decidable


def _items_problem(items: list[str], reason: str) -> str | None:
    given = [i.strip() for i in items if i.strip()]
    if not given:
        return "补正告知必须列明需要补正的材料或内容"
    if len(given) != len(set(given)):
        return "补正事项有重复"
    return reason_problem(reason, "补正告知必须说明理由")


def _request_problem(case: Case, action: SupplementRequestInput, _now: datetime) -> str | None:
    return (
        decidable(case.status, action)
        or signoff.holder_problem(case, action)
        or _items_problem(action.items, action.reason)
    )


def _request(case: Case, action: SupplementRequestInput, now: datetime) -> None:
    step = case.status.step(action.step_code)
    step.state = StepState.correction
    step.claimed_by = step.claimed_by or action.actor
    case.touch()
    pauses = case.matter.supplement_pauses_clock
    _ask(case, now, action.actor, step.code, action.items, action.reason, pauses=pauses)
    if pauses and step.clock:
        step.clock.pause(now, "correction")


def _window_problem(case: Case, action: AcceptanceCorrectionInput, _now: datetime) -> str | None:
    if not case.knows_before_acceptance:
        return "该申请提交于受理前补正启用之前，请作出受理或不予受理的决定"
    problem = decision_problem(case.status, action.actor)
    if problem:
        return problem
    asked = (r for n in case.status.corrections for r in n.requests)
    if any(r.step_code == BEFORE_ACCEPTANCE for r in asked):
        # 一次性告知: everything at once; a second notice would also stop the acceptance
        # period again, and again, where the law gives the window five working days.
        return "受理前补正已一次性告知过，请作出受理或不予受理的决定"
    return _items_problem(action.items, action.reason)


def _window(case: Case, action: AcceptanceCorrectionInput, now: datetime) -> None:
    """受理前补正: no clock runs yet; the acceptance period stops until the answer, which
    begins a new one (Art 32: the materials complete, the window decides within five
    working days, or the application is accepted by law)."""
    case.status.acceptance_due = None
    _ask(case, now, action.actor, BEFORE_ACCEPTANCE, action.items, action.reason, pauses=False)


def _ask(
    case: Case,
    now: datetime,
    actor: Actor,
    step_code: str,
    items: list[str],
    reason: str,
    *,
    pauses: bool,
) -> None:
    """The request joins the open notice (一次性告知), or opens one, and the applicant is told
    everything the notice asks."""
    request = CorrectionRequest(
        step_code=step_code,
        items=[i.strip() for i in items if i.strip()],
        reason=reason.strip(),
        requested_by=actor,
        requested_at=now,
    )
    notice = case.status.correction
    if notice is None:
        notice = CorrectionNotice(
            notice_no=len(case.status.corrections) + 1, opened_at=now, requests=[]
        )
        case.status.corrections.append(notice)
        case.status.state = ApplicationState.correction
        if pauses:
            case.promised.pause(now, "correction")
            case.legal.pause(now, "correction")
    notice.requests.append(request)
    days = case.matter.correction_answer_days
    if days and case.answer_deadlines:
        notice.answer_clock = Clock(started_at=now, limit_days=days)
        notice.answer_due = notice.answer_clock.reading(case.calendar, now).deadline
    case.record(
        now,
        EventKind.correction_requested,
        actor,
        step_code or None,
        notice_no=notice.notice_no,
        items=request.items,
        reason=request.reason,
    )
    kind = "correction" if case.status.accepted_at else "acceptance_correction"
    number, asked = str(notice.notice_no), "；".join(notice.items)
    if notice.answer_due:
        due = case.when(notice.answer_due)
        case.notify(now, APPLICANT, f"{kind}_due", notice_no=number, items=asked, answer_due=due)
    else:
        case.notify(now, APPLICANT, kind, notice_no=number, items=asked)


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
    record: dict[str, Any] = {
        "notice_no": notice.notice_no,
        "items": [i.model_dump(mode="json") for i in action.items],
        "note": action.note,
    }
    if case.status.accepted_at is None:
        # Answered before acceptance: the window decides again, within a new period.
        case.status.state = ApplicationState.received
        due = case.acceptance_period_end(now)
        case.status.acceptance_due = due
        case.record(now, EventKind.correction_supplied, action.actor, **record)
        case.notify(now, WINDOW, "acceptance_supplied", acceptance_due=case.when(due))
        return
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
    case.record(now, EventKind.correction_supplied, action.actor, **record)


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
BEFORE_ACCEPTANCE_REQUEST = Transition(_window_problem, _window)
SUPPLY = Transition(_supply_problem, _supply)
