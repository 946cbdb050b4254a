"""Staff sign-ins, refused sign-ins and sign-outs are on the audit trail (actions `login`,
`login_failed`, `logout`): whose account, from which address, through the API or a page."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from store.models import AuditRow
from tests.api_helpers import other_client, second_app
from tests.page_helpers import csrf

Row = dict[str, Any]


async def trail(sessions: async_sessionmaker[AsyncSession], client: str) -> list[Row]:
    """The sign-in entries written for calls from `client`, oldest first."""
    async with sessions() as session:
        rows = await session.scalars(
            select(AuditRow)
            .where(AuditRow.action.in_(["login", "login_failed", "logout"]))
            .order_by(AuditRow.id)
        )
        return [
            {
                "action": r.action,
                "subject": r.subject,
                "actor_id": r.actor_id,
                "actor_role": r.actor_role,
                "detail": r.detail,
            }
            for r in rows
            if r.detail.get("client") == client
        ]


def entry(action: str, subject: str, actor: str, role: str, client: str, via: str) -> Row:
    return {
        "action": action,
        "subject": subject,
        "actor_id": actor,
        "actor_role": role,
        "detail": {"client": client, "via": via},
    }


async def user_id(sessions: async_sessionmaker[AsyncSession], username: str) -> str:
    from store.models import UserRow

    async with sessions() as session:
        found = await session.scalar(select(UserRow.id).where(UserRow.username == username))
    return f"user:{found}"


async def test_api_sign_ins_failures_and_sign_outs_are_audited(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], demo_accounts: None
) -> None:
    client = "10.7.0.1"
    async with second_app(engine, client_host=client) as (_, api):
        wrong = await api.post("/api/auth/token", data={"username": "tax", "password": "guess"})
        unknown = await api.post("/api/auth/token", data={"username": "nobody", "password": "x"})
        assert wrong.status_code == unknown.status_code == 401
        signed = await api.post("/api/auth/token", data={"username": "tax", "password": "demo"})
        token = {"Authorization": f"Bearer {signed.json()['access_token']}"}
        assert (await api.post("/api/auth/logout", headers=token)).status_code == 204
    tax = await user_id(sessions, "tax")
    assert await trail(sessions, client) == [
        entry("login_failed", "tax", "anonymous", "anonymous", client, "api"),
        # No such account: perhaps a password typed in the wrong field, so not kept as typed.
        entry("login_failed", "（未知账号）n***", "anonymous", "anonymous", client, "api"),
        entry("login", "tax", tax, "staff", client, "api"),
        entry("logout", "tax", tax, "staff", client, "api"),
    ]


async def test_page_sign_ins_failures_and_sign_outs_are_audited(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], demo_accounts: None
) -> None:
    client = "10.7.0.2"
    async with second_app(engine, client_host=client) as (_, browser):
        refused = await browser.post(
            "/login",
            data={"username": "clerk", "password": "nope", "csrf": await csrf(browser, "/login")},
        )
        assert refused.status_code == 401
        signed = await browser.post(
            "/login",
            data={"username": "clerk", "password": "demo", "csrf": await csrf(browser, "/login")},
        )
        assert signed.status_code == 303
        token = await csrf(browser, "/window")
        assert (await browser.post("/logout", data={"csrf": token})).status_code == 303
    clerk = await user_id(sessions, "clerk")
    assert await trail(sessions, client) == [
        entry("login_failed", "clerk", "anonymous", "anonymous", client, "page"),
        entry("login", "clerk", clerk, "clerk", client, "page"),
        entry("logout", "clerk", clerk, "clerk", client, "page"),
    ]


async def test_throttled_attempts_are_refused_without_filling_the_trail(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], demo_accounts: None
) -> None:
    client = "10.7.0.3"
    async with second_app(
        engine, client_host=client, lookup_failures_allowed=2, lookup_window_seconds=60
    ) as (_, api):
        statuses = [
            (
                await api.post("/api/auth/token", data={"username": "psb", "password": "x"})
            ).status_code
            for _ in range(4)
        ]
    assert statuses == [401, 401, 429, 429]
    assert [e["action"] for e in await trail(sessions, client)] == ["login_failed"] * 2


async def test_wrong_passwords_sent_at_once_are_checked_no_more_than_allowed(
    engine: AsyncEngine, demo_accounts: None
) -> None:
    """Each attempt is counted before its password is checked: sent together, they see
    one another, and no more than allowed reach the password (on PostgreSQL all may be
    counted before any is checked, and none reaches it)."""
    async with second_app(
        engine, client_host="10.7.0.4", lookup_failures_allowed=3, lookup_window_seconds=60
    ) as (_, api):

        async def guess() -> int:
            data = {"username": "housing", "password": "guess"}
            return (await api.post("/api/auth/token", data=data)).status_code

        statuses = await asyncio.gather(*(guess() for _ in range(12)))
    assert set(statuses) <= {401, 429} and statuses.count(401) <= 3


async def test_an_account_guessed_from_many_addresses_is_held_too(
    engine: AsyncEngine, demo_accounts: None
) -> None:
    """Three times the limit of one address, from any addresses together, holds the
    account (登录失败处理). A right password is counted while it is checked, then not."""
    async with second_app(
        engine, client_host="10.7.1.1", lookup_failures_allowed=2, lookup_window_seconds=60
    ) as (app, first):
        for _ in range(3):  # more than the two failures allowed
            signed_in = await first.post(
                "/api/auth/token", data={"username": "realty", "password": "demo"}
            )
            assert signed_in.status_code == 200
        for n in range(3):
            async with await other_client(app, f"10.7.1.{n + 2}") as guesser:
                for _ in range(2):
                    data = {"username": "realty", "password": "guess"}
                    assert (await guesser.post("/api/auth/token", data=data)).status_code == 401
        async with await other_client(app, "10.7.1.9") as owner:
            data = {"username": "realty", "password": "demo"}
            held = await owner.post("/api/auth/token", data=data)
        assert held.status_code == 429 and int(held.headers["Retry-After"]) > 0
