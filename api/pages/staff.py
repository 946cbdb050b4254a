"""Staff sign-in and sign-out (session cookie), and files for staff to open."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from api import page_sessions
from api.deps import (
    SESSION_COOKIE,
    PageUser,
    ServicesDep,
    SessionDep,
    client_key,
    session_token,
)
from api.errors import ApiError
from api.pages.common import check_csrf, redirect, render, role_home, safe_path, to_login
from api.routers.auth import sign_in
from api.services import accounts
from api.services.files import may_open, stored_path
from api.unified_login import sign_out

router = APIRouter(include_in_schema=False)


@router.get("/login")
async def login_page(request: Request, user: PageUser) -> Response:
    if user is not None:
        return redirect(role_home(user))
    return render(request, "login.html", next=safe_path(request.query_params.get("next"), ""))


@router.post("/login")
async def login(request: Request, services: ServicesDep, session: SessionDep) -> Response:
    form = await request.form()
    check_csrf(request, form)
    username = str(form.get("username", ""))
    try:
        user = await sign_in(
            services=services,
            session=session,
            username=username,
            password=str(form.get("password", "")),
            client=client_key(request),
            via="page",
        )
    except ApiError as exc:
        return render(
            request,
            "login.html",
            username=username,
            next=safe_path(form.get("next"), ""),
            error_message=exc.message,
            status_code=exc.status,
        )
    hours = services.settings.token_hours
    # A browser shared at the counter: whoever was signed in before is signed out, and an
    # applicant's identity and remembered codes do not pass to the member of staff.
    earlier = session_token(request)
    if earlier:
        await accounts.revoke(session, earlier)
    sign_out(request)
    request.session.pop("apps", None)
    token = await accounts.issue_token(
        session, user, kind="session", hours=hours, now=services.session_clock()
    )
    await session.commit()
    page_sessions.renew(request)  # signed in: the page session gets a token of its own
    response = redirect(safe_path(form.get("next"), role_home(user)))
    response.set_cookie(
        SESSION_COOKIE, token, max_age=hours * 3600, **cookie_flags(request, services)
    )
    return response


def cookie_flags(request: Request, services: ServicesDep) -> dict[str, Any]:
    """Not readable by scripts, not sent on other sites' requests, and Secure whenever the
    service is published over https (behind a TLS-terminating proxy the app sees http)."""
    secure = services.settings.served_over_https or request.url.scheme == "https"
    return {"httponly": True, "samesite": "lax", "secure": secure}


@router.post("/logout")
async def logout(
    request: Request, user: PageUser, services: ServicesDep, session: SessionDep
) -> Response:
    form = await request.form()
    check_csrf(request, form)
    token = session_token(request)
    if token:
        await accounts.revoke(session, token)
        if user is not None:
            await accounts.record_access(
                session,
                action="logout",
                username=user.username,
                user=user,
                client=client_key(request),
                via="page",
                at=services.session_clock(),
            )
        await session.commit()
    request.session.clear()  # nothing of this visit stays in the browser
    page_sessions.renew(request)  # nor its forms' CSRF seed
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE, **cookie_flags(request, services))
    return response


@router.get("/files/{name}")
async def file(
    name: str, request: Request, user: PageUser, services: ServicesDep, session: SessionDep
) -> Response:
    """An uploaded material, for signed-in staff who may see its application."""
    if user is None:
        return to_login(request)
    ref = f"upload:{name}"
    path = stored_path(services.settings.data_dir, ref)
    if path is None or not await may_open(session, user, ref):
        raise ApiError(404, "not_found", "文件不存在")
    return FileResponse(path)
