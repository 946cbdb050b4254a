"""`tongban calendar publish`: tell open applications about a new working-day calendar.

After a year's schedule is added under definitions/calendars/years/ (or a centre's local
holidays change), every open application still holds the calendar it was accepted under.
This sends each one whose calendar differs the `calendar_changed` update, so provisional
deadlines are recomputed from the clock ledgers; and so to each granted one whose clocks
still run (its result's delivery, a commitment's verification, missing materials): their
deadlines, not the promised and legal ones it completed against (engine generation 7).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError

from cli.temporal_session import core_callbacks_settled
from definitions.calendars import CalendarSources
from domain.actions import CalendarChangedInput
from domain.actors import Actor, Role
from domain.application import ApplicationStatus
from domain.calendar import CalendarSnapshot
from domain.states import ApplicationState
from settings import Settings
from store.db import create_engine, session_factory
from store.models import ApplicationRow
from temporal_client import connect
from workflows.case.calendar_change import watched
from workflows.matter import MatterWorkflow

PUBLISHER = Actor(id="system:calendar", name="工作日历发布", role=Role.system)
OPEN = [s.value for s in ApplicationState if not s.final]
GRANTED_LATELY = timedelta(days=120)
# An application's number, the calendar it pinned, and when it was received.
_PINNED = (ApplicationRow.application_no, ApplicationRow.calendar, ApplicationRow.received_at)


@dataclass
class Outcome:
    changed: list[str]
    unchanged: int
    refused: dict[str, str]


async def publish(
    settings: Settings, *, dry_run: bool = False, client: Client | None = None
) -> Outcome:
    sources = CalendarSources()
    engine = create_engine(settings.db_url)
    try:
        async with session_factory(engine)() as session:
            found = await session.execute(select(*_PINNED).where(ApplicationRow.state.in_(OPEN)))
            rows = [(number, pinned, received) for number, pinned, received in found]
            rows += await _granted_still_counting(session)
    finally:
        await engine.dispose()
    outcome = Outcome(changed=[], unchanged=0, refused={})
    if not rows:
        return outcome
    client = client or await connect(settings)
    for number, pinned, received_at in rows:
        current = CalendarSnapshot.model_validate(pinned)
        fresh = sources.snapshot_around(
            current.code, received_at.astimezone(ZoneInfo(current.timezone))
        )
        if fresh.version == current.version:
            outcome.unchanged += 1
            continue
        if dry_run:
            outcome.changed.append(number)
            continue
        handle = client.get_workflow_handle_for(MatterWorkflow.run, number)
        try:
            await handle.execute_update(
                MatterWorkflow.calendar_changed,
                CalendarChangedInput(actor=PUBLISHER, calendar=fresh),
            )
            outcome.changed.append(number)
        except WorkflowUpdateFailedError as exc:
            outcome.refused[number] = str(exc.cause or exc)
        except RPCError as exc:  # closed in Temporal since the row was read, or gone
            outcome.refused[number] = f"not running: {exc.message}"
    return outcome


async def _granted_still_counting(
    session: AsyncSession,
) -> list[tuple[str, dict[str, Any], datetime]]:
    """Granted applications whose clocks still run (workflows.case.calendar_change): their
    result not handed over, or granted lately enough for a verification or missing
    materials to be still due (those take weeks, not a season)."""
    since = datetime.now(UTC) - GRANTED_LATELY
    candidates = await session.execute(
        select(*_PINNED, ApplicationRow.status).where(
            ApplicationRow.state == ApplicationState.granted.value,
            or_(ApplicationRow.handed_over_at.is_(None), ApplicationRow.completed_at >= since),
        )
    )
    return [
        (number, pinned, received)
        for number, pinned, received, status in candidates
        if watched(ApplicationStatus.model_validate(status))
    ]


async def _publish_and_settle(settings: Settings, dry_run: bool) -> Outcome:
    try:
        return await publish(settings, dry_run=dry_run)
    finally:  # the process ends next: see cli/temporal_session.py
        await core_callbacks_settled()


def run(settings: Settings, dry_run: bool) -> int:
    outcome = asyncio.run(_publish_and_settle(settings, dry_run))
    verb = "would change" if dry_run else "changed"
    print(f"{verb}: {len(outcome.changed)}, unchanged: {outcome.unchanged}")
    for number in outcome.changed:
        print(f"  {number}")
    for number, reason in outcome.refused.items():
        print(f"  {number}: refused: {reason}")
    return 1 if outcome.refused else 0
