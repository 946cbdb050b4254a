"""The page session is kept on the server (api.page_sessions): the browser's cookie is a
random token, what the session holds never travels in it, signing out ends it for every
copy of the cookie, and an expired session is never brought back."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from datetime import timedelta

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse
from pytest import MonkeyPatch
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from api.page_sessions import COOKIE, CSRF_COOKIE
from store.models import PageSessionRow
from tests.api_helpers import submit
from tests.conftest import client_of
from tests.page_helpers import csrf


async def _row(engine: AsyncEngine, token: str) -> PageSessionRow | None:
    key = hashlib.sha256(token.encode()).hexdigest()
    async with engine.connect() as conn:
        found = (
            await conn.execute(select(PageSessionRow).where(PageSessionRow.key == key))
        ).one_or_none()
    return PageSessionRow(**found._mapping) if found else None


def _shows_status(page: httpx.Response, number: str) -> bool:
    return page.status_code == 200 and 'name="code"' not in page.text and number in page.text


async def _looked_up(api: httpx.AsyncClient, browser: httpx.AsyncClient) -> tuple[str, str]:
    """An application submitted, and looked up in `browser` by its number and code."""
    accepted = await submit(api)
    number, code = accepted["application_no"], accepted["query_code"]
    await browser.get(f"/status/{number}", params={"code": code}, follow_redirects=True)
    return number, code


async def test_the_cookie_is_a_token_and_holds_nothing_of_the_session(
    api: httpx.AsyncClient, api_app: FastAPI, engine: AsyncEngine
) -> None:
    accepted = await submit(api)
    number, code = accepted["application_no"], accepted["query_code"]
    async with client_of(api_app) as browser:
        assert _shows_status(
            await browser.get(f"/status/{number}", params={"code": code}, follow_redirects=True),
            number,
        )
        token = browser.cookies[COOKIE]
        # The browser remembers the code it verified, on the server: the next visit needs
        # no code in the address.
        assert _shows_status(await browser.get(f"/status/{number}", follow_redirects=True), number)
    assert len(token) == 43
    padded = token + "=" * (-len(token) % 4)
    decoded = base64.urlsafe_b64decode(padded)
    for secret in (number, code):
        assert secret not in token and secret.encode() not in decoded
    row = await _row(engine, token)
    assert row is not None and code in row.data and number in row.data


async def test_signing_out_ends_the_session_for_a_copy_of_its_cookie(
    api: httpx.AsyncClient, api_app: FastAPI, engine: AsyncEngine
) -> None:
    async with client_of(api_app) as browser:
        number, _code = await _looked_up(api, browser)
        copied = browser.cookies[COOKIE]
        token = await csrf(browser, f"/status/{number}")
        out = await browser.post("/my/logout", data={"csrf": token})
        assert out.status_code == 303, out.text
    # The copy taken before the sign-out names a session that no longer holds the code.
    async with client_of(api_app) as thief:
        thief.cookies.set(COOKIE, copied)
        page = await thief.get(f"/status/{number}", follow_redirects=True)
        assert not _shows_status(page, number)
        assert 'name="code"' in page.text


async def test_an_expired_session_is_not_brought_back_and_is_purged(
    api: httpx.AsyncClient, api_app: FastAPI, engine: AsyncEngine, monkeypatch: MonkeyPatch
) -> None:
    services = api_app.state.services
    async with client_of(api_app) as browser:
        number, code = await _looked_up(api, browser)
        old = browser.cookies[COOKIE]
        later = services.session_clock() + timedelta(hours=4, minutes=1)
        monkeypatch.setattr(services, "session_clock", lambda: later)
        # Idle past its four hours: forgotten; the code typed again begins a new session
        # (a new token), and that write purges the old one.
        page = await browser.get(f"/status/{number}", follow_redirects=True)
        assert not _shows_status(page, number)
        await browser.get(f"/status/{number}", params={"code": code}, follow_redirects=True)
        assert browser.cookies[COOKIE] != old
        assert await _row(engine, old) is None
    async with engine.connect() as conn:
        stale = select(func.count()).where(PageSessionRow.expires_at <= later)
        assert (await conn.execute(stale)).scalar() == 0


async def test_a_session_in_use_still_ends_its_lifetime_after_it_began(
    api: httpx.AsyncClient, api_app: FastAPI, engine: AsyncEngine, monkeypatch: MonkeyPatch
) -> None:
    """Used every three hours, a session would slide on for ever: it ends `token_hours`
    (12) after it began, and gaining access to another application does not begin it anew."""
    services = api_app.state.services
    began = services.session_clock()
    second = await submit(api)
    async with client_of(api_app) as browser:
        number, _code = await _looked_up(api, browser)
        first = await _row(engine, browser.cookies[COOKIE])
        assert first is not None
        for hours in (3, 6, 9, 11.9):
            now = began + timedelta(hours=hours)
            monkeypatch.setattr(services, "session_clock", lambda now=now: now)
            assert _shows_status(await browser.get(f"/status/{number}"), number), hours
            if hours == 6:  # a second code verified: a new token, the same end
                token = browser.cookies[COOKIE]
                await browser.get(
                    f"/status/{second['application_no']}",
                    params={"code": second["query_code"]},
                    follow_redirects=True,
                )
                assert browser.cookies[COOKIE] != token
            row = await _row(engine, browser.cookies[COOKIE])
            assert row is not None and row.ends_at == first.ends_at, hours
            assert row.expires_at <= row.ends_at
        after = began + timedelta(hours=12, minutes=1)
        monkeypatch.setattr(services, "session_clock", lambda: after)
        page = await browser.get(f"/status/{number}", follow_redirects=True)
        assert not _shows_status(page, number)
        assert 'name="code"' in page.text


async def test_a_request_without_a_cookie_writes_no_session(
    api: httpx.AsyncClient, api_app: FastAPI, engine: AsyncEngine
) -> None:
    async with engine.connect() as conn:
        before = (await conn.execute(select(func.count()).select_from(PageSessionRow))).scalar()
    async with client_of(api_app) as browser:
        answer = await browser.get("/api/matters")
        assert answer.status_code == 200 and COOKIE not in answer.headers.get("set-cookie", "")
    async with engine.connect() as conn:
        after = (await conn.execute(select(func.count()).select_from(PageSessionRow))).scalar()
    assert after == before


def _slow_route(app: FastAPI, key: str) -> tuple[asyncio.Event, asyncio.Event]:
    """A page that has read the session, then waits (as one waiting on the engine does)
    before it changes `key`: (entered, gate)."""
    entered, gate = asyncio.Event(), asyncio.Event()

    async def slow(request: Request) -> PlainTextResponse:
        entered.set()
        await gate.wait()
        request.session[key] = "slow"
        return PlainTextResponse("ok")

    app.add_api_route(f"/_slow_{key}", slow, methods=["GET"])
    return entered, gate


async def test_a_request_under_way_at_the_sign_out_does_not_bring_the_session_back(
    api: httpx.AsyncClient, api_app: FastAPI, engine: AsyncEngine
) -> None:
    entered, gate = _slow_route(api_app, "late")
    async with client_of(api_app) as browser:
        number, _code = await _looked_up(api, browser)
        copied = browser.cookies[COOKIE]
        pending = asyncio.create_task(browser.get("/_slow_late"))
        await entered.wait()
        token = await csrf(browser, f"/status/{number}")
        assert (await browser.post("/my/logout", data={"csrf": token})).status_code == 303
        assert await _row(engine, copied) is None  # ended: nothing left to keep
        gate.set()
        assert (await pending).status_code == 200
        assert browser.cookies[COOKIE] == copied  # the late answer gave it no session back
        assert await _row(engine, copied) is None
    async with client_of(api_app) as thief:
        thief.cookies.set(COOKIE, copied)
        page = await thief.get(f"/status/{number}", follow_redirects=True)
        assert not _shows_status(page, number)


async def test_overlapping_requests_keep_each_other_s_changes(
    api: httpx.AsyncClient, api_app: FastAPI, engine: AsyncEngine
) -> None:
    """Two tabs: the slow one's change is written over the other's, not instead of it."""
    entered, gate = _slow_route(api_app, "from_the_slow_tab")

    async def quick(request: Request) -> PlainTextResponse:
        request.session["from_the_quick_tab"] = "quick"
        return PlainTextResponse("ok")

    api_app.add_api_route("/_quick", quick, methods=["GET"])
    async with client_of(api_app) as browser:
        number, _code = await _looked_up(api, browser)
        pending = asyncio.create_task(browser.get("/_slow_from_the_slow_tab"))
        await entered.wait()
        await browser.get("/_quick")
        gate.set()
        await pending
        row = await _row(engine, browser.cookies[COOKIE])
    assert row is not None
    held = json.loads(row.data)
    assert held["from_the_slow_tab"] == "slow" and held["from_the_quick_tab"] == "quick"
    assert number in held["apps"]


async def test_a_session_in_use_lives_on_without_a_write_on_every_request(
    api: httpx.AsyncClient, api_app: FastAPI, engine: AsyncEngine, monkeypatch: MonkeyPatch
) -> None:
    services = api_app.state.services
    real = services.session_clock
    async with client_of(api_app) as browser:
        number, _code = await _looked_up(api, browser)
        token = browser.cookies[COOKIE]
        first = await _row(engine, token)
        assert first is not None
        for minutes, moved in ((2, False), (6, True)):
            now = real() + timedelta(minutes=minutes)
            monkeypatch.setattr(services, "session_clock", lambda now=now: now)
            await browser.get(f"/status/{number}", follow_redirects=True)
            row = await _row(engine, token)
            assert row is not None
            assert (row.expires_at > first.expires_at) is moved, minutes


async def test_reading_pages_writes_no_session_and_forms_still_post(
    api_app: FastAPI, engine: AsyncEngine
) -> None:
    """A visitor who only reads pages gets a CSRF seed and no session; a form posted with
    it is accepted, one with another's CSRF token is not."""

    async def rows() -> int:
        async with engine.connect() as conn:
            count = select(func.count()).select_from(PageSessionRow)
            return int((await conn.execute(count)).scalar_one())

    before = await rows()
    async with client_of(api_app) as reader, client_of(api_app) as other:
        for page in ("/", "/status", "/matters/company_setup", "/apply/company_setup"):
            assert (await reader.get(page)).status_code == 200
        assert await rows() == before and COOKIE not in reader.cookies
        seed = reader.cookies[CSRF_COOKIE]
        mine, theirs = await csrf(reader, "/status"), await csrf(other, "/status")
        assert mine != theirs and reader.cookies[CSRF_COOKIE] == seed
        assert (await reader.post("/my/logout", data={"csrf": theirs})).status_code == 403
        assert (await reader.post("/my/logout", data={"csrf": mine})).status_code == 303


