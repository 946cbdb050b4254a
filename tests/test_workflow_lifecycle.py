"""An application from acceptance to its end: granted, refused, withdrawn; started once."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.engine import submit
from domain.actions import ClaimInput, RejectInput, WithdrawInput
from domain.application import ApplicationStatus
from domain.states import ApplicationState, SlaLevel, StepState
from tests.engine import (
    application_row,
    approve,
    delivered,
    event_rows,
    kinds,
    notification_rows,
    start,
    step_rows,
)
from tests.factories import APPLICANT, application, staff
from workflows import search_attributes as sa
from workflows.matter import MatterWorkflow


async def test_company_setup_steps_open_together_and_grant(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    app = application("company_setup", now=await env.get_current_time())
    handle = await start(env, worker.task_queue, app)
    await handle.execute_update(
        MatterWorkflow.claim, ClaimInput(step_code="seal", actor=staff("psb"))
    )

    status = await handle.query(MatterWorkflow.state)
    assert [s.state for s in status.steps] == [StepState.open, StepState.claimed, StepState.open]
    opened = {s.opened_at for s in status.steps}
    assert len(opened) == 1, "all three steps open at the same instant (并联)"
    assert status.state is ApplicationState.in_progress

    matter = app.matter
    for step in ("seal", "invoice", "registration"):
        status = await approve(handle, matter, step)
    # The update returns the state after the read model shows it.
    row = await application_row(sessions, app.application_no)
    assert row is not None and row.state == "granted" and row.completed_at is not None
    result = await delivered(handle)
    assert result.state is ApplicationState.granted
    assert result.step("registration").result["licence_no"]

    steps = await step_rows(sessions, app.application_no)
    assert {c: s.state for c, s in steps.items()} == dict.fromkeys(
        ("registration", "seal", "invoice"), "approved"
    )
    assert steps["seal"].claimed_by_name == "psb经办人"
    events = await event_rows(sessions, app.application_no)
    assert kinds(events)[:4] == ["accepted", "step_opened", "step_opened", "step_opened"]
    # Granted; then its licences (issued, or not for the shared test numbers) and the hand-over.
    after = kinds(events)[kinds(events).index("granted") + 1 :]
    assert set(after[:-1]) <= {"licence_issued", "licence_not_issued"} and len(after) == 3
    assert after[-1] == "handed_over"
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    recipients = {n.recipient for n in await notification_rows(sessions, app.application_no)}
    assert {"applicant", "dept:amr", "dept:psb", "dept:tax"} <= recipients


async def test_a_reasoned_rejection_refuses_and_cancels_the_others(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    app = application("company_setup", now=await env.get_current_time())
    handle = await start(env, worker.task_queue, app)
    await approve(handle, app.matter, "seal")
    await handle.execute_update(
        MatterWorkflow.reject,
        RejectInput(
            step_code="registration", actor=staff("amr"), reason="企业名称与已登记企业重名"
        ),
    )
    result = await handle.result()
    assert result.state is ApplicationState.refused
    assert result.outcome_reason == "企业名称与已登记企业重名"
    assert {s.code: s.state for s in result.steps} == {
        "registration": StepState.rejected,
        "seal": StepState.approved,
        "invoice": StepState.cancelled,
    }
    row = await application_row(sessions, app.application_no)
    assert row is not None and row.state == "refused"
    assert (await step_rows(sessions, app.application_no))["invoice"].state == "cancelled"


async def test_withdrawal_cancels_every_open_step(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    app = application("property_transfer", now=await env.get_current_time())
    handle = await start(env, worker.task_queue, app)
    await handle.execute_update(
        MatterWorkflow.withdraw, WithdrawInput(actor=APPLICANT, reason="买卖双方协商解除")
    )
    result = await handle.result()
    assert result.state is ApplicationState.withdrawn
    assert all(s.state is StepState.cancelled for s in result.steps)
    assert "withdrawn" in kinds(await event_rows(sessions, app.application_no))


async def test_a_second_start_with_the_same_number_creates_nothing(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    app = application("company_setup", now=await env.get_current_time())
    first = await submit(env.client, app, task_queue=worker.task_queue)
    again = await submit(
        env.client, app.model_copy(update={"channel": "window"}), task_queue=worker.task_queue
    )
    assert again.accepted_at == first.accepted_at
    # A plain start is refused as well, and a closed application's number stays taken.
    handle: WorkflowHandle[MatterWorkflow, ApplicationStatus] = env.client.get_workflow_handle_for(
        MatterWorkflow.run, app.application_no
    )
    with pytest.raises(WorkflowAlreadyStartedError):
        await env.client.start_workflow(
            MatterWorkflow.run, app, id=app.application_no, task_queue=worker.task_queue
        )
    await handle.execute_update(MatterWorkflow.withdraw, WithdrawInput(actor=APPLICANT))
    await handle.result()
    closed = await submit(env.client, app, task_queue=worker.task_queue)
    assert closed.state is ApplicationState.withdrawn
    row = await application_row(sessions, app.application_no)
    assert row is not None and row.channel == "online" and row.state == "withdrawn"
    accepted = [e for e in await event_rows(sessions, app.application_no) if e.kind == "accepted"]
    assert len(accepted) == 1


async def test_search_attributes_follow_the_application(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    app = application("company_setup", now=await env.get_current_time())
    handle = await start(env, worker.task_queue, app)
    await approve(handle, app.matter, "seal")
    described = await handle.describe()
    attrs = described.typed_search_attributes
    assert attrs.get(sa.APPLICATION_NO) == app.application_no
    assert attrs.get(sa.MATTER_CODE) == "company_setup"
    assert attrs.get(sa.SLA_LEVEL) == SlaLevel.green.value
    assert attrs.get(sa.APPLICATION_STATE) == "in_progress"
    assert attrs.get(sa.PROMISED_DEADLINE) is not None
    assert described.status is WorkflowExecutionStatus.RUNNING
    await handle.execute_update(MatterWorkflow.withdraw, WithdrawInput(actor=APPLICANT))
    await handle.result()


async def test_a_step_opens_only_when_all_it_needs_is_approved(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    app = application("property_transfer", now=await env.get_current_time())
    handle = await start(env, worker.task_queue, app)
    status = await handle.query(MatterWorkflow.state)
    assert {s.code: s.state for s in status.steps} == {
        "contract_filing": StepState.open,
        "deed_tax": StepState.open,
        "registration": StepState.waiting,
    }
    status = await approve(handle, app.matter, "deed_tax")
    assert status.step("registration").state is StepState.waiting
    assert status.step("registration").deadline is None
    status = await approve(handle, app.matter, "contract_filing")
    assert status.step("registration").state is StepState.open
    assert status.step("registration").deadline is not None
    assert (await step_rows(sessions, app.application_no))["registration"].state == "open"
    await approve(handle, app.matter, "registration")
    assert (await delivered(handle)).state is ApplicationState.granted
