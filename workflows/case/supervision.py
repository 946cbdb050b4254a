"""Electronic supervision of one case: raise the cards that are due and act on them.

The rules of which card is due and when are `cards`; this module applies them to the matter
and its steps: it records each card, warns the department, escalates a red or serious step,
and deems an opinion-only step approved when its department stays silent past its deadline
(逾期未反馈视为同意). It also says when the workflow must next wake up to look again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.application import StepStatus
from domain.clock import ClockReading
from domain.events import SUPERVISORS, WINDOW, EventKind, department
from domain.matter import OnOverdue
from domain.states import ApplicationState, SlaLevel, StepState
from workflows.case import (
    acceptance,
    cards,
    commitment,
    corrections,
    delivery,
    orders,
    pushes,
    special_procedures,
    tolerance,
)
from workflows.case.core import Case


def supervise(case: Case, now: datetime) -> None:
    """Raise every card that is due, once each, and act on overdue steps."""
    if case.status.state.final:
        if case.pledges:  # materials accepted missing, verifications: after the grant too
            tolerance.supervise(case, now)
            commitment.supervise(case, now)
        if case.status.state is ApplicationState.granted:
            delivery.supervise(case, now)  # a granted result still has to reach the applicant
        return
    if case.status.state is ApplicationState.received and not acceptance.deem_accepted_if_due(
        case, now
    ):
        return
    if corrections.lapse_if_due(case, now):
        return
    if case.status.accepted_at is None:
        return  # a correction asked before acceptance: no clock runs yet
    if case.pledges and tolerance.lapse_if_due(case, now):
        return
    legal = case.legal.reading(case.calendar, now)
    legal_over = not case.legal.paused and legal.remaining <= timedelta(0)
    promised = case.promised.reading(case.calendar, now)
    policy = case.matter.warning
    for level in cards.levels_due(case.own_card, promised, policy, legal_over=legal_over):
        case.own_card = level
        case.record(now, EventKind.card_raised, level=level.value, scope="matter")
        case.notify(now, SUPERVISORS, f"matter_{level.value}")
    for step in case.status.steps:
        if step.state.active and step.clock:
            reading = step.clock.reading(case.calendar, now)
            _remind(case, now, step, reading)
            _supervise_step(case, now, step, reading, legal_over)
    pushes.supervise(case, now)
    orders.supervise(case, now)
    special_procedures.supervise(case, now)
    if case.pledges:
        tolerance.supervise(case, now)
    case.open_ready_steps(now)
    case.complete_if_done(now)
    case.refresh(now)


def _supervise_step(
    case: Case, now: datetime, step: StepStatus, reading: ClockReading, legal_over: bool
) -> None:
    policy = case.matter.warning
    returned = step.state is StepState.returned and case.returned_to_routing
    # 退单待改派: the department gave the step back and nobody holds it; its clock runs
    # on (the applicant's promise holds), so its cards, and a deemed consent when its
    # limit passes, reach those who must reroute it rather than that department.
    told = [SUPERVISORS, WINDOW] if returned else [department(step.department)]
    deemable = case.matter.step(step.code).on_overdue is OnOverdue.deem_approved
    # A step awaiting the applicant's correction cannot be decided (a matter whose
    # corrections do not stop the clock): its silence is not the department's (engine 5).
    held_back = case.deems_on_own_clock and step.state is StepState.correction
    for level in cards.levels_due(step.sla_level, reading, policy, legal_over=legal_over):
        step.sla_level = level
        case.record(now, EventKind.card_raised, step=step.code, level=level.value, scope="step")
        if level is SlaLevel.red and deemable and not held_back:
            _deem(case, now, step, told)
            return
        if returned:
            for recipient in told:
                case.notify(now, recipient, f"step_{level.value}", step_name=step.name)
        elif level is SlaLevel.yellow:
            case.notify(now, department(step.department), "step_yellow", step_name=step.name)
        else:
            _escalate(case, now, step, level)
    # Its own clock out, whatever card it holds already (the legal limit's serious card may
    # have come first), or back in hand from a correction past its limit (engine 5).
    overdue = reading.remaining <= timedelta(0)
    if case.deems_on_own_clock and deemable and overdue and _in_hand(step, reading):
        _deem(case, now, step, told)


def _in_hand(step: StepStatus, reading: ClockReading) -> bool:
    """The step's clock runs and its department may decide it: silence can become consent."""
    return step.state is not StepState.correction and reading.running_since is not None


