"""Tokens for the API: the OAuth2 password grant for people, the client-credentials grant for
departments' own systems (`tongban clients add`)."""

from __future__ import annotations

import base64
from typing import Annotated, Literal
from urllib.parse import unquote_plus

from fastapi import APIRouter, Form, Request

from api.deps import CurrentUser, ServicesDep, SessionDep, bearer_token, client_key
from api.errors import ApiError, invalid, too_many
from api.openapi import answers
from api.schemas import Me, TokenOut
from api.services import accounts

router = APIRouter(prefix="/api/auth", tags=["auth"])


async def sign_in(
    *,
    services: ServicesDep,
    session: SessionDep,
    username: str,
    password: str,
    client: str,
    via: str,
    kind: str = accounts.PERSON,
) -> accounts.StaffUser:
    """Check a password (or a client's secret), throttling repeated failures from one
    client. Each check, passed or failed, is written to the audit trail (`login`,
    `login_failed`); the caller commits a success with the token it issues. Attempts refused
    by the throttle never reach the password and are not written: a flood of them cannot
    fill the trail."""
    name, now = username.strip().lower(), services.session_clock()
    attempt = services.logins.attempt(name, client, now, per_account=True)
    wait = await services.logins.retry_after(session, attempt)
    if wait is None:
        wait = await services.logins.reserve(session, attempt)
    if wait is not None:
        raise too_many("登录失败次数过多，请稍后再试", wait)
    user = await accounts.authenticate(session, username, password, kind=kind)
    await accounts.record_access(
        session,
        action="login" if user else "login_failed",
        username=username,
        user=user,
        client=client,
        via=via,
        at=services.session_clock(),
    )
    if user is None:
        await session.commit()  # the failure was counted by `reserve`
        raise ApiError(
            401, "unauthorized", "用户名或密码不正确", headers={"WWW-Authenticate": "Bearer"}
        )
    await services.logins.forgive(session, attempt)
    return user


# A password or a client's secret is hashed with argon2, so its length is capped before it
# costs anything (1024 characters are far beyond any passphrase).
Password = Annotated[str, Form(max_length=1024, json_schema_extra={"format": "password"})]


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    """A client's id and secret sent as HTTP Basic (RFC 6749 §2.3.1: each form-urlencoded
    first), as OAuth2 client libraries send them by default; None without that header."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except ValueError:  # not base64, or not UTF-8
        decoded = ""
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise invalid({"Authorization": "不是有效的 HTTP Basic 凭据（client_id:client_secret）"})
    return unquote_plus(client_id), unquote_plus(secret)


@router.post("/token", response_model=TokenOut)
@answers(401, 429)
async def token(
    request: Request,
    services: ServicesDep,
    session: SessionDep,
    grant_type: Annotated[
        Literal["password", "client_credentials"], Form(description="OAuth2 grant")
    ] = "password",
    username: Annotated[str, Form(max_length=64)] = "",
    password: Password = "",
    client_id: Annotated[str, Form(max_length=64)] = "",
    client_secret: Password = "",
) -> TokenOut:
    """A bearer token: `grant_type=password` with `username` and `password` for staff,
    `grant_type=client_credentials` with `client_id` and `client_secret` (in the form, or as
    HTTP Basic) for a department's own system (scoped to its department, its actions
    attributed to it). Valid for
    `TONGBAN_TOKEN_HOURS` and refused once unused for `TONGBAN_IDLE_MINUTES`."""
    if grant_type == "client_credentials":
        name, secret, kind = client_id, client_secret, accounts.CLIENT
        basic = _basic_credentials(request)
        if basic is not None:
            if client_id or client_secret:
                raise invalid({"client_id": "客户端凭据只能用一种方式提交（HTTP Basic 或表单）"})
            name, secret = basic
        missing = {k: "必填" for k, v in (("client_id", name), ("client_secret", secret)) if not v}
    else:
        name, secret, kind = username, password, accounts.PERSON
        missing = {k: "必填" for k, v in (("username", name), ("password", secret)) if not v}
    if missing:
        raise invalid(missing)
    user = await sign_in(
        services=services,
        session=session,
        username=name,
        password=secret,
        client=client_key(request),
        via="api",
        kind=kind,
    )
    hours = services.settings.token_hours
    access = await accounts.issue_token(
        session, user, kind="bearer", hours=hours, now=services.session_clock()
    )
    await session.commit()
    return TokenOut(access_token=access, expires_in=hours * 3600)


@router.get("/me", response_model=Me)
async def me(user: CurrentUser) -> Me:
    return Me(
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        department=user.department,
    )


@router.post("/logout", status_code=204)
async def logout(
    request: Request, user: CurrentUser, services: ServicesDep, session: SessionDep
) -> None:
    token = bearer_token(request)
    if token:
        await accounts.revoke(session, token)
        await accounts.record_access(
            session,
            action="logout",
            username=user.username,
            user=user,
            client=client_key(request),
            via="api",
            at=services.session_clock(),
        )
        await session.commit()
