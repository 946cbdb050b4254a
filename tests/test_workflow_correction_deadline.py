"""补正期限: the applicant answers a correction notice by its deadline, or the application ends.

The deadline is `correction_answer_days` working days of the centre's calendar, counted from
the notice's last request and ending at closing time, like every other limit."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from definitions.catalogue import default_catalogue
from domain.actions import SupplementRequestInput, SupplyInput
from domain.application import SuppliedItem
from domain.clock import to_minute
from domain.matter import MatterDefinition
from domain.states import ApplicationState, StepState
from tests.engine import application_row, event_rows, kinds, notification_rows, start
from tests.factories import APPLICANT, application, staff
from tests.timeline import at, eventually, next_plain_monday, plain_calendar, skip_to, utc
from workflows.matter import MatterWorkflow


def _matter(days: int) -> MatterDefinition:
    base = default_catalogue().matter("company_setup")
    return base.model_copy(update={"correction_answer_days": days})


async def test_an_unanswered_correction_terminates_the_application_at_its_deadline(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    monday = next_plain_monday(await env.get_current_time())

    def day(n: int) -> date:
        return monday + timedelta(days=n)

    # Wednesday is a holiday: two working days from Tuesday are Thursday and Friday.
    calendar = plain_calendar(monday, off_days=[day(2)])
    await skip_to(env, at(monday, 10))
    app = application("company_setup", now=at(monday, 10), calendar=calendar, matter=_matter(2))
    no = app.application_no
    handle = await start(env, worker.task_queue, app)

    await skip_to(env, at(day(1), 15))
    status = await handle.execute_update(
        MatterWorkflow.request_supplement,
        SupplementRequestInput(
            step_code="registration", actor=staff("amr"), items=["住所使用证明"], reason="未签字"
        ),
    )
    assert status.correction is not None
    assert status.correction.answer_due == at(day(4), 17, 30)
    [notice] = [n for n in await notification_rows(sessions, no) if n.kind == "correction_due"]
    assert notice.recipient == "applicant"
    assert f"请于{day(4):%Y-%m-%d} 17:30前" in notice.body and "终止办理" in notice.body

    # A minute before the deadline the application still waits for the applicant.
    await skip_to(env, at(day(4), 17, 29))
    assert (await handle.query(MatterWorkflow.state)).state is ApplicationState.correction

    await skip_to(env, at(day(4), 17, 31))
    result = await handle.result()
    assert result.state is ApplicationState.terminated
    assert result.completed_at and to_minute(result.completed_at) == utc(at(day(4), 17, 30))
    assert result.outcome_reason and "补正期限" in result.outcome_reason
    assert all(s.state is StepState.cancelled for s in result.steps)
    assert result.corrections[0].cancelled and not result.paused

    events = kinds(await event_rows(sessions, no))
    assert events[-1] == "correction_lapsed" and "step_cancelled" in events
    notes = await notification_rows(sessions, no)
    [ended] = [n for n in notes if n.kind == "terminated"]
    assert ended.recipient == "applicant" and "终止办理" in ended.body
    told = {n.recipient for n in notes if n.kind == "correction_lapsed"}
    assert told == {f"dept:{s.department}" for s in result.steps}
    row = await application_row(sessions, no)
    assert row is not None and row.state == "terminated"


async def test_a_later_request_restarts_the_deadline_and_an_answer_in_time_stops_it(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    monday = next_plain_monday(await env.get_current_time())

    def day(n: int) -> date:
        return monday + timedelta(days=n)

    await skip_to(env, at(monday, 10))
    app = application(
        "company_setup", now=at(monday, 10), calendar=plain_calendar(monday), matter=_matter(2)
    )
    handle = await start(env, worker.task_queue, app)

    # Thursday: two working days run to Monday over the weekend.
    await skip_to(env, at(day(3), 10))
    status = await handle.execute_update(
        MatterWorkflow.request_supplement,
        SupplementRequestInput(
            step_code="registration", actor=staff("amr"), items=["住所使用证明"], reason="未签字"
        ),
    )
    assert status.correction is not None and status.correction.answer_due == at(day(7), 17, 30)
    # Friday: the seal step's request joins the notice; the applicant gets two days for it.
    await skip_to(env, at(day(4), 9))
    status = await handle.execute_update(
        MatterWorkflow.request_supplement,
        SupplementRequestInput(
            step_code="seal", actor=staff("psb"), items=["印章样式"], reason="未选择"
        ),
    )
    assert status.correction is not None and status.correction.answer_due == at(day(8), 17, 30)

    await skip_to(env, at(day(8), 17))
    status = await handle.execute_update(
        MatterWorkflow.supply_supplement,
        SupplyInput(
            actor=APPLICANT,
            items=[
                SuppliedItem(item="住所使用证明", ref="f-1"),
                SuppliedItem(item="印章样式", ref="f-2"),
            ],
        ),
    )
    assert status.state is ApplicationState.in_progress
    await skip_to(env, at(day(9), 10))
    assert (await handle.query(MatterWorkflow.state)).state is ApplicationState.in_progress
    assert "correction_lapsed" not in kinds(await event_rows(sessions, app.application_no))


async def test_a_matter_without_a_correction_deadline_waits_for_the_answer(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    now = await env.get_current_time()
    app = application("company_setup", now=now)
    handle = await start(env, worker.task_queue, app)
    status = await handle.execute_update(
        MatterWorkflow.request_supplement,
        SupplementRequestInput(
            step_code="seal", actor=staff("psb"), items=["印章样式"], reason="未选择"
        ),
    )
    assert status.correction is not None and status.correction.answer_due is None
    await eventually(lambda: _noticed(sessions, app.application_no))


async def _noticed(sessions: async_sessionmaker[AsyncSession], no: str) -> None:
    assert [n.kind for n in await notification_rows(sessions, no) if n.recipient == "applicant"][
        -1
    ] == "correction"
