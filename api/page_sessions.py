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

A session's token is made by the server when the session first holds something, never
taken from the browser (a token planted in a browser names no session), and made anew on
signing in and out (`renew`). The forms' CSRF tokens come from a second cookie, a random
seed of the browser's (`csrf_token`: an HMAC of it under the deployment's secret), so they
hold across the session's new tokens, in every tab, and a visitor who only reads pages
writes nothing.

A session lasts `max_age` after its last change or use, and never beyond `lifetime` from
when it began (signing in or out begins a new one; gaining access by a query code does not):
an applicant's identity, once signed in, is not kept alive for ever by a tab left polling.
An unchanged session's expiry is moved on at most every `TOUCH_EVERY`, so that reading
pages does not write on each request.
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
CSRF_COOKIE = "tongban_csrf"
_RENEW = "tongban.page_session.renew"
_VISIT = "tongban.page_session.visit"
# secrets.token_urlsafe(32): 43 characters of the URL-safe alphabet (tokens and seeds).
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
# How often a write merges its changes again over those of requests that overlapped it.
_MERGES = 3
# Requests that never use the page session (the API's credentials are tokens): they neither
# read nor write it, and a database outage answers them as their own routes would.
_NO_SESSION = ("/api/", "/static/")


@dataclass
class _Visit:
    token: str | None = None  # the live session's (one the browser sent whose row exists)
    text: str = ""  # its JSON when read
    expires_at: datetime | None = None
    ends_at: datetime | None = None  # its absolute end, however much it is used
    seed: str | None = None  # the CSRF seed the browser sent, or one made in this request
    seed_given: bool = False  # made in this request: the browser is to hold it


def _well_formed(value: str | None) -> str | None:
    return value if value and _TOKEN.fullmatch(value) else None


def renew(request: Request, *, seed: bool = True) -> None:
    """On signing in or out: the session gets a new token when the response is sent (the
    old one ends), a new lifetime, and the forms a new CSRF seed from now on (unless `seed`
    is False: a session that gains access, where the forms of other tabs are to keep
    working, and the session its lifetime)."""
    request.scope[_RENEW] = "anew" if seed else "same"
    if seed:
        visit: _Visit = request.scope[_VISIT]
        visit.seed, visit.seed_given = secrets.token_urlsafe(32), True


def csrf_token(request: Request) -> str:
    """The CSRF token of the browser's forms: an HMAC of its seed (made now if it has none),
    stored nowhere."""
    visit: _Visit = request.scope[_VISIT]
    if visit.seed is None:
        visit.seed, visit.seed_given = secrets.token_urlsafe(32), True
    secret = request.app.state.services.secret
    return hmac.new(secret, b"csrf\x1f" + visit.seed.encode(), hashlib.sha256).hexdigest()[:32]


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
        lifetime: timedelta,
        https_only: bool,
        html: errors.HtmlRenderer,
    ) -> None:
        self.app, self.max_age, self.https_only, self.html = app, max_age, https_only, html
        self.lifetime = lifetime
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
        cookies = HTTPConnection(scope).cookies
        visit.seed = _well_formed(cookies.get(CSRF_COOKIE))
        token = _well_formed(cookies.get(COOKIE))
        if token:
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
                visit.token = token
                visit.text, visit.expires_at, visit.ends_at = found
        scope["session"] = json.loads(visit.text) if visit.text else {}

        async def settled(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                await self._settle(scope, services, visit, headers)
                if visit.seed_given and visit.seed:
                    # For as long as the browser runs: a form left open keeps working.
                    self._tell(scope, headers, CSRF_COOKIE, visit.seed, max_age=None)
            await send(message)

        await self.app(scope, receive, settled)

    async def _settle(
        self, scope: Scope, services: Services, visit: _Visit, headers: MutableHeaders
    ) -> None:
        """Write what the request changed in the session, and tell the browser its token."""
        data: dict[str, Any] = scope["session"]
        text = _dump(data) if data else ""
        now = services.session_clock()
        renewing = scope.get(_RENEW)
        if text == visit.text and not renewing:
            used_lately = visit.expires_at is not None and (
                visit.expires_at - now > self.max_age - self.TOUCH_EVERY
                or visit.expires_at == visit.ends_at  # it cannot be moved on
            )
            if not text or used_lately:
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
        if token is not None:
            self._tell(scope, headers, COOKIE, token, int(self.max_age.total_seconds()))

    async def _write(
        self,
        writer: AsyncSession,
        visit: _Visit,
        data: dict[str, Any],
        text: str,
        now: datetime,
        renewing: str | None,
    ) -> str | None:
        """The session's row written (or ended); the token the browser is to hold, or None
        to tell it nothing (a session ended holds no row: its token names nothing).

        Requests of one browser overlap (two tabs, a page waiting on the engine while
        another signs out): each writes only what it changed, over what the row holds by
        then, and never brings back a session ended meanwhile."""
        if visit.token is None or visit.ends_at is None or renewing == "anew":
            ends_at = now + self.lifetime
        else:
            ends_at = visit.ends_at
        expires_at = min(now + self.max_age, ends_at)
        if visit.token is None:  # a new session, under a token of the server's making
            if not text:
                return None
            token = secrets.token_urlsafe(32)
            await stored.create(writer, _key(token), text, expires_at, ends_at)
            return token
        key = _key(visit.token)
        if text == visit.text and not renewing:  # used, not changed: its expiry moves on
            return visit.token if await stored.touch(writer, key, expires_at) else None
        before = json.loads(visit.text) if visit.text else {}
        changed = {k: v for k, v in data.items() if k not in before or before[k] != v}
        removed = before.keys() - data.keys()
        held = visit.text
        for _ in range(_MERGES):
            if renewing or not text:
                # Ended only as this request left it: a change made meanwhile is merged in.
                if await stored.end(writer, key, held=held):
                    if not text:
                        return None
                    token = secrets.token_urlsafe(32)
                    await stored.create(writer, _key(token), text, expires_at, ends_at)
                    return token
            elif await stored.keep(writer, key, text, expires_at, held=held):
                return visit.token
            found = await stored.find(writer, key, now)
            if found is None:
                return None  # ended meanwhile (signed out): not brought back
            held = found[0]
            current = json.loads(held)
            merged = {k: v for k, v in current.items() if k not in removed} | changed
            text = _dump(merged) if merged else ""
        log.warning("page session not written: changed by other requests meanwhile")
        return None

    def _tell(
        self, scope: Scope, headers: MutableHeaders, name: str, value: str, max_age: int | None
    ) -> None:
        cookie = Response()
        secure = self.https_only or scope.get("scheme") == "https"
        cookie.set_cookie(
            name, value, max_age=max_age, httponly=True, samesite="lax", secure=secure
        )
        for header in cookie.headers.getlist("set-cookie"):
            headers.append("set-cookie", header)
