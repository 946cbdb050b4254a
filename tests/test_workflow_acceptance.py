"""Applications submitted online: received (收件), then accepted (受理) by the window, refused
(不予受理), or accepted by law when nobody decides within five working days (Art 32)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.actions import (
    AcceptanceCorrectionInput,
    AcceptInput,
    ClaimInput,
    RefuseAcceptanceInput,
    SupplyInput,
)
from domain.actors import Actor, Role
from domain.application import ApplicationInput, SuppliedItem
from domain.states import ApplicationState, StepState
from tests.engine import application_row, event_rows, kinds, notification_rows, start, step_rows
from tests.factories import APPLICANT, CLERK, application, staff
from tests.timeline import at, eventually, next_plain_monday, plain_calendar, skip_to
from workflows.matter import MatterWorkflow

ONLINE: dict[str, Any] = {"needs_acceptance": True, "accepted_by": APPLICANT}


async def _submitted_on_a_monday(
    env: WorkflowEnvironment, worker: Worker
) -> tuple[date, ApplicationInput, WorkflowHandle[Any, Any]]:
    """A company setup submitted online at 10:00 on the next Monday of a plain calendar."""
    monday = next_plain_monday(await env.get_current_time())
    await skip_to(env, at(monday, 10))
    app = application(
        "company_setup", now=at(monday, 10), calendar=plain_calendar(monday), **ONLINE
    )
    return monday, app, await start(env, worker.task_queue, app)


async def test_the_clock_starts_when_the_window_accepts(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    monday, app, handle = await _submitted_on_a_monday(env, worker)

    def day(n: int) -> date:
        return monday + timedelta(days=n)

    status = await handle.query(MatterWorkflow.state)
    assert status.state is ApplicationState.received
    assert status.promised_deadline is None and status.accepted_at is None
    assert status.acceptance_due == at(day(7), 17, 30)  # five working days after Monday
    assert {s.state for s in status.steps} == {StepState.waiting}
    with pytest.raises(WorkflowUpdateFailedError) as early:
        await handle.execute_update(
            MatterWorkflow.claim, ClaimInput(step_code="seal", actor=staff("psb"))
        )
    assert "尚未受理" in str(early.value.cause)
    assert "window" in {n.recipient for n in await notification_rows(sessions, app.application_no)}

    # Accepted on Wednesday: the three days run from Wednesday, not from Monday.
    await skip_to(env, at(day(2), 11))
    with pytest.raises(WorkflowUpdateFailedError) as not_a_clerk:
        await handle.execute_update(MatterWorkflow.accept, AcceptInput(actor=staff("amr")))
    assert "综合窗口" in str(not_a_clerk.value.cause)
    status = await handle.execute_update(MatterWorkflow.accept, AcceptInput(actor=CLERK))
    assert status.state is ApplicationState.accepted
    assert status.received_at is not None and status.accepted_at is not None
    assert status.accepted_at > status.received_at
    assert status.promised_deadline == at(day(7), 17, 30)
    assert {s.state for s in status.steps} == {StepState.open}
    with pytest.raises(WorkflowUpdateFailedError) as twice:
        await handle.execute_update(MatterWorkflow.accept, AcceptInput(actor=CLERK))
    assert "无需再作受理决定" in str(twice.value.cause)
    row = await application_row(sessions, app.application_no)
    assert row is not None and row.accepted_at is not None and row.received_at < row.accepted_at
    assert kinds(await event_rows(sessions, app.application_no))[:2] == ["received", "accepted"]


async def test_refused_at_acceptance_with_a_reason(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    app = application("property_transfer", now=await env.get_current_time(), **ONLINE)
    handle = await start(env, worker.task_queue, app)
    with pytest.raises(WorkflowUpdateFailedError) as no_reason:
        await handle.execute_update(
            MatterWorkflow.refuse_acceptance, RefuseAcceptanceInput(actor=CLERK, reason=" ")
        )
    assert "说明理由" in str(no_reason.value.cause)
    await handle.execute_update(
        MatterWorkflow.refuse_acceptance,
        RefuseAcceptanceInput(actor=CLERK, reason="该房屋已被法院查封，不属于本机关受理范围"),
    )
    result = await handle.result()
    assert result.state is ApplicationState.not_accepted
    assert result.outcome_reason == "该房屋已被法院查封，不属于本机关受理范围"
    assert all(s.state is StepState.cancelled for s in result.steps)
    row = await application_row(sessions, app.application_no)
    assert row is not None and row.state == "not_accepted" and row.accepted_at is None


async def test_no_decision_in_five_working_days_is_acceptance_from_receipt(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    monday = next_plain_monday(await env.get_current_time())
    await skip_to(env, at(monday, 10))
    app = application(
        "company_setup", now=at(monday, 10), calendar=plain_calendar(monday), **ONLINE
    )
    await start(env, worker.task_queue, app)
    # Next Monday 17:30 is the fifth working day's end; the matter's clock then counts from
    # receipt, so its three-day promise ran out on Thursday: the matter is red at once.
    await skip_to(env, at(monday + timedelta(days=7), 17, 31))

    async def deemed() -> None:
        events = await event_rows(sessions, app.application_no)
        assert "deemed_accepted" in kinds(events)
        accepted = next(e for e in events if e.kind == "deemed_accepted")
        assert accepted.actor_role == Role.system.value
        row = await application_row(sessions, app.application_no)
        assert row is not None and row.accepted_at == row.received_at
        assert row.sla_level == "red"
        # The departments get their whole limit from now: no step is late on arrival.
        steps = await step_rows(sessions, app.application_no)
        assert {s.state for s in steps.values()} == {"open"}
        assert {s.sla_level for s in steps.values()} == {"green"}
        assert not [e for e in events if e.kind == "escalated"]

    await eventually(deemed)


async def test_the_applicant_may_withdraw_before_acceptance(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    from domain.actions import WithdrawInput

    app = application("company_setup", now=await env.get_current_time(), **ONLINE)
    handle = await start(env, worker.task_queue, app)
    applicant = Actor(id="applicant:x", name="张三", role=Role.applicant)
    await handle.execute_update(MatterWorkflow.withdraw, WithdrawInput(actor=applicant))
    assert (await handle.result()).state is ApplicationState.withdrawn


async def test_the_window_asks_for_a_correction_before_acceptance(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """受理前补正 (Art 32): no clock runs and the acceptance period stops while the applicant
    corrects; the answer begins a new period of five working days, and an application not
    decided in it is accepted by law from the answer, not from the first receipt."""
    monday, app, handle = await _submitted_on_a_monday(env, worker)

    def day(n: int) -> date:
        return monday + timedelta(days=n)

    await skip_to(env, at(day(1), 10))
    ask = AcceptanceCorrectionInput(
        actor=CLERK, items=["股东身份证明复印件", "公司章程签字页"], reason="材料不齐全"
    )
    for refused, problem in (
        (ask.model_copy(update={"actor": staff("amr")}), "综合窗口"),
        (ask.model_copy(update={"items": [" "]}), "列明"),
    ):
        with pytest.raises(WorkflowUpdateFailedError) as why:
            await handle.execute_update(MatterWorkflow.correction_before_acceptance, refused)
        assert problem in str(why.value.cause)
    status = await handle.execute_update(MatterWorkflow.correction_before_acceptance, ask)
    assert status.state is ApplicationState.correction
    assert status.accepted_at is None and status.acceptance_due is None
    assert status.promised_deadline is None and status.legal_deadline is None
    with pytest.raises(WorkflowUpdateFailedError) as undecidable:
        await handle.execute_update(MatterWorkflow.accept, AcceptInput(actor=CLERK))
    assert "无需再作受理决定" in str(undecidable.value.cause)
    told = await notification_rows(sessions, app.application_no)
    assert ("applicant", "acceptance_correction") in {(n.recipient, n.kind) for n in told}

    # Past the first period (day 7): not accepted by law, the materials are not complete.
    await skip_to(env, at(day(14), 10))
    status = await handle.query(MatterWorkflow.state)
    assert status.state is ApplicationState.correction and status.accepted_at is None
    supplied = [SuppliedItem(item=i, ref=f"upload:{n}.pdf") for n, i in enumerate(ask.items)]
    status = await handle.execute_update(
        MatterWorkflow.supply_supplement, SupplyInput(actor=APPLICANT, items=supplied)
    )
    assert status.state is ApplicationState.received
    assert status.acceptance_due == at(day(21), 17, 30)  # five working days from the answer
    assert status.promised_deadline is None
    answered_at = status.corrections[0].answered_at
    assert answered_at is not None and answered_at - at(day(14), 10) < timedelta(seconds=1)

    await skip_to(env, at(day(21), 17, 31))

    async def deemed_from_the_answer() -> None:
        row = await application_row(sessions, app.application_no)
        assert row is not None and row.state in ("accepted", "in_progress")
        assert row.accepted_at == answered_at
        told = await notification_rows(sessions, app.application_no)
        assert ("window", "acceptance_supplied") in {(n.recipient, n.kind) for n in told}

    await eventually(deemed_from_the_answer)
