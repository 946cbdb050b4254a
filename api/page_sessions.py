"""The page session, kept in the database: the browser holds only a random token.

What a browser's visit keeps between pages (flash messages, a refused form's values, an
applicant's unified-identity claims and the applications whose query code they verified)
is `request.session`, as with Starlette's signed-cookie sessions. Here it lives in
`page_sessions` (`store.page_sessions`), so that:
- no ID number, name, mobile or query code travels in a cookie, readable by whoever holds it;
- signing out ends the session on the server: a copy of the cookie taken before no longer
  works;
- a refused form's long text is kept, not dropped to fit a cookie's 4 KB;
- every API process, on every host, sees the same session.

The browser's token is also what its forms' CSRF token is made from (`csrf_token`: an HMAC
under the deployment's secret), so a visit that only reads pages has a token and no row: a
row is written once the session holds something. A token is given anew (`renew`) whenever
the session comes to hold what must not be readable with a token planted or seen before:
a sign-in, a query code verified, a refused form's values.

A session lasts `max_age` after its last change or use. An unchanged session's expiry is
moved on at most every `TOUCH_EVERY`, so that reading pages does not write on each request.
API calls and static files neither read nor write it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import errors
from api.container import Services
from store import page_sessions as stored

log = logging.getLogger(__name__)

COOKIE = "tongban_page"
_RENEW = "tongban.page_session.renew"
_VISIT = "tongban.page_session.visit"
# secrets.token_urlsafe(32): 43 characters of the URL-safe alphabet.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
# How often a write merges its changes again over those of requests that overlapped it.
_MERGES = 3
_ENDED_MEANWHILE = object()
# Requests that never use the page session (the API's credentials are tokens): they neither
# read nor write it, and a database outage answers them as their own routes would.
_NO_SESSION = ("/api/", "/static/")


@dataclass
class _Visit:
    token: str | None = None  # the browser's, or one given in this request
    stored: bool = False  # the token has a live row
    given: bool = False  # the token was made in this request: the browser is to hold it
    text: str = ""  # the row's JSON when read
    expires_at: datetime | None = None


def renew(request: Request) -> None:
    """Give this visit a new token when its response is sent (and end the old one): on
    signing in or out, or when the session comes to hold a query code or a form's values,
    so that a token planted or seen before is not the one that reads them."""
    request.scope[_RENEW] = True


def csrf_token(request: Request) -> str:
    """The CSRF token of the visit's forms, made from its token (one is given if it has
    none yet): stored nowhere, and new with every new token."""
    visit: _Visit = request.scope[_VISIT]
    if visit.token is None:
        visit.token, visit.given = secrets.token_urlsafe(32), True
    secret = request.app.state.services.secret
    return hmac.new(secret, b"csrf\x1f" + visit.token.encode(), hashlib.sha256).hexdigest()[:32]


def _key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


class PageSessions:
    TOUCH_EVERY = timedelta(minutes=5)
    # Expired sessions are deleted by the next write at least this long after the last
    # deletion (by this process): nothing else has to run for it.
    PURGE_EVERY = timedelta(minutes=1)

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_age: timedelta,
        https_only: bool,
        html: errors.HtmlRenderer,
    ) -> None:
        self.app, self.max_age, self.https_only, self.html = app, max_age, https_only, html
        self._purged_at: datetime | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        services: Services | None = getattr(scope["app"].state, "services", None)
        visit = scope[_VISIT] = _Visit()
        if (
            scope["type"] != "http"
            or services is None  # the app is starting
            or str(scope["path"]).startswith(_NO_SESSION)
        ):
            scope["session"] = {}
            await self.app(scope, receive, send)
            return
        token = HTTPConnection(scope).cookies.get(COOKIE)
        if token and _TOKEN.fullmatch(token):
            visit.token = token
            try:
                async with services.reads() as reader:
                    found = await stored.find(reader, _key(token), services.session_clock())
            except errors.DATABASE_DOWN as exc:
                log.warning("page session unavailable: %s", exc)
                scope["session"] = {}
                err = errors.database_unavailable()
                await errors.answer(Request(scope), err, self.html)(scope, receive, send)
                return
            if found is not None:
                visit.stored = True
                visit.text, visit.expires_at = found
        scope["session"] = json.loads(visit.text) if visit.text else {}

        async def settled(message: Message) -> None:
            if message["type"] == "http.response.start":
                await self._settle(scope, services, visit, MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, settled)

    async def _settle(
        self, scope: Scope, services: Services, visit: _Visit, headers: MutableHeaders
    ) -> None:
        """Write what the request changed in the session, and tell the browser its token."""
        data: dict[str, Any] = scope["session"]
        text = _dump(data) if data else ""
        now = services.session_clock()
        renewing = bool(scope.get(_RENEW))
        if not renewing and text == visit.text:
            used_lately = (
                visit.expires_at is not None
                and visit.expires_at - now > self.max_age - self.TOUCH_EVERY
            )
            if not visit.stored or used_lately:
                if visit.given and visit.token:  # a token for the forms just rendered
                    self._tell(scope, headers, visit.token)
                return  # nothing to write: no session, or one used within TOUCH_EVERY
        try:
            async with services.sessions() as writer:
                token = await self._write(writer, visit, data, text, now, renewing)
                if self._purged_at is None or now - self._purged_at >= self.PURGE_EVERY:
                    self._purged_at = now
                    await stored.purge(writer, now)
                await writer.commit()
        except errors.DATABASE_DOWN as exc:
            # The response is made (an action may be done): send it, and lose only what the
            # session would have carried to the next page (a message, a form's values).
            log.warning("page session not written: %s", exc)
            return
        if token is not _ENDED_MEANWHILE:
            self._tell(scope, headers, token)

    async def _write(
        self,
        writer: AsyncSession,
        visit: _Visit,
        data: dict[str, Any],
        text: str,
        now: datetime,
        renewing: bool,
    ) -> str | object:
        """The session's row written (or ended); the token the browser is to hold, or
        `_ENDED_MEANWHILE` to tell it nothing (it may hold a newer one).

        Requests of one browser overlap (two tabs, a page waiting on the engine while
        another signs out): each writes only what it changed, over what the row holds by
        then, and never brings back a session ended meanwhile."""
        expires_at = now + self.max_age
        if not visit.stored:
            # A new session: under the token the browser holds (its forms' CSRF tokens are
            # made from it), or a new one if it is to be renewed.
            token = secrets.token_urlsafe(32) if renewing or visit.token is None else visit.token
            if text:
                await stored.create(writer, _key(token), text, expires_at)
            return token
        assert visit.token is not None
        key = _key(visit.token)
        if not renewing and text == visit.text:  # used, not changed: its expiry moves on
            await stored.touch(writer, key, expires_at)
            return visit.token
        before = json.loads(visit.text) if visit.text else {}
        changed = {k: v for k, v in data.items() if k not in before or before[k] != v}
        removed = before.keys() - data.keys()
        if renewing:
            # Over what the row holds by now; ended meanwhile (signed out in another tab),
            # only what this request itself put in.
            found = await stored.find(writer, key, now)
            current = json.loads(found[0]) if found else {}
            merged = {k: v for k, v in current.items() if k not in removed} | changed
            await stored.end(writer, key)
            token = secrets.token_urlsafe(32)
            if merged:
                await stored.create(writer, _key(token), _dump(merged), expires_at)
            return token
        held = visit.text
        for _ in range(_MERGES):
            if not text:  # emptied (a message shown): no row, the token and its forms stay
                await stored.end(writer, key)
                return visit.token
            if await stored.keep(writer, key, text, expires_at, held=held):
                return visit.token
            found = await stored.find(writer, key, now)
            if found is None:
                return _ENDED_MEANWHILE  # signed out meanwhile: not brought back
            held = found[0]
            current = json.loads(held)
            merged = {k: v for k, v in current.items() if k not in removed} | changed
            text = _dump(merged) if merged else ""
        log.warning("page session not written: changed by other requests meanwhile")
        return visit.token

    def _tell(self, scope: Scope, headers: MutableHeaders, token: str | object) -> None:
        assert isinstance(token, str)
        cookie = Response()
        secure = self.https_only or scope.get("scheme") == "https"
        max_age = int(self.max_age.total_seconds())
        cookie.set_cookie(
            COOKIE, token, max_age=max_age, httponly=True, samesite="lax", secure=secure
        )
        for value in cookie.headers.getlist("set-cookie"):
            headers.append("set-cookie", value)
