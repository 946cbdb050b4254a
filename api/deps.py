"""What routes depend on: the app's services, a database session, the signed-in user."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.engine import EngineGateway
from api.errors import ApiError, forbidden
from api.security import Throttle
from api.services.accounts import StaffUser, user_for_token
from definitions.calendars import CalendarSources
from definitions.catalogue import Catalogue
from domain.application import Role
from settings import Settings

SESSION_COOKIE = "tongban_session"


async def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    engine: EngineGateway
    catalogue: Catalogue
    calendars: CalendarSources
    secret: bytes
    lookups: Throttle
    logins: Throttle
    # What "now" is for deadlines and records. Tests use the time-skipping server's clock.
    clock: Callable[[], Awaitable[datetime]] = system_clock

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.calendars.centres[self.settings.centre].timezone)


async def today(services: Services) -> date:
    """Today at the centre (for birth dates that cannot be in the future)."""
    return (await services.clock()).astimezone(services.tz).date()


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_session(services: ServicesDep) -> AsyncIterator[AsyncSession]:
    async with services.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def bearer_token(request: Request) -> str | None:
    """The API's credential. The page cookie is not accepted there: a cookie is sent by the
    browser on its own, and the JSON routes carry no CSRF token."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token else None


def session_token(request: Request) -> str | None:
    """The pages' credential: the session cookie set at /login (forms carry CSRF tokens)."""
    return request.cookies.get(SESSION_COOKIE)


async def api_user(request: Request, session: SessionDep) -> StaffUser | None:
    token = bearer_token(request)
    return await user_for_token(session, token) if token else None


async def page_user(request: Request, session: SessionDep) -> StaffUser | None:
    token = session_token(request)
    return await user_for_token(session, token) if token else None


async def current_user(user: Annotated[StaffUser | None, Depends(api_user)]) -> StaffUser:
    if user is None:
        raise ApiError(
            401,
            "unauthorized",
            "请先登录（缺少或无效的访问令牌）",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


CurrentUser = Annotated[StaffUser, Depends(current_user)]
PageUser = Annotated[StaffUser | None, Depends(page_user)]


def require(*roles: Role) -> Callable[[StaffUser], Awaitable[StaffUser]]:
    """A dependency admitting only `roles` (403 for any other signed-in user)."""

    async def check(user: CurrentUser) -> StaffUser:
        if user.role not in roles:
            raise forbidden("您的角色无权访问此功能")
        return user

    return check


Clerk = Annotated[StaffUser, Depends(require(Role.clerk, Role.admin))]
Staff = Annotated[StaffUser, Depends(require(Role.staff, Role.supervisor, Role.admin))]
Supervisor = Annotated[StaffUser, Depends(require(Role.supervisor, Role.admin))]
