"""容缺受理: accepted with minor materials missing, against the applicant's signed commitment.

The matter lists the materials that may be missing (`tolerated_missing`) and the working days
the applicant has to hand them in. The window accepts with some of them missing only when the
applicant has signed the commitment; the 容缺受理通知书 says what is missing, by when, and
what happens otherwise. The deadline is a ledger clock of those days from acceptance, capped
at the promised limit (the promise is never extended by what the applicant owes), with its
own card. The departments work meanwhile; the result is not handed over while anything is
outstanding (delivery.HAND_OVER). Past the deadline, unanswered, the application is
terminated (终止) as for a correction deadline, and after a grant the decision is undone with
its licences (revocation).
"""

from __future__ import annotations

from datetime import datetime

from domain.actions import MissingMaterialsInput
from domain.actors import SYSTEM, Actor, Role
from domain.application import (
    ApplicationStatus,
    MaterialSource,
    OutstandingMaterial,
    OutstandingMaterials,
    Tolerance,
)
from domain.clock import Clock
from domain.events import APPLICANT, EventKind, department
from domain.matter import MatterDefinition
from domain.states import ApplicationState, SlaLevel
from workflows.case import cards, revocation
from workflows.case.core import Case, Transition
from workflows.case.guards import APPLICANT_SIDE


def problem(matter: MatterDefinition, tolerance: Tolerance | None) -> tuple[str, str] | None:
    """(field, why) if the window may not accept with these materials missing."""
    if tolerance is None or not tolerance.missing:
        return None
    spec = matter.tolerated_missing
    if spec is None:
        return "tolerance.missing", "本事项不适用容缺受理"
    codes = tolerance.missing
    if len(codes) != len(set(codes)):
        return "tolerance.missing", "容缺材料有重复"
    names = {m.code: m.name for m in matter.materials}
    others = [names.get(c, c) for c in codes if c not in spec.materials]
    if others:
        allowed = "、".join(names[c] for c in spec.materials)
        return (
            "tolerance.missing",
            f"{'、'.join(others)}不能容缺（本事项可容缺的材料：{allowed}）",
        )
    if not tolerance.signed:
        return "tolerance.signed", "容缺受理须由申请人签署容缺承诺书"
    return None


def _items(outstanding: OutstandingMaterials) -> str:
    return "、".join(m.name for m in outstanding.missing)


def open_ledger(case: Case, now: datetime, tolerance: Tolerance, actor: Actor) -> None:
    """At acceptance: the materials owed, their deadline, and the 容缺受理通知书."""
    spec = case.matter.tolerated_missing
    assert spec is not None and tolerance.missing  # checked by `problem`
    # Never beyond the promised limit (a county's may be shorter than the matter's days).
    clock = Clock(started_at=now, limit_days=min(spec.days, case.matter.promised_limit_days))
    names = {m.code: m.name for m in case.matter.materials}
    outstanding = OutstandingMaterials(
        materials=[OutstandingMaterial(code=c, name=names[c]) for c in tolerance.missing],
        accepted_by=actor,
        accepted_at=now,
        clock=clock,
        due=clock.reading(case.calendar, now).deadline,
    )
    case.status.outstanding = outstanding
    case.record(
        now, EventKind.accepted_with_missing, actor, materials=list(tolerance.missing),
        due=outstanding.due.isoformat() if outstanding.due else None, signed=True,
    )  # fmt: skip
    deadline = case.promised.reading(case.calendar, now).deadline
    case.notify(
        now, APPLICANT, "accepted_with_missing", deadline=case.when(deadline),
        items=_items(outstanding), due=case.when(outstanding.due),
    )  # fmt: skip


def running(status: ApplicationStatus) -> OutstandingMaterials | None:
    """The materials still owed while the application is open or granted."""
    outstanding = status.outstanding
    state = status.state
    if outstanding is None or not outstanding.open:
        return None
    if state.final and state is not ApplicationState.granted:
        return None
    return outstanding


