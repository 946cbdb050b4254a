"""受理: receiving an application, accepting it (or deeming it accepted), refusing it.

An application submitted online is received (收件) and no clock runs until the window
decides. 行政许可法 Art 32: one not refused nor sent back for correction within five working
days of receipt counts as accepted from the day it was received. At the window the decision
is made on the spot, either way, and recorded by the same transitions.
"""

from __future__ import annotations

from datetime import datetime

from domain.actions import AcceptInput, RefuseAcceptanceInput
from domain.actors import SYSTEM, Actor, Role
from domain.application import ApplicationStatus, Tolerance
from domain.clock import Clock
from domain.events import APPLICANT, WINDOW, EventKind
from domain.reason import reason_problem
from domain.states import ApplicationState
from workflows.case import commitment, tolerance
from workflows.case.core import Case, Transition
from workflows.case.guards import closed


def receive(case: Case, now: datetime) -> None:
    """收件: submitted online; the window decides on acceptance, no clock runs yet."""
    due = case.acceptance_period_end(now)
    case.status.acceptance_due = due
    case.record(
        now,
        EventKind.received,
        case.app.accepted_by,
        channel=case.app.channel.value,
        materials=[m.model_dump(mode="json") for m in case.app.materials],
        calendar=case.calendar.snapshot.version,
        acceptance_due=due.isoformat(),
    )
    case.notify(now, APPLICANT, "received", acceptance_due=case.when(due))
    case.notify(now, WINDOW, "application_received")


def start(
    case: Case,
    now: datetime,
    actor: Actor | None = None,
    *,
    since: datetime | None = None,
    kind: EventKind = EventKind.accepted,
    missing: Tolerance | None = None,
) -> None:
    """受理: the clocks start (at `since` when acceptance is deemed from receipt); with
    materials accepted missing (容缺受理) and, if the applicant chose it, decided on the
    commitment (告知承诺制)."""
    begin = since or now
    if case.status.state is ApplicationState.received:
        exact = case.exact_clocks
        case.promised = Clock(
            started_at=begin, limit_days=case.matter.promised_limit_days, exact=exact
        )
        case.legal = Clock(started_at=begin, limit_days=case.matter.legal_limit_days, exact=exact)
        case.status.state = ApplicationState.accepted
        case.status.accepted_at = begin
        case.status.acceptance_due = None
    case.record(
        now,
        kind,
        actor or case.app.accepted_by,
        channel=case.app.channel.value,
        materials=[m.model_dump(mode="json") for m in case.app.materials],
        calendar=case.calendar.snapshot.version,
    )
    deadline = case.promised.reading(case.calendar, case.promised.started_at).deadline
    case.notify(now, APPLICANT, "accepted", deadline=case.when(deadline))
    if case.pledges and missing is not None and missing.missing:
        tolerance.open_ledger(case, now, missing, actor or case.app.accepted_by)
    if case.pledges and case.app.commitment_signed and case.matter.commitment:
        commitment.decide(case, now)
    # Steps get their whole limit from the moment they reach the departments, even when
    # the matter's own clock was backdated to receipt.
    case.open_ready_steps(now)
    case.refresh(now)


def deem_accepted_if_due(case: Case, now: datetime) -> bool:
    """Accept by law once the acceptance period has run out; True if it had."""
    due = case.status.acceptance_due
    if due is None or now < due:
        return False
    since = case.complete_since()
    start(case, now, SYSTEM, since=since, kind=EventKind.deemed_accepted)
    return True


def decision_problem(
    status: ApplicationStatus, actor: Actor, *, awaiting_correction: bool = False
) -> str | None:
    """Why `actor` may not decide on the acceptance of the application now (also while the
    applicant owes a correction asked before acceptance, if `awaiting_correction`)."""
    problem = closed(status)
    if problem:
        return problem
    if actor.role not in (Role.clerk, Role.admin):
        return "只有综合窗口工作人员可以作出受理决定"
    waiting = awaiting_correction and status.accepted_at is None
    if status.state is ApplicationState.received or (
        waiting and status.state is ApplicationState.correction
    ):
        return None
    return f"该申请当前为“{status.state.label}”，无需再作受理决定"


def _accept_problem(case: Case, action: AcceptInput, _now: datetime) -> str | None:
    problem = decision_problem(case.status, action.actor)
    if problem:
        return problem
    if action.tolerance and action.tolerance.missing and not case.pledges:
        return "该办件提交于容缺受理启用之前，不适用容缺受理"
    missing = tolerance.problem(case.matter, action.tolerance)
    return missing[1] if missing else None


def _accept(case: Case, action: AcceptInput, now: datetime) -> None:
    start(case, now, action.actor, missing=action.tolerance)


def _refuse_problem(case: Case, action: RefuseAcceptanceInput, _now: datetime) -> str | None:
    # Also while a correction asked before acceptance is owed: the applicant may never
    # answer, and a matter may give no deadline for the answer.
    status, actor = case.status, action.actor
    return decision_problem(status, actor, awaiting_correction=True) or reason_problem(
        action.reason, "不予受理必须说明理由"
    )


def refuse(case: Case, action: RefuseAcceptanceInput, now: datetime) -> None:
    """不予受理: the case closes with its reason; no clock ever ran."""
    reason = action.reason.strip()
    case.finish(now, ApplicationState.not_accepted, reason)
    case.status.acceptance_due = None
    case.record(now, EventKind.not_accepted, action.actor, reason=reason)
    case.notify(now, APPLICANT, "not_accepted", reason=reason)


ACCEPT = Transition(_accept_problem, _accept)
REFUSE = Transition(_refuse_problem, refuse)
