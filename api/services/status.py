"""What an applicant may see and do with an application number and its query code."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import Services
from api.errors import conflict, not_found, too_many
from api.schemas import ApplicationView
from api.security import query_code_digest, same_digest
from api.services.views import application_view
from domain.application import Actor, Role
from domain.states import ApplicationState
from store.models import ApplicationRow, CorrectionRow, StepRow

# The same answer whether the number does not exist or the code is wrong: a caller learns
# nothing about which numbers exist.
NOT_FOUND_MESSAGE = "申请编号或查询码不正确"


async def find(
    *, services: Services, session: AsyncSession, number: str, code: str | None, client: str
) -> ApplicationRow:
    """The application, if `code` is its query code; failed attempts are throttled."""
    wait = services.lookups.retry_after(client)
    if wait is not None:
        raise too_many("查询失败次数过多，请稍后再试", wait)
    row = await session.get(ApplicationRow, number.strip())
    given = query_code_digest(services.secret, code or "")
    if row is None or not code or not same_digest(row.query_code_digest, given):
        services.lookups.fail(client)
        raise not_found(NOT_FOUND_MESSAGE)
    return row


async def view(
    *, services: Services, session: AsyncSession, row: ApplicationRow
) -> ApplicationView:
    no = row.application_no
    fresh = {"populate_existing": True}
    steps = list(
        await session.scalars(
            select(StepRow).where(StepRow.application_no == no).execution_options(**fresh)
        )
    )
    corrections = list(
        await session.scalars(
            select(CorrectionRow)
            .where(CorrectionRow.application_no == no)
            .order_by(CorrectionRow.notice_no)
            .execution_options(**fresh)
        )
    )
    return application_view(row, steps, corrections, services.catalogue, services.tz)


async def act(
    *, services: Services, session: AsyncSession, row: ApplicationRow, update: str, action: Any
) -> ApplicationView:
    """Send the applicant's action; answer with the application as the read model shows it."""
    still_open(row)
    no = row.application_no
    await services.engine.update(no, update, action)
    fresh = await session.get(ApplicationRow, no, populate_existing=True)
    assert fresh is not None
    return await view(services=services, session=session, row=fresh)


def applicant_actor(row: ApplicationRow) -> Actor:
    return Actor(id=f"applicant:{row.application_no}", name=row.applicant_name, role=Role.applicant)


def still_open(row: ApplicationRow) -> None:
    """Actions on a closed application are refused from the read model (no engine call)."""
    state = ApplicationState(row.state)
    if state.final:
        raise conflict(f"该办件{state.label}，不能再办理")
