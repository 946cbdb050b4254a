"""督办单: a supervisor's written order on a late step, and the department's written answer.

An order is issued only on a step whose card is yellow or worse, with the working days the
department has to answer in writing. The order has a clock of its own (a ledger like every
other), so a new calendar moves its deadline exactly; its card rises as a step's does, yellow
by the matter's warning policy and red when the deadline passes unanswered, and each card
reaches the department's inbox. One order at a time per step: a second waits for the answer.
Orders exist only in histories that received the `order` update, so old histories replay
unchanged without a patch.
"""

from __future__ import annotations

from datetime import datetime

from domain.actions import OrderAnswerInput, SupervisionOrderInput
from domain.application import StepStatus, SupervisionOrder
from domain.clock import Clock
from domain.events import SUPERVISORS, EventKind, department
from domain.reason import reason_problem
from domain.states import SlaLevel
from workflows.case import cards
from workflows.case.core import Case, Transition
from workflows.case.guards import step_problem, supervising_step

# The most working days an order may give: it is about a step already late.
MAX_ANSWER_DAYS = 10


def _open_order(case: Case, step_code: str) -> SupervisionOrder | None:
    return next((o for o in case.status.orders if o.step_code == step_code and o.open), None)


def _order_problem(case: Case, action: SupervisionOrderInput, _now: datetime) -> str | None:
    problem = supervising_step(case.status, action, "只有监督管理人员可以下达督办单")
    if problem:
        return problem
    step = case.status.step(action.step_code)
    if not step.state.active:
        return f"该环节当前为“{step.state.label}”，无需督办"
    if step.sla_level.rank < SlaLevel.yellow.rank:
        return "只能对亮黄牌或红牌的环节下达督办单"
    if _open_order(case, step.code):
        return "该环节已有尚未答复的督办单"
    if not 1 <= action.working_days <= MAX_ANSWER_DAYS:
        return f"答复期限应为1至{MAX_ANSWER_DAYS}个工作日"
    return reason_problem(action.demand, "督办单必须写明督办要求")


def _order(case: Case, action: SupervisionOrderInput, now: datetime) -> None:
    step = case.status.step(action.step_code)
    clock = Clock(started_at=now, limit_days=action.working_days)
    order = SupervisionOrder(
        order_no=len(case.status.orders) + 1,
        step_code=step.code,
        department=step.department,
        issued_by=action.actor,
        issued_at=now,
        demand=action.demand.strip(),
        answer_days=action.working_days,
        clock=clock,
        due=clock.reading(case.calendar, now).deadline,
    )
    case.status.orders.append(order)
    case.record(
        now, EventKind.supervision_ordered, action.actor, step.code, order_no=order.order_no,
        working_days=order.answer_days, demand=order.demand,
    )  # fmt: skip
    _hand(case, now, order, step)


def _hand(case: Case, now: datetime, order: SupervisionOrder, step: StepStatus) -> None:
    """The order's notice, to the department that must answer it."""
    case.notify(
        now, department(order.department), "supervision_order", step_name=step.name,
        order_no=str(order.order_no), deadline=case.when(order.due), demand=order.demand,
    )  # fmt: skip


def follow_step(case: Case, now: datetime, step: StepStatus) -> None:
    """A step rerouted (改派) takes its open order to its new department, which alone can
    answer it now: the order's cards and its notice go there."""
    order = _open_order(case, step.code)
    if order is None or order.department == step.department:
        return
    order.department = step.department
    _hand(case, now, order, step)


def _answer_problem(case: Case, action: OrderAnswerInput, _now: datetime) -> str | None:
    problem = step_problem(case.status, action)
    if problem:
        return problem
    order = next((o for o in case.status.orders if o.order_no == action.order_no), None)
    if order is None or order.step_code != action.step_code:
        return f"该环节没有第{action.order_no}号督办单"
    if not order.open:
        return "该督办单已答复"
    return reason_problem(action.answer, "督办答复必须书面说明办理情况")


def _answer(case: Case, action: OrderAnswerInput, now: datetime) -> None:
    order = next(o for o in case.status.orders if o.order_no == action.order_no)
    order.answer = action.answer.strip()
    order.answered_by = action.actor
    order.answered_at = now
    step = case.status.step(order.step_code)
    case.record(
        now, EventKind.supervision_answered, action.actor, step.code, order_no=order.order_no,
        answer=order.answer,
    )  # fmt: skip
    case.notify(
        now, SUPERVISORS, "supervision_answered", step_name=step.name, order_no=str(order.order_no)
    )


def supervise(case: Case, now: datetime) -> None:
    """Raise the cards of the open orders that are due, once each."""
    for order in case.status.orders:
        if not order.open:
            continue
        reading = order.clock.reading(case.calendar, now)
        order.due = reading.deadline
        step = case.status.step(order.step_code)
        for level in cards.levels_due(
            order.sla_level, reading, case.matter.warning, legal_over=False
        ):
            order.sla_level = level
            case.record(
                now, EventKind.card_raised, step=step.code, level=level.value, scope="order",
                order_no=order.order_no,
            )  # fmt: skip
            to = [department(order.department)]
            if level is SlaLevel.red:
                to.append(SUPERVISORS)
            for recipient in to:
                case.notify(
                    now, recipient, f"order_{level.value}", step_name=step.name,
                    order_no=str(order.order_no), deadline=case.when(order.due),
                )  # fmt: skip


def next_wake(case: Case, now: datetime) -> datetime | None:
    due = [
        cards.next_due(
            o.sla_level,
            o.clock.reading(case.calendar, now),
            case.matter.warning,
            case.calendar,
            now,
        )
        for o in case.status.orders
        if o.open
    ]
    return min((d for d in due if d is not None), default=None)


ORDER = Transition(_order_problem, _order)
ANSWER = Transition(_answer_problem, _answer)
