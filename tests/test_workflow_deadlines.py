"""Deadline timers on the working-day calendar: holidays, cards, escalation, deemed consent,
extensions and calendar changes. Time moves only by skipping on the test server."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from cli.calendar_publish import publish
from definitions.calendars import default_sources
from definitions.catalogue import default_catalogue
from domain.actions import (
    CalendarChangedInput,
    ExtendInput,
    ExtensionRefusalInput,
    ExtensionRequestInput,
    WithdrawInput,
)
from domain.calendar import WorkCalendar
from domain.states import ApplicationState, SlaLevel, StepState
from settings import Settings
from tests.engine import (
    application_row,
    approve,
    cards,
    delivered,
    event_rows,
    kinds,
    notification_rows,
    start,
    start_on_a_plain_monday,
    step_rows,
)
from tests.factories import APPLICANT, SUPERVISOR, application, staff
from tests.timeline import (
    at,
    eventually,
    next_plain_monday,
    plain_calendar,
    shifted_official,
    skip_to,
)
from workflows import search_attributes as sa
from workflows.matter import MatterWorkflow


@pytest.mark.parametrize(
    ("name", "window", "accepted", "matter", "expected"),
    [
        # National Day 2026: 10-01..07 off, Saturday 10-10 worked.
        (
            "national_day",
            (date(2026, 9, 28), date(2026, 10, 12)),
            date(2026, 9, 30),
            "company_setup",
            {"matter": date(2026, 10, 10), "seal": date(2026, 10, 9)},
        ),
        # Spring Festival 2026: 02-15..23 off, Saturday 02-14 worked.
        (
            "spring_festival",
            (date(2026, 2, 9), date(2026, 3, 1)),
            date(2026, 2, 13),
            "company_setup",
            {"matter": date(2026, 2, 25), "seal": date(2026, 2, 24)},
        ),
        # Sunday 09-20 worked, Mid-Autumn 09-25..27 off.
        (
            "make_up_sunday",
            (date(2026, 9, 14), date(2026, 9, 30)),
            date(2026, 9, 18),
            "property_transfer",
            {"matter": date(2026, 9, 24), "contract_filing": date(2026, 9, 20)},
        ),
    ],
)
async def test_deadlines_follow_the_2026_schedule(
    env: WorkflowEnvironment,
    worker: Worker,
    sessions: async_sessionmaker[AsyncSession],
    name: str,
    window: tuple[date, date],
    accepted: date,
    matter: str,
    expected: dict[str, date],
) -> None:
    """The 2026 schedule, moved by whole weeks to lie ahead of the test server's clock."""
    now = await env.get_current_time()
    calendar, shift = shifted_official(*window, onto=now.date() + timedelta(days=1))
    await skip_to(env, at(accepted + shift, 10))
    app = application(matter, now=now, calendar=calendar)
    handle = await start(env, worker.task_queue, app)
    status = await handle.query(MatterWorkflow.state)
    assert status.promised_deadline == at(expected.pop("matter") + shift, 17, 30)
    for step, day in expected.items():
        assert status.step(step).deadline == at(day + shift, 17, 30)
    row = await application_row(sessions, app.application_no)
    assert row is not None and row.promised_deadline == status.promised_deadline
    assert row.deadline_provisional is False
    await handle.execute_update(MatterWorkflow.withdraw, WithdrawInput(actor=APPLICANT))