async def test_a_form_open_in_another_tab_still_posts(
    api: httpx.AsyncClient, api_app: FastAPI
) -> None:
    """Looking up another application, or a refused form, in one tab changes the session;
    the forms already open in the other tabs still post."""
    async with client_of(api_app) as browser:
        number, _code = await _looked_up(api, browser)
        open_form = await csrf(browser, f"/status/{number}")
        await _looked_up(api, browser)  # the second tab
        refused = await browser.post(
            f"/status/{number}/withdraw", data={"csrf": open_form, "reason": "<"}
        )
        assert refused.status_code == 303 and "/status/" in refused.headers["location"]
        assert (await browser.post("/my/logout", data={"csrf": open_form})).status_code == 303


async def test_a_token_the_browser_brings_names_no_session(
    api: httpx.AsyncClient, api_app: FastAPI, engine: AsyncEngine
) -> None:
    """A token planted in a browser (well formed, no session of that name) is not taken: the
    session is written under a token of the server's making."""
    planted = "p" * 43
    async with client_of(api_app) as browser:
        browser.cookies.set(COOKIE, planted, domain="tongban.test")
        await _looked_up(api, browser)
        assert browser.cookies[COOKIE] != planted
    assert await _row(engine, planted) is None


async def test_a_request_that_empties_the_session_keeps_what_another_wrote_meanwhile(
    api: httpx.AsyncClient, api_app: FastAPI, engine: AsyncEngine
) -> None:
    """A page shows the last message (the session is then empty) while another request
    writes: the session is not ended over the other's write."""
    entered, gate = asyncio.Event(), asyncio.Event()

    async def shows_the_message(request: Request) -> PlainTextResponse:
        entered.set()
        await gate.wait()
        request.session.clear()
        return PlainTextResponse("ok")

    async def writes(request: Request) -> PlainTextResponse:
        request.session["meanwhile"] = "kept"
        return PlainTextResponse("ok")

    api_app.add_api_route("/_shows", shows_the_message, methods=["GET"])
    api_app.add_api_route("/_writes", writes, methods=["GET"])
    async with client_of(api_app) as browser:
        await _looked_up(api, browser)
        pending = asyncio.create_task(browser.get("/_shows"))
        await entered.wait()
        await browser.get("/_writes")
        gate.set()
        await pending
        row = await _row(engine, browser.cookies[COOKIE])
    assert row is not None and json.loads(row.data) == {"meanwhile": "kept"}


