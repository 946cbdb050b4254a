"""The page session, kept in the database: the browser holds only a random token.

What a browser's visit keeps between pages (the CSRF token, flash messages, a refused form's
values, an applicant's unified-identity claims and the applications whose query code they
verified) is `request.session`, as with Starlette's signed-cookie sessions. Here it lives in
`page_sessions` (`store.page_sessions`), so that:
- no ID number, name, mobile or query code travels in a cookie, readable by whoever holds it;
- signing out ends the session on the server: a copy of the cookie taken before no longer
  works;
- a refused form's long text is kept, not dropped to fit a cookie's 4 KB;
- every API process, on every host, sees the same session.

A session lasts `max_age` after its last change or use. An unchanged session's expiry is
moved on at most every `TOUCH_EVERY`, so that reading pages does not write on each request.
A request that sends no cookie and leaves the session empty (every API call, every status
poll) never reaches the table.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

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
# secrets.token_urlsafe(32): 43 characters of the URL-safe alphabet.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")


def renew(request: Request) -> None:
    """Give this visit a new token when its response is sent (and end the old one): on
    signing in, so a token planted or seen before the sign-in is not the signed-in one."""
    request.scope[_RENEW] = True


def _key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@dataclass
class _Visit:
    token: str | None = None  # the live session's, None if there was none
    text: str = ""  # its JSON when read
    expires_at: datetime | None = None


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
        if scope["type"] != "http" or services is None:  # None: the app is starting
            scope["session"] = {}
            await self.app(scope, receive, send)
            return
        visit = _Visit()
        token = HTTPConnection(scope).cookies.get(COOKIE)
        if token and _TOKEN.fullmatch(token):
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
                visit = _Visit(token, *found)
        scope["session"] = json.loads(visit.text) if visit.text else {}

        async def settled(message: Message) -> None:
            if message["type"] == "http.response.start":
                await self._settle(scope, services, visit, MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, settled)

    async def _settle(
        self, scope: Scope, services: Services, visit: _Visit, headers: MutableHeaders
    ) -> None:
        """Write what the request left in the session, and tell the browser its token."""
        data: dict[str, Any] = scope["session"]
        text = _dump(data) if data else ""
        now = services.session_clock()
        renewing = bool(scope.get(_RENEW)) and visit.token is not None
        unchanged = text == visit.text and not renewing
        if unchanged and (
            not text
            or visit.expires_at is None
            or visit.expires_at - now < self.max_age - self.TOUCH_EVERY
        ):
            return  # nothing to write: no session, or one used within TOUCH_EVERY
        expires_at = now + self.max_age
        token = visit.token
        try:
            async with services.sessions() as writer:
                if token is not None and (not text or renewing):
                    await stored.end(writer, _key(token))
                    token = None
                if token is not None and not await stored.keep(
                    writer, _key(token), text, expires_at
                ):
                    token = None  # ended by a request of its own meanwhile: start anew
                if token is None and text:
                    token = secrets.token_urlsafe(32)
                    await stored.create(writer, _key(token), text, expires_at)
                if self._purged_at is None or now - self._purged_at >= self.PURGE_EVERY:
                    self._purged_at = now
                    await stored.purge(writer, now)
                await writer.commit()
        except errors.DATABASE_DOWN as exc:
            # The response is made (an action may be done): send it, and lose only what the
            # session would have carried to the next page (a message, a form's values).
            log.warning("page session not written: %s", exc)
            return
        cookie = Response()
        secure = self.https_only or scope.get("scheme") == "https"
        if token is None:
            cookie.delete_cookie(COOKIE, httponly=True, samesite="lax", secure=secure)
        else:
            max_age = int(self.max_age.total_seconds())
            cookie.set_cookie(
                COOKIE, token, max_age=max_age, httponly=True, samesite="lax", secure=secure
            )
        for value in cookie.headers.getlist("set-cookie"):
            headers.append("set-cookie", value)
