"""Applicants signed in by unified identity (统一身份认证): 我的办件 and 我的证照.

Signing in is optional: applying with an application number and query code works as before.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from authlib.integrations.base_client import OAuthError
from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import ServicesDep, SessionDep
from api.errors import ApiError
from api.pages.applicant import qr_svg
from api.pages.common import check_csrf, flash, redirect, render, safe_path
from api.services import licences
from api.services import status as lookup
from api.unified_login import (
    PROVIDER,
    IdentityRefused,
    identity_from_claims,
    sign_in,
    sign_out,
    signed_in,
)

log = logging.getLogger("tongban.api.identity")
router = APIRouter(include_in_schema=False)


def _client(request: Request) -> object:
    oauth = request.app.state.oauth
    if oauth is None:
        raise ApiError(404, "not_found", "本中心未接入统一身份认证，请使用申请编号和查询码查询办件")
    return oauth.create_client(PROVIDER)


@router.get("/my/login")
async def login(request: Request) -> Response:
    client = _client(request)
    request.session["after_login"] = safe_path(request.query_params.get("next"), "/my")
    callback = request.url_for("identity_callback")
    return await client.authorize_redirect(request, str(callback))  # type: ignore[attr-defined, no-any-return]


@router.get("/my/callback", name="identity_callback")
async def callback(request: Request) -> Response:
    client = _client(request)
    try:
        token = await client.authorize_access_token(request)  # type: ignore[attr-defined]
        identity = identity_from_claims(dict(token.get("userinfo") or {}))
    except (OAuthError, IdentityRefused) as exc:
        log.warning("unified identity sign-in refused: %s", exc)
        flash(request, f"统一身份认证登录未成功：{exc}", "error")
        return redirect("/")
    sign_in(request, identity)
    return redirect(safe_path(request.session.pop("after_login", None), "/my"))


@router.post("/my/logout")
async def logout(request: Request) -> Response:
    form = await request.form()
    check_csrf(request, form)
    sign_out(request)
    request.session.pop("apps", None)  # and the codes this browser remembered
    return redirect("/")


@router.get("/my")
async def my_applications(request: Request, session: SessionDep) -> Response:
    """我的办件: the applications made under the signed-in identity, no query code needed."""
    identity = signed_in(request)
    if identity is None:
        return redirect("/my/login?next=/my")
    rows = await lookup.own_applications(session, identity.id)
    return render(request, "my_applications.html", identity=identity, applications=rows)


@router.get("/my/licences")
async def my_licences(request: Request, services: ServicesDep, session: SessionDep) -> Response:
    """我的证照: the licences the signed-in applicant holds, each with its QR code."""
    identity = signed_in(request)
    if identity is None:
        return redirect("/my/login?next=/my/licences")
    held = await licences.wallet(services=services, session=session, holder_id=identity.id)
    base = (services.settings.public_url or str(request.base_url)).rstrip("/")
    codes = {
        h.number: qr_svg(f"{base}/licences/{quote(h.number, safe='')}?type={quote(h.type)}")
        for h in held
    }
    return render(request, "my_licences.html", identity=identity, licences=held, qr=codes)


@router.get("/licences/{number}")
async def verify_page(
    number: str, request: Request, services: ServicesDep, session: SessionDep
) -> Response:
    """What a licence's QR code opens: is it genuine and valid (anyone, no sign-in)."""
    kind = request.query_params.get("type") or None
    licence = await licences.verify(services=services, session=session, number=number, type=kind)
    return render(request, "licence.html", licence=licence)