async def test_yellow_then_red_fire_once_each_and_red_escalates(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    handle, app, monday = await start_on_a_plain_monday(env, worker.task_queue, "company_setup")

    def day(n: int) -> date:
        return monday + timedelta(days=n)

    no = app.application_no
    # seal: 2 working days, budget 24.5 office hours, yellow at 80% = Wednesday 12:36.
    await skip_to(env, at(day(2), 12, 30))
    assert cards(await event_rows(sessions, no), "seal") == []

    await skip_to(env, at(day(2), 12, 40))

    async def seal_yellow() -> None:
        assert cards(await event_rows(sessions, no), "seal") == ["yellow"]
        assert (await step_rows(sessions, no))["seal"].sla_level == "yellow"

    await eventually(seal_yellow)
    await skip_to(env, at(day(2), 17, 31))

    async def seal_red() -> None:
        events = await event_rows(sessions, no)
        assert cards(events, "seal") == ["yellow", "red"]
        escalated = [e for e in events if e.kind == "escalated" and e.step_code == "seal"]
        assert len(escalated) == 1 and escalated[0].payload["to"] == [
            "dept_head:psb",
            "supervisors",
        ]

    await eventually(seal_red)
    # Two days later the matter itself is red; nothing fires twice.
    await skip_to(env, at(day(4), 10))

    async def matter_red() -> None:
        events = await event_rows(sessions, no)
        assert cards(events) == ["yellow", "red"]
        assert cards(events, "seal") == ["yellow", "red"]
        assert cards(events, "registration") == ["yellow", "red"]

    await eventually(matter_red)
    row = await application_row(sessions, no)
    assert row is not None and row.sla_level == "red"
    recipients = [
        n.recipient for n in await notification_rows(sessions, no) if n.kind == "step_red"
    ]
    assert recipients.count("dept_head:psb") == 1
    described = await handle.describe()
    assert described.typed_search_attributes.get(sa.SLA_LEVEL) == "red"
    assert set(described.typed_search_attributes.get(sa.OVERDUE_STEPS) or []) == {
        "registration",
        "seal",
        "invoice",
    }

    # Finishing late keeps the card: a card never goes down.
    for step in ("registration", "seal", "invoice"):
        await approve(handle, app.matter, step)
    result = await delivered(handle)
    assert result.state is ApplicationState.granted and result.sla_level is SlaLevel.red


async def test_the_legal_limit_raises_serious_and_escalates_to_the_leader(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    handle, app, monday = await start_on_a_plain_monday(env, worker.task_queue, "company_setup")
    await approve(handle, app.matter, "seal")
    # 15 working days: three weeks later, Monday 17:30.
    await skip_to(env, at(monday + timedelta(weeks=3), 17, 31))

    async def serious() -> None:
        events = await event_rows(sessions, app.application_no)
        assert cards(events) == ["yellow", "red", "serious"]
        assert cards(events, "registration") == ["yellow", "red", "serious"]
        assert cards(events, "seal") == []  # approved in time, never carded

    await eventually(serious)
    recipients = {n.recipient for n in await notification_rows(sessions, app.application_no)}
    assert {"leader:amr", "leader:tax"} <= recipients
    await handle.execute_update(MatterWorkflow.withdraw, WithdrawInput(actor=APPLICANT))


async def test_an_opinion_step_without_answer_is_deemed_approved(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    handle, app, monday = await start_on_a_plain_monday(
        env, worker.task_queue, "utility_connection"
    )
    for step in ("road_opening", "water", "power"):
        await approve(handle, app.matter, step)
    # gas: 3 working days, deadline Thursday 17:30.
    await skip_to(env, at(monday + timedelta(days=3), 17, 31))
    result = await delivered(handle)
    assert result.state is ApplicationState.granted
    assert result.step("gas").state is StepState.deemed_approved
    events = await event_rows(sessions, app.application_no)
    assert "deemed_approved" in kinds(events)
    assert not [e for e in events if e.kind == "escalated"]
    assert (await step_rows(sessions, app.application_no))["gas"].state == "deemed_approved"


async def test_extension_before_the_deadline_and_refusal_after_it(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    handle, app, monday = await start_on_a_plain_monday(env, worker.task_queue, "company_setup")

    def day(n: int) -> date:
        return monday + timedelta(days=n)

    status = await handle.execute_update(
        MatterWorkflow.extend,
        ExtendInput(
            step_code="seal", actor=SUPERVISOR, working_days=2, reason="需公安部门实地核查"
        ),
    )
    assert status.step("seal").deadline == at(day(4), 17, 30)  # Wednesday -> Friday
    assert status.promised_deadline == at(day(7), 17, 30)  # Thursday -> next Monday
    assert status.extension_days == 2
    row = await application_row(sessions, app.application_no)
    assert row is not None and row.promised_deadline == at(day(7), 17, 30)

    with pytest.raises(WorkflowUpdateFailedError) as too_long:
        await handle.execute_update(
            MatterWorkflow.extend,
            ExtendInput(step_code="seal", actor=SUPERVISOR, working_days=4, reason="再次延期"),
        )
    assert "上限" in str(too_long.value.cause)

    await skip_to(env, at(day(4), 17, 31))
    await eventually(lambda: _red(sessions, app.application_no, "seal"))
    with pytest.raises(WorkflowUpdateFailedError) as late:
        await handle.execute_update(
            MatterWorkflow.extend,
            ExtendInput(step_code="seal", actor=SUPERVISOR, working_days=1, reason="逾期后申请"),
        )
    assert "已超过办理期限" in str(late.value.cause)
    await handle.execute_update(MatterWorkflow.withdraw, WithdrawInput(actor=APPLICANT))


async def _red(sessions: async_sessionmaker[AsyncSession], no: str, step: str) -> None:
    assert (await step_rows(sessions, no))[step].sla_level == "red"


async def test_calendar_change_moves_a_provisional_deadline(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    monday = next_plain_monday(await env.get_current_time())

    def day(n: int) -> date:
        return monday + timedelta(days=n)

    await skip_to(env, at(monday, 10))
    provisional = plain_calendar(monday, official=False)
    app = application("company_setup", now=at(monday, 10), calendar=provisional)
    handle = await start(env, worker.task_queue, app)
    status = await handle.query(MatterWorkflow.state)
    assert status.promised_deadline == at(day(3), 17, 30)
    assert status.deadline_provisional is True

    # The year's schedule is published: Wednesday is a holiday.
    official = plain_calendar(monday, off_days=[day(2)])
    status = await handle.execute_update(
        MatterWorkflow.calendar_changed, CalendarChangedInput(actor=SUPERVISOR, calendar=official)
    )
    assert status.promised_deadline == at(day(4), 17, 30)
    assert status.deadline_provisional is False
    assert status.step("seal").deadline == at(day(3), 17, 30)
    row = await application_row(sessions, app.application_no)
    assert row is not None and row.promised_deadline == at(day(4), 17, 30)
    assert row.deadline_provisional is False
    changed = [
        e for e in await event_rows(sessions, app.application_no) if e.kind == "calendar_changed"
    ]
    assert changed[0].payload["calendar_after"] == official.version
    described = await handle.describe()
    assert described.typed_search_attributes.get(sa.PROMISED_DEADLINE) == at(day(4), 17, 30)
    await handle.execute_update(MatterWorkflow.withdraw, WithdrawInput(actor=APPLICANT))


async def test_publishing_a_calendar_updates_open_applications(
    env: WorkflowEnvironment,
    worker: Worker,
    sessions: async_sessionmaker[AsyncSession],
    db_url: str,
    tmp_path: Path,
) -> None:
    """`tongban calendar publish`: open applications still on an older calendar get the
    current one, their deadlines recomputed, and the read model keeps the new calendar."""
    now = await env.get_current_time()
    stale = plain_calendar(now.date(), official=False)  # code "maanshan", but no data
    app = application("company_setup", now=now, calendar=stale)
    handle = await start(env, worker.task_queue, app)
    settings = Settings(data_dir=tmp_path, database_url=db_url)
    outcome = await publish(settings, client=env.client)
    assert app.application_no in outcome.changed
    status = await handle.query(MatterWorkflow.state)
    fresh = default_sources().snapshot_around("maanshan", now)
    assert status.calendar_version == fresh.version != stale.version
    row = await application_row(sessions, app.application_no)
    assert row is not None and row.calendar["official_years"] == list(fresh.official_years)
    # Publishing again changes nothing for it.
    again = await publish(settings, client=env.client)
    assert app.application_no not in again.changed
    await handle.execute_update(MatterWorkflow.withdraw, WithdrawInput(actor=APPLICANT))


async def test_a_granted_application_still_delivering_gets_the_new_calendar(
    env: WorkflowEnvironment,
    worker: Worker,
    sessions: async_sessionmaker[AsyncSession],
    db_url: str,
    tmp_path: Path,
) -> None:
    """Granted, its result not yet handed over: the delivery clock (Art 44) still runs on
    the calendar it was accepted under, so publishing a calendar reaches it too, and the
    delivery deadline is recomputed; once handed over, nothing is sent to it."""
    now = await env.get_current_time()
    stale = plain_calendar(now.date(), official=False)
    app = application("company_setup", now=now, calendar=stale)
    handle = await start(env, worker.task_queue, app)
    matter = default_catalogue().matter("company_setup")
    for code in ("registration", "seal", "invoice"):
        status = await approve(handle, matter, code)
    assert status.state is ApplicationState.granted and status.delivery is not None
    settings = Settings(data_dir=tmp_path, database_url=db_url)

    async def written() -> None:
        row = await application_row(sessions, app.application_no)
        assert row is not None and row.state == "granted"

    await eventually(written)
    outcome = await publish(settings, client=env.client)
    assert app.application_no in outcome.changed
    status = await handle.query(MatterWorkflow.state)
    fresh = default_sources().snapshot_around("maanshan", now)
    assert status.calendar_version == fresh.version
    assert status.delivery is not None
    reading = status.delivery.clock.reading(WorkCalendar(fresh), await env.get_current_time())
    assert status.delivery.deadline == reading.deadline
    await delivered(handle)
    assert app.application_no not in (await publish(settings, client=env.client)).changed


async def test_a_completed_applications_deadline_stays_as_it_was_when_a_calendar_comes(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Engine 7. Granted on Monday, its result not yet delivered: a calendar published then
    (Wednesday off) moves the delivery's deadline, which still runs, but not the promise it
    was completed against, which the on-time figure reads."""
    monday = next_plain_monday(await env.get_current_time())
    await skip_to(env, at(monday, 10))
    app = application("company_setup", now=at(monday, 10), calendar=plain_calendar(monday))
    handle = await start(env, worker.task_queue, app)
    matter = default_catalogue().matter("company_setup")
    for code in ("registration", "seal", "invoice"):
        granted = await approve(handle, matter, code)
    assert granted.state is ApplicationState.granted and granted.delivery is not None
    assert granted.promised_deadline == at(monday + timedelta(days=3), 17, 30)
    # Its clocks that pause are exact: a pause begun once one ran out moves nothing.
    clocks = [granted.promised_clock, granted.legal_clock, granted.step("seal").clock]
    assert all(c is not None and c.exact for c in clocks)
    wednesday_off = plain_calendar(monday, off_days=[monday + timedelta(days=2)])
    changed = await handle.execute_update(
        MatterWorkflow.calendar_changed,
        CalendarChangedInput(actor=SUPERVISOR, calendar=wednesday_off),
    )
    assert changed.calendar_version == wednesday_off.version
    assert changed.promised_deadline == granted.promised_deadline
    assert changed.legal_deadline == granted.legal_deadline
    assert changed.delivery is not None and granted.delivery.deadline is not None
    assert changed.delivery.deadline is not None
    assert changed.delivery.deadline > granted.delivery.deadline
    row = await application_row(sessions, app.application_no)
    assert row is not None and row.promised_deadline == granted.promised_deadline
    await delivered(handle)


async def test_a_department_asks_for_more_time_and_a_supervisor_decides(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    handle, app, monday = await start_on_a_plain_monday(env, worker.task_queue, "company_setup")

    def day(n: int) -> date:
        return monday + timedelta(days=n)

    ask = ExtensionRequestInput(
        step_code="seal", actor=staff("psb"), working_days=2, reason="需公安部门实地核查"
    )
    status = await handle.execute_update(MatterWorkflow.request_extension, ask)
    request = status.step("seal").extension_request
    assert request is not None and request.working_days == 2
    assert status.step("seal").deadline == at(day(2), 17, 30)  # nothing granted yet
    with pytest.raises(WorkflowUpdateFailedError) as twice:
        await handle.execute_update(MatterWorkflow.request_extension, ask)
    assert "已有待审批" in str(twice.value.cause)
    with pytest.raises(WorkflowUpdateFailedError) as other:
        await handle.execute_update(
            MatterWorkflow.request_extension, ask.model_copy(update={"actor": staff("tax")})
        )
    assert "不属于您的部门" in str(other.value.cause)
    steps = await step_rows(sessions, app.application_no)
    assert steps["seal"].extension_request is not None
    assert steps["invoice"].extension_request is None

    # Granting answers the request; the deadline moves by the days granted.
    status = await handle.execute_update(
        MatterWorkflow.extend,
        ExtendInput(step_code="seal", actor=SUPERVISOR, working_days=1, reason="同意延期1日"),
    )
    assert status.step("seal").extension_request is None
    assert status.step("seal").deadline == at(day(3), 17, 30)
    granted = [e for e in await event_rows(sessions, app.application_no) if e.kind == "extended"]
    assert granted[0].payload["requested_days"] == 2 and granted[0].payload["working_days"] == 1
    # The event feed tells the old and the new promised deadline of the application.
    promised = granted[0].payload
    assert status.promised_deadline is not None
    assert promised["promised_after"] == status.promised_deadline.isoformat()
    assert promised["promised_before"] < promised["promised_after"]

    # A second request, refused with a reason: the deadline stays.
    second = ask.model_copy(update={"working_days": 1, "reason": "再次核查"})
    await handle.execute_update(MatterWorkflow.request_extension, second)
    status = await handle.execute_update(
        MatterWorkflow.refuse_extension,
        ExtensionRefusalInput(step_code="seal", actor=SUPERVISOR, reason="核查可在期限内完成"),
    )
    assert status.step("seal").extension_request is None
    assert status.step("seal").deadline == at(day(3), 17, 30)
    assert (await step_rows(sessions, app.application_no))["seal"].extension_request is None
    notes = {n.recipient for n in await notification_rows(sessions, app.application_no)}
    assert {"supervisors", "dept:psb"} <= notes
    await handle.execute_update(MatterWorkflow.withdraw, WithdrawInput(actor=APPLICANT))
