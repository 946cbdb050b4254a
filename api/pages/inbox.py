"""The staff inbox page: messages for the signed-in member of staff, read or not."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import ServicesDep, SessionDep
from api.pages.common import AnyStaffPage, check_csrf, flash, redirect, render
from api.services import inbox

router = APIRouter(include_in_schema=False)


@router.get("/inbox")
async def inbox_page(
    request: Request, user: AnyStaffPage, services: ServicesDep, session: SessionDep
) -> Response:
    unread_only = request.query_params.get("unread") == "1"
    rows = await inbox.messages(session, user, unread_only=unread_only, limit=200, offset=0)
    return render(request, "inbox.html", user=user, notes=rows, unread_only=unread_only)


@router.post("/inbox/read")
async def mark_read(
    request: Request, user: AnyStaffPage, services: ServicesDep, session: SessionDep
) -> Response:
    form = await request.form()
    check_csrf(request, form)
    ids = [str(i) for i in form.getlist("id")] or None
    marked = await inbox.mark_read(session, user, ids, await services.clock())
    flash(request, f"已标为已读 {marked} 条。")
    return redirect("/inbox")
