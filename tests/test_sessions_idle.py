"""Idle expiry of staff sessions and tokens (TONGBAN_IDLE_MINUTES), on an injected clock:
a token unused for that long is refused as expired, whatever its absolute lifetime left."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.security import token_digest
from store.models import TokenRow
from tests.api_helpers import error_body, login, second_app
from tests.page_helpers import csrf, flashes


class Clock:
    """The real time of sign-ins and sessions, moved by hand."""

    def __init__(self) -> None:
        # From the real now: a sign-in clears the tokens expired by its time, and those of
        # the other tests (signed in on the real clock) must not look expired to it.
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


async def last_use(sessions: async_sessionmaker[AsyncSession], token: str) -> datetime | None:
    async with sessions() as session:
        return await session.scalar(
            select(TokenRow.last_used_at).where(TokenRow.digest == token_digest(token))
        )


async def test_an_unused_token_is_refused_after_the_idle_limit(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], demo_accounts: None
) -> None:
    clock = Clock()
    async with second_app(engine, session_clock=clock, idle_minutes=30) as (_, api):
        headers = await login(api, "clerk")
        token = headers["Authorization"].removeprefix("Bearer ")
        signed_in = clock.now

        # Used now and then: each use starts the thirty minutes again.
        for _ in range(3):
            clock.advance(minutes=29)
            assert (await api.get("/api/auth/me", headers=headers)).status_code == 200
        assert clock.now - signed_in == timedelta(minutes=87)

        clock.advance(minutes=30)
        refused = await api.get("/api/auth/me", headers=headers)
        assert error_body(refused, 401)["message"] == "您已超过30分钟未操作，登录已失效，请重新登录"
        assert refused.headers["WWW-Authenticate"] == "Bearer"
        # Refused once, forgotten: the token is gone from the database.
        assert await last_use(sessions, token) is None
        again = await api.get("/api/auth/me", headers=headers)
        assert error_body(again, 401)["message"] == "请先登录（缺少或无效的访问令牌）"


async def test_a_use_is_written_at_most_once_a_minute(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], demo_accounts: None
) -> None:
    clock = Clock()
    async with second_app(engine, session_clock=clock) as (_, api):
        headers = await login(api, "amr")
        token = headers["Authorization"].removeprefix("Bearer ")
        issued = clock.now
        for _ in range(5):  # within the minute: nothing written
            clock.advance(seconds=10)
            assert (await api.get("/api/tasks", headers=headers)).status_code == 200
        assert await last_use(sessions, token) == issued
        clock.advance(seconds=10)  # a minute after the last recorded use
        assert (await api.get("/api/tasks", headers=headers)).status_code == 200
        assert await last_use(sessions, token) == clock.now


async def test_the_absolute_lifetime_holds_whatever_the_use(
    engine: AsyncEngine, demo_accounts: None
) -> None:
    clock = Clock()
    async with second_app(engine, session_clock=clock, token_hours=1) as (_, api):
        headers = await login(api, "supervisor")
        for _ in range(3):
            clock.advance(minutes=19)
            used = await api.get("/api/supervision/overview", headers=headers)
            assert used.status_code == 200, used.text
        clock.advance(minutes=4)  # 61 minutes after signing in, used 4 minutes ago
        refused = await api.get("/api/supervision/overview", headers=headers)
        assert error_body(refused, 401)["message"] == "请先登录（缺少或无效的访问令牌）"


async def test_an_idle_page_session_goes_back_to_the_login_page_saying_why(
    engine: AsyncEngine, demo_accounts: None
) -> None:
    clock = Clock()
    async with second_app(engine, session_clock=clock, idle_minutes=15) as (_, browser):
        signed = await browser.post(
            "/login",
            data={"username": "clerk", "password": "demo", "csrf": await csrf(browser, "/login")},
        )
        assert signed.status_code == 303
        clock.advance(minutes=14)
        assert (await browser.get("/window")).status_code == 200
        clock.advance(minutes=15)
        sent_back = await browser.get("/window")
        assert sent_back.status_code == 303
        assert sent_back.headers["location"] == "/login?next=/window"
        login_page = await browser.get(sent_back.headers["location"])
        assert flashes(login_page.text) == ["您已超过15分钟未操作，登录已失效，请重新登录"]


async def test_the_default_is_thirty_minutes() -> None:
    from settings import Settings

    assert Settings(secret_key="x").idle_minutes == 30
