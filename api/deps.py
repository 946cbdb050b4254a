"""What routes depend on: the app's services, a database session, the signed-in user."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from api.container import Services
from api.errors import ApiError, forbidden
from api.services.accounts import StaffUser, user_for_token
from domain.actors import Role

SESSION_COOKIE = "tongban_session"


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
