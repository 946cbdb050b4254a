"""Driving MatterWorkflow in tests and reading back what it wrote to the read model."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.engine import submit
from definitions.catalogue import default_catalogue
from domain.actions import ApproveInput, HandOverInput, StagePassInput
from domain.actors import Actor
from domain.application import ApplicationInput, ApplicationStatus
from domain.matter import FieldType, MatterDefinition
from simulation.idle import terminate_when_idle
from store.models import ApplicationRow, EventRow, NotificationRow, StepRow
from tests.factories import CLERK, application, credit_code, signer, staff
from tests.timeline import at, eventually, next_plain_monday, plain_calendar, skip_to
from workflows.matter import MatterWorkflow

Handle = WorkflowHandle[MatterWorkflow, ApplicationStatus]


# Workflows this test started. The conftest terminates those still running when the test
# ends: on the time-skipping server a timer due with no worker to run it stops time for all.
STARTED: list[Handle] = []


async def start(env: WorkflowEnvironment, task_queue: str, app: ApplicationInput) -> Handle:
    """Submit as the API does; returns once the read model shows the acceptance."""
    await submit(env.client, app, task_queue=task_queue)
    handle = env.client.get_workflow_handle_for(MatterWorkflow.run, app.application_no)
    STARTED.append(handle)
    return handle


async def start_on_a_plain_monday(
    env: WorkflowEnvironment, task_queue: str, matter_code: str
) -> tuple[Handle, ApplicationInput, date]:
    """An application accepted at 10:00 on the next plain Monday, on a calendar of plain
    weekdays and weekends, so that deadlines fall on days a test can name."""
    monday = next_plain_monday(await env.get_current_time())
    await skip_to(env, at(monday, 10))
    app = application(matter_code, now=at(monday, 10), calendar=plain_calendar(monday))
    return await start(env, task_queue, app), app, monday


@asynccontextmanager
async def running_worker(
    env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
    task_queue: str,
    **options: Any,
) -> AsyncIterator[Worker]:
    """A worker that, before it stops, lets the workflows' background work (an SMS, a push)
    finish and terminates what is left: terminated under an activity that no worker will
    complete, the time-skipping server stops skipping for every later test."""
    from worker import build_worker

    async with build_worker(env.client, sessions, task_queue, **options) as worker:
        yield worker
        await terminate_leftovers()


async def terminate_leftovers() -> None:
    while STARTED:
        await terminate_when_idle(STARTED.pop())


def valid_result(matter: MatterDefinition, step_code: str) -> dict[str, str]:
    values = {
        FieldType.credit_code: credit_code(),
        FieldType.number: "12",
        FieldType.date: "2030-01-01",
        FieldType.phone: "13800000000",
    }
    out = {}
    for f in matter.step(step_code).result_fields:
        out[f.code] = (
            f.options[0] if f.type is FieldType.select else values.get(f.type, f"{f.code}-1")
        )
    return out


def own_company_results(matter: MatterDefinition) -> dict[str, dict[str, Any]]:
    """A company setup's results with numbers of its own: a licence number is unique in the
    library, so a test whose licences must be issued cannot share them."""
    unique = uuid.uuid4().hex[:8].upper()
    own: dict[str, dict[str, Any]] = {
        "registration": {
            "credit_code": credit_code(f"91340500MA{unique}"),
            "licence_no": f"BL{unique}",
        },
        "seal": {"seal_record_no": f"SEAL{unique}"},
    }
    return {s.code: valid_result(matter, s.code) | own.get(s.code, {}) for s in matter.steps}


def approval(matter: MatterDefinition, step_code: str, actor: Actor | None = None) -> ApproveInput:
    return ApproveInput(
        step_code=step_code,
        actor=actor or staff(matter.step(step_code).department),
        result=valid_result(matter, step_code),
    )


async def approve(handle: Handle, matter: MatterDefinition, step_code: str) -> ApplicationStatus:
    """Approve the step; a staged one is first signed off stage by stage, each by a person
    of that level, and approved at the last by its level."""
    spec = matter.step(step_code)
    if not spec.stages:
        return await handle.execute_update(MatterWorkflow.approve, approval(matter, step_code))
    for stage in spec.stages[:-1]:
        await handle.execute_update(
            MatterWorkflow.pass_stage,
            StagePassInput(
                step_code=step_code, actor=signer(spec.department, stage.role), opinion="同意"
            ),
        )
    last = signer(spec.department, spec.stages[-1].role)
    return await handle.execute_update(
        MatterWorkflow.approve, approval(matter, step_code, actor=last)
    )


async def delivered(handle: Handle) -> ApplicationStatus:
    """The window hands the granted result over (once its licences are written); the
    workflow then ends with its status."""

    async def licensed() -> None:
        status = await handle.query(MatterWorkflow.state)
        matter = status.matter_code
        assert status.licences or not default_catalogue().matter(matter).issues, "licences"

    await eventually(licensed)
    await handle.execute_update(
        MatterWorkflow.hand_over, HandOverInput(actor=CLERK, method="window", ref="申请人本人")
    )
    return await handle.result()


async def application_row(
    sessions: async_sessionmaker[AsyncSession], no: str
) -> ApplicationRow | None:
    async with sessions() as s:
        return await s.get(ApplicationRow, no)


async def step_rows(sessions: async_sessionmaker[AsyncSession], no: str) -> dict[str, StepRow]:
    async with sessions() as s:
        rows = await s.scalars(select(StepRow).where(StepRow.application_no == no))
        return {r.code: r for r in rows}


async def event_rows(sessions: async_sessionmaker[AsyncSession], no: str) -> list[EventRow]:
    async with sessions() as s:
        rows = await s.scalars(
            select(EventRow).where(EventRow.application_no == no).order_by(EventRow.seq)
        )
        return list(rows)


async def notification_rows(
    sessions: async_sessionmaker[AsyncSession], no: str
) -> list[NotificationRow]:
    async with sessions() as s:
        rows = await s.scalars(
            select(NotificationRow)
            .where(NotificationRow.application_no == no)
            .order_by(NotificationRow.at)
        )
        return list(rows)


def kinds(events: list[EventRow]) -> list[str]:
    return [e.kind for e in events]


def cards(events: list[EventRow], step: str | None = None) -> list[str]:
    """The levels raised, in order, for one step (or for the matter when step is None)."""
    return [e.payload["level"] for e in events if e.kind == "card_raised" and e.step_code == step]
