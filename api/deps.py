"""What routes depend on: the app's services, a database session, the signed-in user, and
the application or task an action is about, loaded and checked for the caller."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession

from api.container import Services
from api.errors import ApiError, forbidden
from api.openapi import answers
from api.schemas import DB_INT_MAX
from api.services import status as lookup
from api.services.accounts import SessionIdle, StaffUser, user_for_token
from api.services.actions import action_key
from api.services.status import Found
from api.services.tasks import Task, load_task
from domain.actors import Role
from observability.logs import note_application

SESSION_COOKIE = "tongban_session"


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


@answers(503)  # what uses the services reaches the database (its pool may be exhausted)
async def get_services(request: Request) -> Services:
    # A coroutine: FastAPI runs a plain function dependency in a worker thread, a hop that
    # cost a status poll a tenth of its time.
    return services_of(request)


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_session(services: ServicesDep) -> AsyncIterator[AsyncSession]:
    async with services.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def _action_key(
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=200,
            description="a retry with the same key and body (after a 503, or a lost answer) "
            "is not done twice: it answers as the first did",
        ),
    ] = None,
) -> AsyncIterator[None]:
    with action_key(key):
        yield


# On every route that sends an action (`dependencies=[IDEMPOTENT]`): api.services.actions.
IDEMPOTENT = Depends(_action_key)


async def _page_action_key(request: Request) -> AsyncIterator[None]:
    """The pages' Idempotency-Key: the `action_key` each rendered page puts in its forms
    (api.pages.common.render). A form sent twice, by a double click or a reload that posts
    again, is then one action, and the second answer is the first's."""
    key = None
    if request.method == "POST":
        # Starlette keeps the parsed form: the route reads the same one.
        sent = (await request.form()).get("action_key")
        key = sent if isinstance(sent, str) else None
    with action_key(key):
        yield


# On the page routers whose forms send actions.
PAGE_IDEMPOTENT = Depends(_page_action_key)


def bearer_token(request: Request) -> str | None:
    """The API's credential. The page cookie is not accepted there: a cookie is sent by the
    browser on its own, and the JSON routes carry no CSRF token."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token else None


def session_token(request: Request) -> str | None:
    """The pages' credential: the session cookie set at /login (forms carry CSRF tokens)."""
    return request.cookies.get(SESSION_COOKIE)


def idle_message(services: Services) -> str:
    return f"您已超过{services.settings.idle_minutes}分钟未操作，登录已失效，请重新登录"


async def api_user(
    request: Request, services: ServicesDep, session: SessionDep
) -> StaffUser | None:
    token = bearer_token(request)
    if not token:
        return None
    try:
        return await user_for_token(
            session, token, now=services.session_clock(), idle=services.idle_limit, kind="bearer"
        )
    except SessionIdle:
        raise ApiError(
            401, "unauthorized", idle_message(services), headers={"WWW-Authenticate": "Bearer"}
        ) from None


async def page_user(
    request: Request, services: ServicesDep, session: SessionDep
) -> StaffUser | None:
    token = session_token(request)
    if not token:
        return None
    try:
        return await user_for_token(
            session, token, now=services.session_clock(), idle=services.idle_limit, kind="session"
        )
    except SessionIdle:
        # Shown on the login page the visitor is sent to (a flash message, as pages show).
        request.session.setdefault("flash", []).append(
            {"kind": "error", "text": idle_message(services)}
        )
        return None


@answers(401)
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


def require(*roles: Role) -> Callable[..., Awaitable[StaffUser]]:
    """A dependency admitting only `roles` (403 for any other signed-in user)."""

    @answers(403)
    async def check(request: Request, user: CurrentUser) -> StaffUser:
        if user.role not in roles:
            raise forbidden("您的角色无权访问此功能")
        # A system given the supervisors' role reads (the feed, the figures); acting as a
        # supervisor (extending, rerouting, revoking) is a person's, on the trail by name.
        if user.client and user.role is not Role.staff and request.method not in ("GET", "HEAD"):
            raise forbidden("监察类系统接入账号只能读取数据，不能办理")
        return user

    return check


Clerk = Annotated[StaffUser, Depends(require(Role.clerk, Role.admin))]
Staff = Annotated[StaffUser, Depends(require(Role.staff, Role.supervisor, Role.admin))]
Supervisor = Annotated[StaffUser, Depends(require(Role.supervisor, Role.admin))]


def client_key(request: Request) -> str:
    """The caller's address (behind trusted proxies, the forwarded one): throttling is per
    client."""
    return request.client.host if request.client else "unknown"


# --- what an action is about, loaded and checked for the caller once ---------------------

ApplicationNo = Annotated[str, Path(min_length=1, max_length=40, description="申请编号")]
TaskId = Annotated[int, Path(ge=1, le=DB_INT_MAX, description="the task's id")]
QueryCode = Annotated[str | None, Header(alias="X-Query-Code", max_length=64, description="查询码")]


@answers(404, 429)
async def applicants_application(
    application_no: ApplicationNo,
    request: Request,
    services: ServicesDep,
    session: SessionDep,
    query_code: QueryCode = None,
) -> Found:
    """The application the caller holds the query code of (404 otherwise, throttled)."""
    note_application(application_no)
    return await lookup.find(
        services=services,
        session=session,
        number=application_no,
        code=query_code,
        client=client_key(request),
    )


@answers(404)
async def staff_application(
    application_no: ApplicationNo, user: CurrentUser, session: SessionDep
) -> Found:
    """The application by its number alone, for signed-in staff (404 if there is none, or
    if it lies outside the caller's region: api.services.region_scope)."""
    note_application(application_no)
    return await lookup.load(session, application_no, user)


@answers(403, 404)
async def task_for_caller(task_id: TaskId, user: Staff, session: SessionDep) -> Task:
    """The task, if the signed-in user may see it (403 for another department's)."""
    task = await load_task(session=session, user=user, task_id=task_id)
    note_application(task.app.application_no)
    return task


Applicants = Annotated[Found, Depends(applicants_application)]
StaffApplication = Annotated[Found, Depends(staff_application)]
TaskDep = Annotated[Task, Depends(task_for_caller)]
