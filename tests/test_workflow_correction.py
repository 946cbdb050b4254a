"""Correction (补正): one merged notice, paused clocks, deadlines moved by the paused time."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.actions import ExtendInput, SupplementRequestInput, SupplyInput
from domain.application import SuppliedItem
from domain.calendar import WorkCalendar
from domain.states import ApplicationState, StepState
from store.models import CorrectionRow
from tests.engine import (
    application_row,
    approve,
    cards,
    delivered,
    event_rows,
    notification_rows,
    start,
    start_on_a_plain_monday,
)
from tests.factories import APPLICANT, SUPERVISOR, application, staff
from tests.timeline import at, eventually, next_plain_monday, plain_calendar, skip_to
from workflows.matter import MatterWorkflow


async def test_correction_pauses_the_clock_and_moves_deadlines_by_the_paused_time(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    monday = next_plain_monday(await env.get_current_time())

    def day(n: int) -> date:
        return monday + timedelta(days=n)

    calendar = plain_calendar(monday)
    cal = WorkCalendar(calendar)
    await skip_to(env, at(monday, 10))
    app = application("company_setup", now=at(monday, 10), calendar=calendar)
    no = app.application_no
    handle = await start(env, worker.task_queue, app)
    before = await handle.query(MatterWorkflow.state)
    assert before.promised_deadline == at(day(3), 17, 30)

    await skip_to(env, at(day(1), 10))
    status = await handle.execute_update(
        MatterWorkflow.request_supplement,
        SupplementRequestInput(
            step_code="registration",
            actor=staff("amr"),
            items=["住所使用证明"],
            reason="租赁合同未签字",
        ),
    )
    assert status.state is ApplicationState.correction and status.paused
    assert status.step("registration").state is StepState.correction

    await skip_to(env, at(day(1), 11))
    status = await handle.execute_update(
        MatterWorkflow.request_supplement,
        SupplementRequestInput(
            step_code="seal", actor=staff("psb"), items=["印章刻制申请表"], reason="未填写印章样式"
        ),
    )
    # One notice (一次性告知) with both departments' items.
    assert len(status.corrections) == 1
    assert status.correction is not None and status.correction.items == [
        "住所使用证明",
        "印章刻制申请表",
    ]
    async with sessions() as s:
        [row] = list(
            await s.scalars(select(CorrectionRow).where(CorrectionRow.application_no == no))
        )
    assert row.items == ["住所使用证明", "印章刻制申请表"] and row.answered_at is None
    app_row = await application_row(sessions, no)
    assert app_row is not None and app_row.state == "correction" and app_row.paused

    # Half an answer is refused, naming what is missing.
    with pytest.raises(WorkflowUpdateFailedError) as half:
        await handle.execute_update(
            MatterWorkflow.supply_supplement,
            SupplyInput(actor=APPLICANT, items=[SuppliedItem(item="住所使用证明", ref="file-9")]),
        )
    assert "还缺：印章刻制申请表" in str(half.value.cause)

    # Thursday: the invoice step, not waiting for the applicant, went red meanwhile; the
    # matter and the paused steps did not move.
    await skip_to(env, at(day(3), 10))
    await eventually(lambda: _carded(sessions, no, "invoice", ["yellow", "red"]))
    assert cards(await event_rows(sessions, no)) == []
    status = await handle.execute_update(
        MatterWorkflow.supply_supplement,
        SupplyInput(
            actor=APPLICANT,
            items=[
                SuppliedItem(item="住所使用证明", ref="file-10"),
                SuppliedItem(item="印章刻制申请表", ref="file-11"),
            ],
        ),
    )
    assert status.state is ApplicationState.in_progress and not status.paused
    assert status.step("registration").state is StepState.claimed  # back to whoever asked
    # Each clock moved by exactly the working time it stood still.
    matter_pause = cal.office_time(at(day(1), 10), at(day(3), 10))
    seal_pause = cal.office_time(at(day(1), 11), at(day(3), 10))
    assert matter_pause == timedelta(hours=17)
    assert (
        status.promised_deadline
        == cal.advance(at(day(3), 17, 30), matter_pause)
        == at(day(7), 17, 30)
    )
    assert status.step("registration").deadline == at(day(7), 17, 30)
    assert (
        status.step("seal").deadline
        == cal.advance(at(day(2), 17, 30), seal_pause)
        == at(day(4), 16, 30)
    )
    assert status.step("invoice").deadline == at(day(2), 17, 30)

    async with sessions() as s:
        [row] = list(
            await s.scalars(select(CorrectionRow).where(CorrectionRow.application_no == no))
        )
    assert row.answered_at is not None and [i["ref"] for i in row.supplied] == [
        "file-10",
        "file-11",
    ]
    notices = [n for n in await notification_rows(sessions, no) if n.kind == "correction"]
    assert len(notices) == 2 and "印章刻制申请表" in notices[-1].body
    supplied = {n.recipient for n in await notification_rows(sessions, no) if n.kind == "supplied"}
    assert supplied == {"dept:amr", "dept:psb"}

    for step in ("registration", "seal", "invoice"):
        await approve(handle, app.matter, step)
    assert (await delivered(handle)).state is ApplicationState.granted


async def _carded(
    sessions: async_sessionmaker[AsyncSession], no: str, step: str, levels: list[str]
) -> None:
    assert cards(await event_rows(sessions, no), step) == levels


async def test_a_matter_that_keeps_its_clock_running_during_correction(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    now = await env.get_current_time()
    base = application("company_setup", now=now)
    matter = base.matter.model_copy(update={"supplement_pauses_clock": False})
    app = application("company_setup", now=now, matter=matter)
    handle = await start(env, worker.task_queue, app)
    status = await handle.execute_update(
        MatterWorkflow.request_supplement,
        SupplementRequestInput(
            step_code="seal", actor=staff("psb"), items=["印章样式"], reason="未选择"
        ),
    )
    assert status.state is ApplicationState.correction
    assert not status.paused and not status.step("seal").paused


async def test_a_step_paused_for_correction_can_be_extended_past_its_old_deadline(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    handle, _, monday = await start_on_a_plain_monday(env, worker.task_queue, "company_setup")
    await handle.execute_update(
        MatterWorkflow.request_supplement,
        SupplementRequestInput(
            step_code="seal", actor=staff("psb"), items=["印章样式"], reason="未选择"
        ),
    )
    # The seal step was due Wednesday 17:30 before it paused on Monday at 10:00; on Thursday
    # it still has its time in hand, so an extension is not "after the deadline".
    await skip_to(env, at(monday + timedelta(days=3), 10))
    status = await handle.execute_update(
        MatterWorkflow.extend,
        ExtendInput(step_code="seal", actor=SUPERVISOR, working_days=1, reason="需补充核查"),
    )
    assert status.step("seal").extension_days == 1
