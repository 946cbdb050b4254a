"""送达: after the grant, the result must reach the applicant (行政许可法 Art 44).

The decision starts a delivery clock of the matter's delivery limit (ten working days by
law; see `Case.complete_if_done`). The window stops it by handing the result over or posting
it; until then the clock earns its own cards, and a late delivery is escalated to the window
and the supervisors.
"""

from __future__ import annotations

from datetime import datetime

from domain.actions import HandOverInput
from domain.actors import Role
from domain.application import ApplicationStatus
from domain.events import APPLICANT, SUPERVISORS, WINDOW, EventKind
from domain.states import ApplicationState, SlaLevel
from workflows.case import cards
from workflows.case.core import Case, Transition


def awaiting(status: ApplicationStatus) -> bool:
    """Granted, and the result has not reached the applicant yet."""
    delivery = status.delivery
    return status.state is ApplicationState.granted and bool(delivery and not delivery.done)


def supervise(case: Case, now: datetime) -> None:
    delivery = case.status.delivery
    if delivery is None or delivery.done:
        return
    reading = delivery.clock.reading(case.calendar, now)
    policy = case.matter.warning
    for level in cards.levels_due(delivery.sla_level, reading, policy, legal_over=False):
        delivery.sla_level = level
        case.record(now, EventKind.card_raised, level=level.value, scope="delivery")
        if level is SlaLevel.yellow:
            case.notify(now, WINDOW, "delivery_yellow")
            continue
        to = [WINDOW, SUPERVISORS]
        case.record(now, EventKind.escalated, level=level.value, scope="delivery", to=to)
        for recipient in to:
            case.notify(now, recipient, "delivery_red")


def next_wake(case: Case, now: datetime) -> datetime | None:
    delivery = case.status.delivery
    if delivery is None or delivery.done:
        return None
    reading = delivery.clock.reading(case.calendar, now)
    return cards.next_due(delivery.sla_level, reading, case.matter.warning, case.calendar, now)


def _hand_over_problem(case: Case, action: HandOverInput, _now: datetime) -> str | None:
    status = case.status
    if action.actor.role not in (Role.clerk, Role.admin):
        return "只有综合窗口工作人员可以登记出件"
    if status.state is not ApplicationState.granted or status.delivery is None:
        return "只有已办结（准予）的办件才能出件"
    if status.delivery.done:
        return "该办件的结果已经送达"
    if case.matter.issues and not status.licences:
        return "电子证照正在生成，请稍后出件"
    outstanding = status.outstanding
    if outstanding is not None and outstanding.open:
        # 容缺受理: the result waits for the materials the applicant promised.
        names = "、".join(m.name for m in outstanding.missing)
        return f"容缺材料尚未补齐（{names}），补齐后方可出件"
    if action.method == "express" and not action.ref.strip():
        return "邮寄送达须填写快递单号"
    if len(action.ref) > 100:
        return "单号或领取人过长（最多100字）"
    return None


def _hand_over(case: Case, action: HandOverInput, now: datetime) -> None:
    delivery = case.status.delivery
    assert delivery is not None  # checked by _hand_over_problem
    delivery.method = action.method
    delivery.ref = action.ref.strip() or None
    delivery.handed_over_at = now
    delivery.handed_over_by = action.actor
    case.record(now, EventKind.handed_over, action.actor, method=action.method, ref=action.ref)
    how = "已在窗口领取" if action.method == "window" else f"已邮寄，快递单号 {action.ref.strip()}"
    case.notify(now, APPLICANT, "handed_over", how=how)


HAND_OVER = Transition(_hand_over_problem, _hand_over)
