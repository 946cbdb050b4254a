"""Tasks pushed to a department's own system (its connector), for the record and the card.

The workflow pushes a step's task when it opens, through an activity retried until the
department's system acknowledges it. Acknowledged, the push is on the timeline; still
failing after the connector's alarm time, the step's card rises and the supervisors hear of
it, so a task is never silently lost between two systems.
"""

from __future__ import annotations

from datetime import datetime

from domain.events import SUPERVISORS, EventKind
from domain.states import SlaLevel
from workflows.case.core import Case


def acknowledged(case: Case, step_code: str, now: datetime) -> None:
    step = case.status.step(step_code)
    if step.push is None or step.push.acknowledged_at is not None:
        return
    step.push.acknowledged_at = now
    case.record(now, EventKind.step_pushed, step=step.code)


def supervise(case: Case, now: datetime) -> None:
    for step in case.status.steps:
        push = step.push
        if push is None or push.acknowledged_at or push.alarmed or now < push.due:
            continue
        push.alarmed = True
        if step.state.active and step.sla_level.rank < SlaLevel.yellow.rank:
            step.sla_level = SlaLevel.yellow
            case.record(
                now,
                EventKind.card_raised,
                step=step.code,
                level=SlaLevel.yellow.value,
                scope="step",
                cause="push",
            )
        case.notify(now, SUPERVISORS, "push_failing", step_name=step.name)


def next_wake(case: Case) -> datetime | None:
    due = [
        s.push.due
        for s in case.status.steps
        if s.push and not s.push.acknowledged_at and not s.push.alarmed and s.state.active
    ]
    return min(due, default=None)
