"""退单/改派: a department sends its step back as not its business; another takes it over.

The step's clock runs on throughout (the matter's promise holds: a misrouted task is the
centre's delay), so the new department inherits the old deadline to the minute."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.actions import ApproveInput, ClaimInput, RerouteInput, ReturnStepInput
from domain.states import SlaLevel, StepState
from tests.engine import (
    cards,
    event_rows,
    kinds,
    notification_rows,
    start,
    start_on_a_plain_monday,
    step_rows,
    valid_result,
)
from tests.factories import CLERK, SUPERVISOR, application, staff
from tests.timeline import at, eventually, next_plain_monday, plain_calendar, skip_to
from workflows.matter import MatterWorkflow


async def _refused(handle, update, action) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(update, action)
    return str(refused.value.cause)


async def test_a_returned_step_is_rerouted_and_keeps_its_deadline(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    handle, app, monday = await start_on_a_plain_monday(env, worker.task_queue, "company_setup")
    no = app.application_no

    def day(n: int) -> date:
        return monday + timedelta(days=n)

    psb = staff("psb")
    await handle.execute_update(MatterWorkflow.claim, ClaimInput(step_code="seal", actor=psb))
    seal_deadline = at(day(2), 17, 30)
    assert (await handle.query(MatterWorkflow.state)).step("seal").deadline == seal_deadline

    back = ReturnStepInput(step_code="seal", actor=psb, reason="")
    assert "退单必须说明理由" in await _refused(handle, MatterWorkflow.return_step, back)
    other = ReturnStepInput(step_code="seal", actor=staff("amr"), reason="非本部门事项")
    assert "不属于您的部门" in await _refused(handle, MatterWorkflow.return_step, other)

    await skip_to(env, at(monday, 14))
    status = await handle.execute_update(
        MatterWorkflow.return_step,
        ReturnStepInput(step_code="seal", actor=psb, reason="印章备案已划归市场监管部门"),
    )
    seal = status.step("seal")
    assert seal.state is StepState.returned and seal.claimed_by is None
    assert seal.department == "psb" and not seal.paused and seal.deadline == seal_deadline
    assert seal.returned_reason == "印章备案已划归市场监管部门"

    approval = ApproveInput(step_code="seal", actor=psb, result=valid_result(app.matter, "seal"))
    assert "退单待改派" in await _refused(handle, MatterWorkflow.approve, approval)
    by_staff = RerouteInput(step_code="seal", actor=staff("amr"), department="amr")
    assert "只有监督管理人员或综合窗口" in await _refused(handle, MatterWorkflow.reroute, by_staff)
    same = RerouteInput(step_code="seal", actor=SUPERVISOR, department="psb")
    assert "刚刚退单" in await _refused(handle, MatterWorkflow.reroute, same)
    not_returned = RerouteInput(step_code="invoice", actor=CLERK, department="amr")
    assert "只有退单的环节" in await _refused(handle, MatterWorkflow.reroute, not_returned)

    # Tuesday: a supervisor gives it to the market regulator; the deadline does not move.
    await skip_to(env, at(day(1), 10))
    status = await handle.execute_update(
        MatterWorkflow.reroute,
        RerouteInput(step_code="seal", actor=SUPERVISOR, department="amr", reason="按职责划分"),
    )
    seal = status.step("seal")
    assert seal.state is StepState.open and seal.department == "amr"
    assert seal.deadline == seal_deadline and not seal.paused

    events = await event_rows(sessions, no)
    assert kinds(events)[-2:] == ["step_returned", "step_rerouted"]
    assert events[-2].payload == {"department": "psb", "reason": "印章备案已划归市场监管部门"}
    assert events[-1].payload["department_before"] == "psb"
    assert events[-1].payload["department"] == "amr"
    notes = await notification_rows(sessions, no)
    assert {n.recipient for n in notes if n.kind == "step_returned"} == {"supervisors", "window"}
    [task] = [n for n in notes if n.kind == "task_rerouted"]
    assert task.recipient == "dept:amr" and f"{day(2):%Y-%m-%d} 17:30" in task.body
    rows = await step_rows(sessions, no)
    assert rows["seal"].department == "amr" and rows["seal"].state == "open"

    # Its card rises on the old deadline, to the minute, with the new department.
    await skip_to(env, at(day(2), 17, 31))

    async def red() -> None:
        assert cards(await event_rows(sessions, no), "seal")[-1] == SlaLevel.red.value

    await eventually(red)
    amr = staff("amr")
    status = await handle.execute_update(
        MatterWorkflow.approve,
        ApproveInput(step_code="seal", actor=amr, result=valid_result(app.matter, "seal")),
    )
    assert status.step("seal").state is StepState.approved
    assert status.step("seal").decided_by == amr


async def test_a_returned_step_left_waiting_is_supervised_for_those_who_reroute_it(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Nobody holds a returned step, yet its clock runs: its cards reach the supervisors and
    the window, not the department that gave it back; and an opinion-only step whose limit
    passes while it waits is deemed approved as any other (the applicant's promise holds),
    the supervisors and the window told."""
    monday = next_plain_monday(await env.get_current_time())
    await skip_to(env, at(monday, 10))
    app = application(
        "utility_connection", now=at(monday, 10), calendar=plain_calendar(monday),
        form={"gas_demand": 80},  # too much for 秒批: the gas company decides
    )  # fmt: skip
    no = app.application_no
    handle = await start(env, worker.task_queue, app)

    async def with_people() -> None:
        assert not (await handle.query(MatterWorkflow.state)).step("gas").auto_pending

    await eventually(with_people)
    await skip_to(env, at(monday, 14))
    back = ReturnStepInput(step_code="gas", actor=staff("gas"), reason="应由住建部门出具意见")
    await handle.execute_update(MatterWorkflow.return_step, back)

    await skip_to(env, at(monday + timedelta(days=4), 10))  # past its 3 days

    async def red() -> None:
        assert cards(await event_rows(sessions, no), "gas") == ["yellow", "red"]

    await eventually(red)
    gas = (await handle.query(MatterWorkflow.state)).step("gas")
    assert gas.state is StepState.deemed_approved and gas.sla_level is SlaLevel.red
    assert "deemed_approved" in kinds(await event_rows(sessions, no))
    notes = [n for n in await notification_rows(sessions, no) if gas.name in n.subject]
    for kind in ("step_yellow", "step_deemed"):
        assert {n.recipient for n in notes if n.kind == kind} == {"supervisors", "window"}, kind
    assert not [n for n in notes if n.recipient.endswith(":gas") and n.kind != "task_opened"]
