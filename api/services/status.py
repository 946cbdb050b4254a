"""What an applicant may see and do with an application number and its query code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import Services
from api.errors import conflict, not_found, too_many
from api.schemas import ApplicationView
from api.security import query_code_digest, same_digest
from api.services.views import application_view
from domain.application import Actor, ApplicationStatus, Role
from store.models import ApplicationRow

# The same answer whether the number does not exist or the code is wrong: a caller learns
# nothing about which numbers exist.
NOT_FOUND_MESSAGE = "申请编号或查询码不正确"


@dataclass(frozen=True)
class Found:
    """An application as its applicant reaches it: the last status and a few columns."""

    status: ApplicationStatus
    applicant_name: str
    channel: str
    delivery: str

    @property
    def application_no(self) -> str:
        return self.status.application_no


async def _load(session: AsyncSession, number: str) -> tuple[str, Found] | None:
    """One indexed query: everything a status poll needs is in the application's row."""
    row = (
        await session.execute(
            select(
                ApplicationRow.query_code_digest,
                ApplicationRow.status,
                ApplicationRow.applicant_name,
                ApplicationRow.channel,
                ApplicationRow.delivery,
            ).where(ApplicationRow.application_no == number)
        )
    ).one_or_none()
    if row is None:
        return None
    digest, status, name, channel, delivery = row
    return digest, Found(ApplicationStatus.model_validate(status), name, channel, delivery)


async def find(
    *, services: Services, session: AsyncSession, number: str, code: str | None, client: str
) -> Found:
    """The application, if `code` is its query code; failed attempts are throttled."""
    wait = services.lookups.retry_after(client)
    if wait is not None:
        raise too_many("查询失败次数过多，请稍后再试", wait)
    loaded = await _load(session, number.strip())
    given = query_code_digest(services.secret, code or "")
    if loaded is None or not code or not same_digest(loaded[0], given):
        services.lookups.fail(client)
        raise not_found(NOT_FOUND_MESSAGE)
    return loaded[1]


def view(services: Services, found: Found) -> ApplicationView:
    return application_view(
        found.status,
        applicant_name=found.applicant_name,
        channel=found.channel,
        delivery=found.delivery,
        catalogue=services.catalogue,
        tz=services.tz,
    )


def applicant_actor(found: Found) -> Actor:
    return Actor(
        id=f"applicant:{found.application_no}", name=found.applicant_name, role=Role.applicant
    )


def still_open(status: ApplicationStatus) -> None:
    """Actions on a closed application are refused from the read model (no engine call)."""
    if status.state.final:
        raise conflict(f"该办件{status.state.label}，不能再办理")


async def act(
    *, services: Services, session: AsyncSession, found: Found, update: str, action: Any
) -> ApplicationView:
    """Send the applicant's action; answer with the application as the read model shows it."""
    still_open(found.status)
    await services.engine.update(found.application_no, update, action)
    fresh = await _load(session, found.application_no)
    assert fresh is not None
    return view(services, fresh[1])
