"""即办件 (limit 0): decided the same working day, by the working-day calendar.

A limit of 0 working days ends at closing time of day zero: the day of acceptance if the
centre is open then, otherwise the next working day (an acceptance in the evening or at the
weekend is not overdue before it begins). Office hours 9:00–17:30."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.calendar import WorkCalendar
from domain.clock import Clock
from domain.states import SlaLevel
from tests.engine import cards, event_rows, start
from tests.factories import application
from tests.timeline import at, eventually, next_plain_monday, plain_calendar, skip_to, utc
from workflows.matter import MatterWorkflow


def test_a_zero_limit_ends_at_closing_time_of_day_zero() -> None:
    monday = date(2026, 11, 2)
    cal = WorkCalendar(plain_calendar(monday, off_days=[monday + timedelta(days=7)]))

    def due(start: datetime) -> datetime | None:
        return Clock(started_at=start, limit_days=0).reading(cal, start).deadline

    assert due(at(monday, 10)) == at(monday, 17, 30)
    assert due(at(monday, 8)) == at(monday, 17, 30)  # before opening: the same day
    assert due(at(monday, 17, 29)) == at(monday, 17, 30)  # one minute left
    # At or after closing, on Friday evening, or at the weekend: the next working day, and
    # the Monday after is a holiday here.
    friday = monday + timedelta(days=4)
    assert due(at(monday, 17, 30)) == at(monday + timedelta(days=1), 17, 30)
    assert due(at(friday, 18)) == at(monday + timedelta(days=8), 17, 30)
    assert due(at(friday + timedelta(days=1), 10)) == at(monday + timedelta(days=8), 17, 30)
    # The whole working day is its budget: a card at 80% used, 15:48 on a full day.
    reading = Clock(started_at=at(friday, 18), limit_days=0).reading(cal, at(friday, 18))
    assert reading.budget == timedelta(hours=8, minutes=30)


async def test_an_immediate_matter_accepted_on_friday_evening_is_due_on_the_next_working_day(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    monday = next_plain_monday(await env.get_current_time())
    friday, holiday, tuesday = (monday + timedelta(days=n) for n in (4, 7, 8))
    calendar = plain_calendar(monday, off_days=[holiday])
    await skip_to(env, at(friday, 18))
    app = application("tax_deregistration", now=at(friday, 18), calendar=calendar)
    no = app.application_no
    handle = await start(env, worker.task_queue, app)
    status = await handle.query(MatterWorkflow.state)
    assert status.promised_deadline == at(tuesday, 17, 30)
    assert status.step("clearance").deadline == at(tuesday, 17, 30)

    # Yellow at 80% of the 8.5 h working day (6 h 48 min: 15:48), red at closing time.
    await skip_to(env, at(tuesday, 15, 47))
    assert (await handle.query(MatterWorkflow.state)).step("clearance").sla_level.value == "green"

    async def carded(levels: list[str]) -> list[datetime]:
        events = [e for e in await event_rows(sessions, no) if e.kind == "card_raised"]
        assert cards(events, "clearance") == levels and cards(events) == levels
        return [e.at.replace(second=0, microsecond=0) for e in events if e.step_code]

    await skip_to(env, at(tuesday, 15, 49))
    assert await eventually(lambda: carded(["yellow"])) == [utc(at(tuesday, 15, 48))]
    await skip_to(env, at(tuesday, 17, 31))
    raised = await eventually(lambda: carded(["yellow", "red"]))
    assert raised == [utc(at(tuesday, 15, 48)), utc(at(tuesday, 17, 30))]
    status = await handle.query(MatterWorkflow.state)
    assert status.sla_level is SlaLevel.red and status.overdue_steps == ["clearance"]
