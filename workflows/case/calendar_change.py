"""A newly published calendar reaches an open application, or a granted one whose clocks
still run (delivery, verification, missing materials): deadlines are recomputed.

Clocks are ledgers of facts, so a new schedule (the State Council publishes next year's each
November) recomputes every deadline exactly; the provisional ones become official.
"""

from __future__ import annotations

from datetime import datetime

from domain.actions import CalendarChangedInput
from domain.actors import Role
from domain.application import ApplicationStatus
from domain.calendar import WorkCalendar
from domain.events import EventKind
from workflows.case import commitment, delivery, tolerance
from workflows.case.core import Case, Transition
from workflows.case.guards import SUPERVISING, closed


def watched(status: ApplicationStatus) -> bool:
    """Clocks that still run after the grant: the result not yet delivered (Art 44), the
    commitment's verification (告知承诺), the missing materials (容缺)."""
    return (
        delivery.awaiting(status)
        or tolerance.running(status) is not None
        or bool(commitment.running(status))
    )


def _problem(case: Case, action: CalendarChangedInput, _now: datetime) -> str | None:
    status = case.status
    problem = closed(status)
    if problem and not watched(status):
        return problem
    if action.actor.role not in (*SUPERVISING, Role.system):
        return "只有管理人员可以更新工作日历"
    if action.calendar.code != status.calendar_code:
        return f"办件使用的是 {status.calendar_code} 日历，不能换成 {action.calendar.code}"
    if action.calendar.version == status.calendar_version:
        return "日历没有变化"
    return None


def _change(case: Case, action: CalendarChangedInput, now: datetime) -> None:
    before = case.status.promised_deadline
    old = case.calendar.snapshot.version
    case.app = case.app.model_copy(update={"calendar": action.calendar})
    case.calendar = WorkCalendar(action.calendar)
    case.status.calendar_version = action.calendar.version
    case.refresh(now)
    after = case.status.promised_deadline
    case.record(
        now,
        EventKind.calendar_changed,
        action.actor,
        calendar_before=old,
        calendar_after=action.calendar.version,
        deadline_before=before.isoformat() if before else None,
        deadline_after=after.isoformat() if after else None,
    )


CHANGE = Transition(_problem, _change)