def _supply_problem(case: Case, action: MissingMaterialsInput, _now: datetime) -> str | None:
    if action.actor.role not in (*APPLICANT_SIDE, Role.admin):
        return "只有申请人或窗口工作人员可以补交容缺材料"
    outstanding = running(case.status)
    if outstanding is None:
        return "该办件没有待补齐的容缺材料"
    owed = {m.code for m in outstanding.missing}
    given = [m.code for m in action.materials]
    if len(given) != len(set(given)):
        return "补交的材料有重复"
    extra = [c for c in given if c not in owed]
    if extra:
        return f"以下材料不在待补齐的容缺材料中：{'、'.join(extra)}"
    for material in action.materials:
        if material.source is MaterialSource.paper and action.actor.role is Role.applicant:
            return "纸质材料只能在窗口提交，网上补交请上传"
        if material.source is not MaterialSource.paper and not material.ref.strip():
            return f"补交的材料 {material.code} 缺少文件或证照编号"
    return None


def _supply(case: Case, action: MissingMaterialsInput, now: datetime) -> None:
    outstanding = running(case.status)
    assert outstanding is not None  # checked by _supply_problem
    given = {m.code: m for m in action.materials}
    for owed in outstanding.materials:
        if owed.code in given and owed.supplied is None:
            owed.supplied = given[owed.code]
            owed.supplied_at = now
            owed.supplied_by = action.actor
    names = "、".join(m.name for m in outstanding.materials if m.code in given)
    if not outstanding.missing:
        outstanding.completed_at = now
    case.record(
        now, EventKind.missing_supplied, action.actor,
        materials=[m.model_dump(mode="json") for m in action.materials],
        complete=outstanding.completed_at is not None,
    )  # fmt: skip
    case.notify(now, APPLICANT, "missing_supplied", items=names)


def _lapse(case: Case, outstanding: OutstandingMaterials, now: datetime) -> None:
    """终止: the deadline passed with materials still owed (after a grant, the decision and
    its licences go too)."""
    due = case.when(outstanding.due)
    reason = f"未在容缺承诺期限（{due}）内补齐材料：{_items(outstanding)}"
    outstanding.lapsed_at = now
    owed = [m.code for m in outstanding.missing]
    case.record(now, EventKind.missing_lapsed, due=due, materials=owed)
    if case.status.state is ApplicationState.granted:
        revocation.revoke(case, now, ApplicationState.terminated, reason, SYSTEM)
        return
    opened = [s for s in case.status.steps if s.opened_at]
    case.finish(now, ApplicationState.terminated, reason)
    case.notify(now, APPLICANT, "terminated", reason=reason)
    for code in dict.fromkeys(s.department for s in opened):
        case.notify(now, department(code), "missing_lapsed")


def lapse_if_due(case: Case, now: datetime) -> bool:
    outstanding = running(case.status)
    if outstanding is None or outstanding.due is None or now < outstanding.due:
        return False
    _lapse(case, outstanding, now)
    return True


def supervise(case: Case, now: datetime) -> None:
    """Yellow as the deadline nears (the applicant is reminded); at it, terminated."""
    if lapse_if_due(case, now):
        return
    outstanding = running(case.status)
    if outstanding is None:
        return
    reading = outstanding.clock.reading(case.calendar, now)
    outstanding.due = reading.deadline
    for level in cards.levels_due(
        outstanding.sla_level, reading, case.matter.warning, legal_over=False
    ):
        if level is not SlaLevel.yellow:
            break  # red is the deadline itself: the application ends there
        outstanding.sla_level = level
        case.record(now, EventKind.card_raised, level=level.value, scope="missing")
        case.notify(
            now, APPLICANT, "missing_yellow", items=_items(outstanding),
            due=case.when(outstanding.due),
        )  # fmt: skip


def next_wake(case: Case, now: datetime) -> datetime | None:
    outstanding = running(case.status)
    if outstanding is None:
        return None
    calendar = case.calendar
    reading = outstanding.clock.reading(calendar, now)
    # The yellow card, then the deadline (a red card's instant), where it lapses.
    return cards.next_due(outstanding.sla_level, reading, case.matter.warning, calendar, now)


SUPPLY = Transition(_supply_problem, _supply)
