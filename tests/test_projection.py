"""The read model's writer is idempotent and never moves a row backwards."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.application import Projection
from domain.events import Event, Notification
from domain.states import ApplicationState
from store.models import ApplicationRow, EventRow, NotificationRow
from store.projection import apply_projection
from tests.factories import CLERK, application
from workflows.case import acceptance
from workflows.case.core import Case

NOW = datetime(2030, 6, 3, 2, 0, tzinfo=UTC)


def first_projection() -> Projection:
    app = application("company_setup", now=NOW)
    case = Case(app, NOW)
    acceptance.start(case, NOW)
    case.status.revision = 1
    events, notes = case.take_records()
    return Projection(status=case.status, application=app, events=events, notifications=notes)


async def _apply(sessions: async_sessionmaker[AsyncSession], projection: Projection) -> None:
    async with sessions() as session, session.begin():
        await apply_projection(session, projection)


async def test_the_same_projection_twice_changes_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    projection = first_projection()
    await _apply(sessions, projection)
    await _apply(sessions, projection)
    no = projection.status.application_no
    async with sessions() as s:
        events = await s.scalar(select(func.count()).where(EventRow.application_no == no))
        notes = await s.scalar(select(func.count()).where(NotificationRow.application_no == no))
    assert events == len(projection.events) and notes == len(projection.notifications)


async def test_an_older_revision_arriving_late_is_ignored(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = first_projection()
    await _apply(sessions, first)
    newer = first.status.model_copy(deep=True)
    newer.state, newer.revision = ApplicationState.withdrawn, 2
    later = Projection(
        status=newer,
        events=[Event(seq=99, at=NOW, kind="withdrawn", actor=CLERK)],
        notifications=[
            Notification(id="x/99", at=NOW, recipient="applicant", kind="k", subject="s")
        ],
    )
    await _apply(sessions, later)
    await _apply(sessions, first.model_copy(update={"application": None}))
    async with sessions() as s:
        row = await s.get(ApplicationRow, first.status.application_no)
    assert row is not None and row.state == "withdrawn" and row.revision == 2


async def test_a_lost_workflow_task_s_transition_gives_way_to_the_one_that_follows(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Temporal lost the completion of the task that withdrew (its local activity had
    written it); the workflow went on from before it, and the next transition, a refusal,
    took the same revision and numbers. The read model ends with the refusal."""
    first = first_projection()
    await _apply(sessions, first)
    no = first.status.application_no

    def transition(state: ApplicationState, kind: str, subject: str) -> Projection:
        status = first.status.model_copy(deep=True)
        status.state, status.revision = state, 2
        return Projection(
            status=status,
            events=[Event(seq=99, at=NOW, kind=kind, actor=CLERK)],
            notifications=[
                Notification(
                    id=f"{no}/99", at=NOW, recipient="applicant", kind=kind, subject=subject
                )
            ],
        )

    await _apply(sessions, transition(ApplicationState.withdrawn, "withdrawn", "已撤回"))
    await _apply(sessions, transition(ApplicationState.refused, "refused", "不予受理"))
    async with sessions() as s:
        row = await s.get(ApplicationRow, no)
        event = await s.scalar(
            select(EventRow).where(EventRow.application_no == no, EventRow.seq == 99)
        )
        note = await s.get(NotificationRow, f"{no}/99")
    assert row is not None and row.state == "refused" and row.revision == 2
    assert event is not None and event.kind == "refused"
    assert note is not None and note.kind == "refused" and note.subject == "不予受理"
    assert note.state == "pending"  # its delivery state is its own
