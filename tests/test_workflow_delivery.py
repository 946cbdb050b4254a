"""After the grant: licences issued into the library, and the result's delivery clock
(行政许可法 Art 44) until the window hands it over."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.licences import LicenceActivities
from definitions.catalogue import default_catalogue
from domain.actions import ApproveInput, HandOverInput
from domain.fields import clean_fields
from domain.issuing import IssueInput, IssueOutcome, IssueResult
from domain.states import ApplicationState, SlaLevel
from store.models import LicenceRow
from tests.api_helpers import COMPANY_SETUP_FORM
from tests.engine import delivered, event_rows, kinds, own_company_results, running_worker, start
from tests.factories import CLERK, application, staff
from tests.timeline import BEIJING, at, eventually, next_plain_monday, plain_calendar, skip_to
from workflows.matter import MatterWorkflow


async def _granted_company(env: WorkflowEnvironment, task_queue: str) -> tuple[Any, Any, Any]:
    monday = next_plain_monday(await env.get_current_time())
    await skip_to(env, at(monday, 10))
    matter = default_catalogue().matter("company_setup")
    app = application(
        "company_setup",
        now=at(monday, 10),
        calendar=plain_calendar(monday),
        form=clean_fields(matter.form, COMPANY_SETUP_FORM),
    )
    handle = await start(env, task_queue, app)
    results = own_company_results(matter)
    for step in ("registration", "seal", "invoice"):
        action = ApproveInput(
            step_code=step, actor=staff(matter.step(step).department), result=results[step]
        )
        await handle.execute_update(MatterWorkflow.approve, action)
    return handle, app, monday


async def _licences_of(sessions: async_sessionmaker[AsyncSession], no: str) -> list[LicenceRow]:
    async with sessions() as s:
        return list(await s.scalars(select(LicenceRow).where(LicenceRow.application_no == no)))


async def test_a_granted_company_setup_issues_its_licences_and_waits_for_the_hand_over(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    handle, app, _ = await _granted_company(env, worker.task_queue)

    async def issued() -> None:
        status = await handle.query(MatterWorkflow.state)
        assert [(x.type, x.outcome) for x in status.licences] == [
            ("business_licence", IssueOutcome.issued),
            ("seal_record", IssueOutcome.issued),
        ]

    await eventually(issued)
    status = await handle.query(MatterWorkflow.state)
    registration = status.step("registration").result
    rows = {r.type: r for r in await _licences_of(sessions, app.application_no)}
    business = rows["business_licence"]
    assert business.number == registration["licence_no"]
    assert business.holder_id == registration["credit_code"]
    assert business.fields["credit_code"] == registration["credit_code"]
    assert business.issued_on == status.completed_at.astimezone(BEIJING).date()
    events = kinds(await event_rows(sessions, app.application_no))
    assert events.count("licence_issued") == 2
    # Granted, but the workflow goes on until the result reaches the applicant.
    assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
    assert status.delivery is not None and status.delivery.deadline is not None
    result = await delivered(handle)
    assert result.state is ApplicationState.granted
    assert result.delivery is not None and result.delivery.done
    assert kinds(await event_rows(sessions, app.application_no))[-1] == "handed_over"


async def test_a_result_not_handed_over_in_ten_working_days_is_red_and_escalated(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    handle, app, monday = await _granted_company(env, worker.task_queue)
    # Granted on Monday: the tenth working day after it is the Monday two weeks on.
    status = await handle.query(MatterWorkflow.state)
    assert status.delivery is not None
    assert status.delivery.deadline == at(monday + timedelta(days=14), 17, 30)
    await skip_to(env, at(monday + timedelta(days=14), 17, 31))

    async def late() -> None:
        events = await event_rows(sessions, app.application_no)
        delivery = [e.payload["level"] for e in events if e.payload.get("scope") == "delivery"]
        assert delivery == ["yellow", "red", "red"]  # two cards and the escalation
        escalated = next(e for e in events if e.kind == "escalated")
        assert escalated.payload["to"] == ["window", "supervisors"]

    await eventually(late)
    state = await handle.query(MatterWorkflow.state)
    assert state.delivery is not None and state.delivery.sla_level is SlaLevel.red
    # A late hand-over is still a hand-over; then the case is closed for good.
    await delivered(handle)
    with pytest.raises((WorkflowUpdateFailedError, RPCError)):
        await handle.execute_update(
            MatterWorkflow.hand_over, HandOverInput(actor=CLERK, method="window")
        )


class _FailsOnceAfterWriting(LicenceActivities):
    """Writes the licences, then loses its answer, as a worker killed at that moment would:
    Temporal retries the activity and the retry must not issue a second time."""

    attempts = 0

    @activity.defn(name="issue_licences")
    async def issue_licences(self, job: IssueInput) -> IssueResult:
        _FailsOnceAfterWriting.attempts += 1
        result = await super().issue_licences(job)
        if _FailsOnceAfterWriting.attempts == 1:
            raise RuntimeError("worker lost after the library committed")
        return result


async def test_issuing_is_idempotent_when_an_attempt_is_retried(
    env: WorkflowEnvironment, sessions: async_sessionmaker[AsyncSession], task_queue: str
) -> None:
    from zoneinfo import ZoneInfo

    flaky = _FailsOnceAfterWriting(sessions, default_catalogue(), ZoneInfo("Asia/Shanghai"))
    async with running_worker(env, sessions, task_queue, licences=flaky):
        handle, app, _ = await _granted_company(env, task_queue)

        async def issued() -> None:
            status = await handle.query(MatterWorkflow.state)
            assert len(status.licences) == 2

        await eventually(issued, timeout=30)
        status = await handle.query(MatterWorkflow.state)
        await delivered(handle)
    assert _FailsOnceAfterWriting.attempts == 2
    # The retry found them there: counted once, each still issued for this application.
    assert {x.outcome for x in status.licences} == {IssueOutcome.already}
    async with sessions() as s:
        count = await s.scalar(
            select(func.count()).where(LicenceRow.application_no == app.application_no)
        )
    assert count == 2
    events = kinds(await event_rows(sessions, app.application_no))
    assert events.count("licence_issued") == 2
