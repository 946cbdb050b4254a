"""好差评 and its 整改回访 while the workflow may still record events of its own.

The rating and its follow-up come after the decision, and are written by the API with the
next number of the application's audit trail once the workflow has recorded its last event.
Until then (a commitment being verified, materials accepted missing still owed, licences
being revoked, a push winding down) the workflow goes on numbering its own events: one
written beside it would take a number the workflow then gives to its next event, and the
projection would write that event over it. So these are recorded here, and the API writes
their rows from what was recorded.
"""

from __future__ import annotations

from datetime import datetime

from domain.actions import AftercareInput
from domain.actors import Role
from domain.events import EventKind
from workflows.case.core import Case, Transition
from workflows.case.guards import SUPERVISING

_WHO = {
    EventKind.rated: (Role.applicant,),
    EventKind.review_followed_up: SUPERVISING,
}


def _problem(case: Case, action: AftercareInput, _now: datetime) -> str | None:
    if not case.status.state.final:
        return "办结后才能评价"
    kind = EventKind(action.kind)
    if action.actor.role not in _WHO[kind]:
        return f"{action.actor.role.value} 不能记录“{kind.label}”"
    return None


def _note(case: Case, action: AftercareInput, now: datetime) -> None:
    case.record(now, EventKind(action.kind), action.actor, **action.payload)


NOTE = Transition(_problem, _note)
