"""A worker stopped mid-flight, and a new worker finishing the matter from its history."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from domain.states import ApplicationState
from simulation.idle import settle
from tests.engine import approve, cards, delivered, event_rows, running_worker, start
from tests.factories import application
from tests.timeline import at, eventually, next_plain_monday, plain_calendar, skip_to
from worker import build_worker


async def test_a_new_worker_finishes_what_a_stopped_one_began(
    env: WorkflowEnvironment, sessions: async_sessionmaker[AsyncSession], task_queue: str
) -> None:
    monday = next_plain_monday(await env.get_current_time())
    await skip_to(env, at(monday, 10))
    app = application("company_setup", now=at(monday, 10), calendar=plain_calendar(monday))
    # The first worker keeps no sticky cache: the test server would hold the next task on a
    # stopped worker's sticky queue while time stands still (a real server moves it on).
    async with build_worker(env.client, sessions, task_queue, max_cached_workflows=0):
        handle = await start(env, task_queue, app)
        await approve(handle, app.matter, "registration")
        await settle(handle)

    # A day without a worker. (The test server does not skip past a due timer while no
    # worker can run its workflow task, so we stop before the first wake-up: the reminder
    # one working day before the seal's deadline, on Tuesday at 17:30.)
    await skip_to(env, at(monday + timedelta(days=1), 12))

    async with running_worker(env, sessions, task_queue):
        # The new worker rebuilds the case from history and keeps its timers.
        await skip_to(env, at(monday + timedelta(days=2), 17, 31))

        async def carded() -> None:
            events = await event_rows(sessions, app.application_no)
            assert cards(events, "seal") == ["yellow", "red"]
            assert cards(events, "invoice") == ["yellow", "red"]

        await eventually(carded, timeout=30)
        await approve(handle, app.matter, "seal")
        await approve(handle, app.matter, "invoice")
        result = await delivered(handle)
    assert result.state is ApplicationState.granted
    assert result.step("registration").result