async def test_a_csrf_value_not_in_ascii_is_refused_not_an_error(api_app: FastAPI) -> None:
    async with client_of(api_app) as browser:
        await csrf(browser, "/status")
        refused = await browser.post("/my/logout", data={"csrf": "页面令牌"})
        assert refused.status_code == 403


async def test_a_session_planted_by_someone_else_gains_nothing_from_the_victim(
    api: httpx.AsyncClient, api_app: FastAPI
) -> None:
    """Session fixation: a live token of the attacker's own, planted in the victim's
    browser, is replaced when the victim's code is remembered, so the attacker's copy never
    opens the victim's application."""
    async with client_of(api_app) as attacker:
        await _looked_up(api, attacker)
        planted = attacker.cookies[COOKIE]
        async with client_of(api_app) as victim:
            victim.cookies.set(COOKIE, planted, domain="tongban.test")
            number, _ = await _looked_up(api, victim)
            assert victim.cookies[COOKIE] != planted
            assert _shows_status(await victim.get(f"/status/{number}"), number)
        assert not _shows_status(
            await attacker.get(f"/status/{number}", follow_redirects=True), number
        )


async def test_a_staff_sign_in_on_a_shared_browser_takes_nothing_over(
    api: httpx.AsyncClient, api_app: FastAPI
) -> None:
    """At a counter's browser: the applicant's remembered code does not pass to the member
    of staff who signs in next, and a second sign-in ends the first one's session."""
    from api.deps import SESSION_COOKIE
    from tests.page_helpers import sign_in

    async with client_of(api_app) as browser:
        number, _ = await _looked_up(api, browser)
        await sign_in(browser, "clerk")
        assert not _shows_status(
            await browser.get(f"/status/{number}", follow_redirects=True), number
        )
        clerks = browser.cookies[SESSION_COOKIE]
        # /login sends a signed-in visitor home; the form posts from any page all the same.
        token = await csrf(browser, "/window")  # its forms carry the token
        second = {"username": "psb", "password": "demo", "csrf": token}
        assert (await browser.post("/login", data=second)).status_code == 303
    async with client_of(api_app) as copy:
        copy.cookies.set(SESSION_COOKIE, clerks)
        page = await copy.get("/window", follow_redirects=False)
    assert page.status_code == 303 and "/login" in page.headers["location"]
