"""督办单: a supervisor's order on a late step, its own deadline and card, the written answer.

Clock arithmetic (office hours 9:00–17:30): an order of 2 working days issued on Thursday
at 10:00 runs to Monday 17:30, over the weekend; its budget is 7.5 + 8.5 + 8.5 = 24.5 hours,
so it turns yellow at 80% used (19.6 h: Thursday, Friday, then 3 h 36 min on Monday, 12:36)
and red at 17:30 unanswered."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.actions import OrderAnswerInput, SupervisionOrderInput, WithdrawInput
from domain.states import SlaLevel
from tests.engine import event_rows, notification_rows, start_on_a_plain_monday
from tests.factories import APPLICANT, SUPERVISOR, staff
from tests.timeline import at, eventually, skip_to, utc
from workflows.matter import MatterWorkflow


async def _refused(handle, update, action) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(update, action)
    return str(refused.value.cause)


def _order(step: str, days: int = 2) -> SupervisionOrderInput:
    return SupervisionOrderInput(
        step_code=step, actor=SUPERVISOR, working_days=days, demand="请说明超时原因并限期办结"
    )


async def test_an_order_has_its_own_deadline_and_card_until_answered(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    handle, app, monday = await start_on_a_plain_monday(env, worker.task_queue, "company_setup")
    no = app.application_no

    def day(n: int) -> date:
        return monday + timedelta(days=n)

    # On time, a step takes no order; nor does anyone but a supervisor give one.
    assert "亮黄牌或红牌" in await _refused(handle, MatterWorkflow.order, _order("seal"))
    by_staff = _order("seal").model_copy(update={"actor": staff("amr")})
    assert "只有监督管理人员" in await _refused(handle, MatterWorkflow.order, by_staff)

    # Thursday: the seal step (due Wednesday 17:30) is red.
    await skip_to(env, at(day(3), 10))
    status = await handle.execute_update(MatterWorkflow.order, _order("seal"))
    assert status.step("seal").sla_level is SlaLevel.red
    [order] = status.orders
    assert order.order_no == 1 and order.department == "psb" and order.open
    assert order.due == at(day(7), 17, 30)
    assert "尚未答复" in await _refused(handle, MatterWorkflow.order, _order("seal"))
    too_long = _order("invoice", days=11)
    assert "1至10个工作日" in await _refused(handle, MatterWorkflow.order, too_long)
    notes = await notification_rows(sessions, no)
    [sent] = [n for n in notes if n.kind == "supervision_order"]
    assert sent.recipient == "dept:psb" and f"{day(7):%Y-%m-%d} 17:30前书面答复" in sent.body

    async def order_cards() -> list[tuple[str, datetime]]:
        return [
            (e.payload["level"], e.at)
            for e in await event_rows(sessions, no)
            if e.kind == "card_raised" and e.payload.get("scope") == "order"
        ]

    await skip_to(env, at(day(7), 12, 35))
    assert (await handle.query(MatterWorkflow.state)).orders[0].sla_level is SlaLevel.green

    async def yellow() -> None:
        assert [c for c, _ in await order_cards()] == ["yellow"]

    await skip_to(env, at(day(7), 12, 37))
    await eventually(yellow)
    [(_, yellow_at)] = await order_cards()
    assert yellow_at.replace(second=0, microsecond=0) == utc(at(day(7), 12, 36))

    async def red() -> None:
        assert [c for c, _ in await order_cards()] == ["yellow", "red"]

    await skip_to(env, at(day(7), 17, 31))
    await eventually(red)
    red_at = (await order_cards())[-1][1]
    assert red_at.replace(second=0, microsecond=0) == utc(at(day(7), 17, 30))
    notes = await notification_rows(sessions, no)
    assert {n.recipient for n in notes if n.kind == "order_yellow"} == {"dept:psb"}
    assert {n.recipient for n in notes if n.kind == "order_red"} == {"dept:psb", "supervisors"}

    # The answer: only the department's, in writing, once.
    wrong = OrderAnswerInput(step_code="seal", actor=staff("amr"), order_no=1, answer="已办结")
    assert "不属于您的部门" in await _refused(handle, MatterWorkflow.answer_order, wrong)
    blank = OrderAnswerInput(step_code="seal", actor=staff("psb"), order_no=1, answer=" ")
    assert "书面说明" in await _refused(handle, MatterWorkflow.answer_order, blank)
    answer = OrderAnswerInput(
        step_code="seal", actor=staff("psb"), order_no=1, answer="系统故障延误，已于今日办结"
    )
    status = await handle.execute_update(MatterWorkflow.answer_order, answer)
    assert not status.orders[0].open and status.orders[0].answer == "系统故障延误，已于今日办结"
    assert "已答复" in await _refused(handle, MatterWorkflow.answer_order, answer)
    notes = await notification_rows(sessions, no)
    assert [n.recipient for n in notes if n.kind == "supervision_answered"] == ["supervisors"]
    kinds = [e.kind for e in await event_rows(sessions, no)]
    assert kinds.count("supervision_ordered") == 1 and kinds[-1] == "supervision_answered"


async def test_an_order_unanswered_when_the_case_closes_is_cancelled_with_it(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    """Nobody acts on a closed case, so an order left unanswered would stay open for ever:
    it is cancelled with the case, and shows as never answered."""
    handle, _, monday = await start_on_a_plain_monday(env, worker.task_queue, "company_setup")
    await skip_to(env, at(monday + timedelta(days=3), 10))  # the seal step is red
    status = await handle.execute_update(MatterWorkflow.order, _order("seal"))
    assert status.orders[0].open
    status = await handle.execute_update(
        MatterWorkflow.withdraw, WithdrawInput(actor=APPLICANT, reason="不办了")
    )
    [order] = status.orders
    assert order.cancelled and not order.open and order.answered_at is None