def _deem_wakes(case: Case, now: datetime) -> list[datetime]:
    """The deadlines of opinion-only steps in hand, whatever card they hold (a step holding
    the legal limit's serious card earns no other, so its cards set no wake for it)."""
    wakes = []
    for step in case.status.steps:
        spec = case.matter.step(step.code)
        if not (step.clock and step.state.active and spec.on_overdue is OnOverdue.deem_approved):
            continue
        reading = step.clock.reading(case.calendar, now)
        if _in_hand(step, reading) and reading.deadline and reading.deadline > now:
            wakes.append(reading.deadline)
    return wakes


def _deem(case: Case, now: datetime, step: StepStatus, told: list[str]) -> None:
    """视为同意: the department stayed silent past its deadline."""
    step.state = StepState.deemed_approved
    step.decided_at = now
    case.record(now, EventKind.deemed_approved, step=step.code)
    for recipient in told:
        case.notify(now, recipient, "step_deemed", step_name=step.name)


def _remind(case: Case, now: datetime, step: StepStatus, reading: ClockReading) -> None:
    """预警提醒: the department (and whoever claimed the step) a day before its deadline."""
    if not case.delivers or step.reminded or not cards.reminder_due(reading, case.calendar):
        return
    if step.state is StepState.returned and case.returned_to_routing:
        return  # no department holds it: its cards reach the routing (_supervise_step)
    step.reminded = True
    deadline = case.when(reading.deadline)
    to = [department(step.department)]
    if step.claimed_by is not None:
        to.append(step.claimed_by.id)
    for recipient in to:
        case.notify(now, recipient, "reminder", step_name=step.name, deadline=deadline)


def _escalate(case: Case, now: datetime, step: StepStatus, level: SlaLevel) -> None:
    """督办: up the chain (department head, then the leader in charge) and to supervisors."""
    to = cards.escalation(level, step.department)
    case.record(now, EventKind.escalated, step=step.code, level=level.value, to=to)
    for recipient in to:
        case.notify(now, recipient, f"step_{level.value}", step_name=step.name)


def next_wake(case: Case, now: datetime) -> datetime | None:
    """The earliest instant at which some card may become due."""
    if case.status.state.final:
        granted = case.status.state is ApplicationState.granted
        wakes = [delivery.next_wake(case, now)] if granted else []  # not once revoked
        if case.pledges:
            wakes += [tolerance.next_wake(case, now), commitment.next_wake(case, now)]
        return min((w for w in wakes if w is not None), default=None)
    if case.status.state is ApplicationState.received:
        return case.status.acceptance_due
    if case.status.accepted_at is None:  # a correction asked before acceptance
        return corrections.answer_due(case)
    policy = case.matter.warning
    clocks = [(case.promised, case.own_card)]
    clocks += [(s.clock, s.sla_level) for s in case.status.steps if s.clock and s.state.active]
    candidates = [
        cards.next_due(held, clock.reading(case.calendar, now), policy, case.calendar, now)
        for clock, held in clocks
    ]
    if case.deems_on_own_clock:
        candidates += _deem_wakes(case, now)
    candidates.append(pushes.next_wake(case))
    candidates.append(corrections.answer_due(case))
    candidates.append(orders.next_wake(case, now))
    candidates.append(special_procedures.next_wake(case, now))
    if case.pledges:
        candidates.append(tolerance.next_wake(case, now))
    if case.delivers:
        candidates += [
            cards.reminder_at(s.clock.reading(case.calendar, now), case.calendar, now)
            for s in case.status.steps
            if s.clock and s.state.active and not s.reminded
        ]
    if not case.legal.paused and case.own_card.rank < SlaLevel.serious.rank:
        candidates.append(case.legal.reading(case.calendar, now).deadline)
    return min((c for c in candidates if c is not None), default=None)
