"""特别程序 (Art 45): the step's clock and the matter's stop while it runs; it has its own
budget and card; the deadlines move by exactly the office time it took.

Office hours 9:00–17:30, Wednesday of the first week a holiday. Utility connection accepted
Monday 10:00: road opening (3 days) due Friday 17:30, the matter (5 days) Tuesday 17:30.
An expert review of 2 working days from Tuesday 10:00 is due Friday 17:30 (Wednesday off);
its budget is 7.5 + 8.5 + 8.5 = 24.5 h, so yellow at 80% (19.6 h: Friday 12:36) and red at
17:30. Ended on Monday at 10:00 it took 25.5 h of office time, and both deadlines move by
that: road opening to Wednesday 17:30, the matter to Friday 17:30 of the second week."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.actions import (
    ApproveInput,
    SpecialProcedureEndInput,
    SpecialProcedureInput,
    WithdrawInput,
)
from domain.actors import SYSTEM, SignoffRole
from domain.calendar import WorkCalendar
from domain.matter import SpecialProcedureKind
from domain.states import SlaLevel, StepState
from tests.engine import cards, event_rows, notification_rows, start
from tests.factories import APPLICANT, application, signer, staff
from tests.timeline import at, eventually, next_plain_monday, plain_calendar, skip_to, utc
from workflows.matter import MatterWorkflow


async def _refused(handle, update, action) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(update, action)
    return str(refused.value.cause)


# The road opening is signed at three levels: its 承办 holds it when the procedure starts.
HANDLER = signer("urban", SignoffRole.handler)


def _start(step: str, kind: SpecialProcedureKind, who: str = "urban") -> SpecialProcedureInput:
    actor = HANDLER if who == "urban" else staff(who)
    return SpecialProcedureInput(
        step_code=step, actor=actor, kind=kind, working_days=2, reason="开挖方案需专家论证"
    )


async def test_a_special_procedure_stops_the_clocks_for_exactly_its_time(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    monday = next_plain_monday(await env.get_current_time())

    def day(n: int) -> date:
        return monday + timedelta(days=n)

    calendar = plain_calendar(monday, off_days=[day(2)])
    cal = WorkCalendar(calendar)
    await skip_to(env, at(monday, 10))
    app = application("utility_connection", now=at(monday, 10), calendar=calendar)
    no = app.application_no
    handle = await start(env, worker.task_queue, app)
    status = await handle.query(MatterWorkflow.state)
    assert status.step("road_opening").deadline == at(day(4), 17, 30)
    assert status.promised_deadline == at(day(8), 17, 30)

    await skip_to(env, at(day(1), 10))
    testing = _start("road_opening", SpecialProcedureKind.testing)
    assert "本环节不适用检测" in await _refused(handle, MatterWorkflow.start_special, testing)
    water = _start("water", SpecialProcedureKind.hearing, who="water")
    assert "可启动的特别程序：无" in await _refused(handle, MatterWorkflow.start_special, water)
    other = _start("road_opening", SpecialProcedureKind.hearing, who="water")
    assert "不属于您的部门" in await _refused(handle, MatterWorkflow.start_special, other)

    status = await handle.execute_update(
        MatterWorkflow.start_special, _start("road_opening", SpecialProcedureKind.expert_review)
    )
    road = status.step("road_opening")
    assert road.state is StepState.special and road.paused and status.paused
    [procedure] = status.special_procedures
    assert procedure.due == at(day(4), 17, 30) and procedure.open
    assert status.step("water").paused is False  # only the step it stops, and the matter
    [told] = [n for n in await notification_rows(sessions, no) if n.kind == "special_started"]
    assert told.recipient == "applicant"
    assert f"专家评审，所需时间2个工作日（预计{day(4):%Y-%m-%d} 17:30前完成）" in told.body
    end = SpecialProcedureEndInput(step_code="road_opening", actor=HANDLER, outcome="")
    assert "必须写明结果" in await _refused(handle, MatterWorkflow.end_special, end)
    approval = ApproveInput(step_code="road_opening", actor=HANDLER)
    assert "特别程序中" in await _refused(handle, MatterWorkflow.approve, approval)

    async def special_cards() -> list[tuple[str, datetime]]:
        return [
            (e.payload["level"], e.at.replace(second=0, microsecond=0))
            for e in await event_rows(sessions, no)
            if e.kind == "card_raised" and e.payload.get("scope") == "special"
        ]

    async def carded(levels: list[str]) -> list[tuple[str, datetime]]:
        raised = await special_cards()
        assert [level for level, _ in raised] == levels
        return raised

    await skip_to(env, at(day(4), 12, 35))
    assert await special_cards() == []
    await skip_to(env, at(day(7), 10))
    raised = await eventually(lambda: carded(["yellow", "red"]))
    assert [when for _, when in raised] == [utc(at(day(4), 12, 36)), utc(at(day(4), 17, 30))]
    notes = await notification_rows(sessions, no)
    assert {n.recipient for n in notes if n.kind == "special_red"} == {"dept:urban", "supervisors"}
    # The step stood still: no card of its own although its old deadline has passed.
    step_cards = [e for e in await event_rows(sessions, no) if e.payload.get("scope") == "step"]
    assert cards(step_cards, "road_opening") == []

    status = await handle.execute_update(
        MatterWorkflow.end_special,
        end.model_copy(update={"outcome": "专家论证通过，同意开挖方案"}),
    )
    road = status.step("road_opening")
    assert road.state is StepState.claimed and not road.paused and not status.paused
    took = cal.office_time(at(day(1), 10), at(day(7), 10))
    assert took == timedelta(hours=25, minutes=30)
    assert road.deadline == cal.advance(at(day(4), 17, 30), took) == at(day(9), 17, 30)
    assert status.promised_deadline == cal.advance(at(day(8), 17, 30), took)
    assert status.promised_deadline == at(day(11), 17, 30)
    assert road.sla_level is SlaLevel.green and not status.special_procedures[0].open
    notes = await notification_rows(sessions, no)
    assert [n.recipient for n in notes if n.kind == "special_ended"] == ["applicant"]
    assert "没有进行中的特别程序" in await _refused(handle, MatterWorkflow.end_special, end)


async def test_a_procedure_running_when_the_case_closes_ends_with_it(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    """Withdrawn during an expert review: the review ends with the case, by the system, and
    says why; it holds no clock and no card any more."""
    monday = next_plain_monday(await env.get_current_time())
    await skip_to(env, at(monday, 10))
    app = application("utility_connection", now=at(monday, 10), calendar=plain_calendar(monday))
    handle = await start(env, worker.task_queue, app)
    await handle.execute_update(
        MatterWorkflow.start_special, _start("road_opening", SpecialProcedureKind.expert_review)
    )
    await skip_to(env, at(monday + timedelta(days=1), 10))
    status = await handle.execute_update(
        MatterWorkflow.withdraw, WithdrawInput(actor=APPLICANT, reason="项目取消")
    )
    [procedure] = status.special_procedures
    assert not procedure.open and procedure.ended_at
    assert procedure.ended_at - at(monday + timedelta(days=1), 10) < timedelta(seconds=1)
    assert procedure.ended_by == SYSTEM and procedure.outcome == "办件已撤回，特别程序随之结束"
    assert status.step("road_opening").state is StepState.cancelled
