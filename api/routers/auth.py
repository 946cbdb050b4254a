"""Tokens for the API (OAuth2 password flow)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request

from api.deps import CurrentUser, ServicesDep, SessionDep, bearer_token, client_key
from api.errors import ApiError, too_many
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
) -> accounts.StaffUser:
    """Check a password, throttling repeated failures from one client. Each check, passed or
    failed, is written to the audit trail (`login`, `login_failed`); the caller commits a
    success with the token it issues. Attempts refused by the throttle never reach the
    password and are not written: a flood of them cannot fill the trail."""
    subject = username.strip().lower()
    wait = services.logins.retry_after(subject, client)
    if wait is not None:
        raise too_many("登录失败次数过多，请稍后再试", wait)
    user = await accounts.authenticate(session, username, password)
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
        await session.commit()
        services.logins.fail(subject, client)
        raise ApiError(
            401, "unauthorized", "用户名或密码不正确", headers={"WWW-Authenticate": "Bearer"}
        )
    return user


# The OAuth2 password flow's form, bounded: a password is hashed with argon2, so its length
# is capped before it costs anything (1024 characters are far beyond any passphrase).
Username = Annotated[str, Form(min_length=1, max_length=64)]
Password = Annotated[
    str, Form(min_length=1, max_length=1024, json_schema_extra={"format": "password"})
]
GrantType = Annotated[
    str | None, Form(pattern="^password$", max_length=8, description="OAuth2: password")
]


@router.post("/token", response_model=TokenOut)
@answers(401, 429)
async def token(
    username: Username,
    password: Password,
    request: Request,
    services: ServicesDep,
    session: SessionDep,
    grant_type: GrantType = None,
) -> TokenOut:
    """A bearer token (OAuth2 password flow), valid for `TONGBAN_TOKEN_HOURS` and refused
    once unused for `TONGBAN_IDLE_MINUTES`."""
    user = await sign_in(
        services=services,
        session=session,
        username=username,
        password=password,
        client=client_key(request),
        via="api",
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
