"""特别程序 (行政许可法 Art 45): 听证、检验、检测、鉴定、专家评审 do not count toward the limits.

The department starts one on a step it holds, of a kind its definition allows, with the working
days it needs. The step's clock and the matter's stop through the very ledger mechanism a
correction uses (a pause on each clock), so the deadlines move by exactly the office time the
procedure took. The procedure has its own budget, a ledger clock with its own card (yellow by
the matter's warning policy, red past its days), and the applicant is told in writing what
runs and for how long. Ending it resumes the clocks, unless a correction still holds the
matter's. Procedures exist only in histories that received the update: old ones replay as
they were, without a patch.
"""

from __future__ import annotations

from datetime import datetime

from domain.actions import SpecialProcedureEndInput, SpecialProcedureInput
from domain.application import SpecialProcedure
from domain.clock import Clock
from domain.events import APPLICANT, SUPERVISORS, EventKind, department
from domain.reason import reason_problem
from domain.states import SlaLevel, StepState
from workflows.case import cards, signoff
from workflows.case.core import Case, Transition
from workflows.case.guards import decidable, step_problem

# The most working days one procedure may ask for (a hearing, an expert panel...): more is
# a matter for the definition's authors, not the department.
MAX_DAYS = 60
PAUSE = "special"


def _running(case: Case, step_code: str) -> SpecialProcedure | None:
    return next(
        (p for p in case.status.special_procedures if p.step_code == step_code and p.open), None
    )


def _start_problem(case: Case, action: SpecialProcedureInput, _now: datetime) -> str | None:
    problem = decidable(case.status, action) or signoff.holder_problem(case, action)
    if problem:
        return problem
    allowed = case.matter.step(action.step_code).special_procedures
    if action.kind not in allowed:
        names = "、".join(k.label for k in allowed) or "无"
        return f"本环节不适用{action.kind.label}（可启动的特别程序：{names}）"
    if not 1 <= action.working_days <= MAX_DAYS:
        return f"特别程序所需时间应为1至{MAX_DAYS}个工作日"
    return reason_problem(action.reason, "启动特别程序必须说明理由")


def _start(case: Case, action: SpecialProcedureInput, now: datetime) -> None:
    step = case.status.step(action.step_code)
    clock = Clock(started_at=now, limit_days=action.working_days)
    procedure = SpecialProcedure(
        procedure_no=len(case.status.special_procedures) + 1,
        step_code=step.code,
        kind=action.kind,
        working_days=action.working_days,
        reason=action.reason.strip(),
        started_by=action.actor,
        started_at=now,
        clock=clock,
        due=clock.reading(case.calendar, now).deadline,
    )
    case.status.special_procedures.append(procedure)
    step.state = StepState.special
    step.claimed_by = step.claimed_by or action.actor
    case.touch()
    if step.clock:
        step.clock.pause(now, PAUSE)
    case.promised.pause(now, PAUSE)  # a no-op if a correction stopped them already
    case.legal.pause(now, PAUSE)
    case.record(
        now, EventKind.special_started, action.actor, step.code, procedure=action.kind.value,
        working_days=action.working_days, reason=procedure.reason,
    )  # fmt: skip
    case.notify(
        now, APPLICANT, "special_started", step_name=step.name, procedure=action.kind.label,
        days=str(action.working_days), until=case.when(procedure.due),
    )  # fmt: skip


def _end_problem(case: Case, action: SpecialProcedureEndInput, _now: datetime) -> str | None:
    problem = step_problem(case.status, action)
    if problem:
        return problem
    procedure = _running(case, action.step_code)
    if procedure is None:
        return "该环节没有进行中的特别程序"
    step = case.status.step(action.step_code)
    if step.claimed_by and step.claimed_by.id != action.actor.id:
        return f"该环节由{step.claimed_by.name}签收办理"
    problem = signoff.holder_problem(case, action)
    if problem:
        return problem
    return reason_problem(action.outcome, "结束特别程序必须写明结果")


def _end(case: Case, action: SpecialProcedureEndInput, now: datetime) -> None:
    procedure = _running(case, action.step_code)
    assert procedure is not None  # checked by _end_problem
    procedure.outcome = action.outcome.strip()
    procedure.ended_by = action.actor
    procedure.ended_at = now
    step = case.status.step(action.step_code)
    step.state = StepState.claimed if step.claimed_by else StepState.open
    if step.clock:
        step.clock.resume(now)
    others = any(s.state is StepState.special for s in case.status.steps)
    # An open correction holds the clocks only where the matter says a correction stops
    # them (always so in the definitions recorded histories pinned: they replay unchanged).
    held = case.status.correction is not None and case.matter.supplement_pauses_clock
    if not held and not others:
        case.promised.resume(now)
        case.legal.resume(now)
    case.record(
        now, EventKind.special_ended, action.actor, step.code, procedure=procedure.kind.value,
        outcome=procedure.outcome,
    )  # fmt: skip
    case.notify(
        now, APPLICANT, "special_ended", step_name=step.name, procedure=procedure.kind.label
    )


def supervise(case: Case, now: datetime) -> None:
    """Raise the cards of running procedures that outlast (or near the end of) their days."""
    for procedure in case.status.special_procedures:
        if not procedure.open:
            continue
        reading = procedure.clock.reading(case.calendar, now)
        procedure.due = reading.deadline
        step = case.status.step(procedure.step_code)
        policy = case.matter.warning
        for level in cards.levels_due(procedure.sla_level, reading, policy, legal_over=False):
            procedure.sla_level = level
            case.record(
                now, EventKind.card_raised, step=step.code, level=level.value, scope="special",
                procedure_no=procedure.procedure_no,
            )  # fmt: skip
            to = [department(step.department)]
            if level is SlaLevel.red:
                to.append(SUPERVISORS)
            for recipient in to:
                case.notify(
                    now, recipient, f"special_{level.value}", step_name=step.name,
                    procedure=procedure.kind.label, deadline=case.when(procedure.due),
                )  # fmt: skip


def next_wake(case: Case, now: datetime) -> datetime | None:
    policy, calendar = case.matter.warning, case.calendar
    due = [
        cards.next_due(p.sla_level, p.clock.reading(calendar, now), policy, calendar, now)
        for p in case.status.special_procedures
        if p.open
    ]
    return min((d for d in due if d is not None), default=None)


START = Transition(_start_problem, _start)
END = Transition(_end_problem, _end)
