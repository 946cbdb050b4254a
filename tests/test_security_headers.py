"""Hardening of what every answer carries: security headers (CSP without inline scripts or
styles), cookies, HEAD; and templates that need no inline script or style."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.api_helpers import second_app

TEMPLATES = Path(__file__).resolve().parent.parent / "api" / "templates"
HTTPS = "https://tongban.example.gov.cn"

COMMON = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


def policy(response: httpx.Response) -> dict[str, str]:
    directives = response.headers["content-security-policy"].split(";")
    return dict(d.strip().split(" ", 1) for d in directives)


def assert_hardened(response: httpx.Response) -> dict[str, str]:
    for name, value in COMMON.items():
        assert response.headers[name] == value, name
    assert "camera=()" in response.headers["permissions-policy"]
    csp = policy(response)
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'"
    for name, value in {
        "default-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "frame-ancestors": "'none'",
    }.items():
        assert csp[name] == value, name
    assert "unsafe" not in response.headers["content-security-policy"]
    return csp


@pytest.mark.parametrize(
    "path", ["/", "/status", "/login", "/api/matters", "/api/tasks", "/no/such/page", "/healthz"]
)
async def test_pages_api_and_errors_carry_the_security_headers(
    api: httpx.AsyncClient, path: str
) -> None:
    response = await api.get(path)
    csp = assert_hardened(response)
    assert csp["form-action"] == "'self'" and csp["img-src"] == "'self'"
    assert "strict-transport-security" not in response.headers  # published over http


async def test_docs_have_their_own_policy_only_for_swagger_uis_icons(
    api: httpx.AsyncClient,
) -> None:
    response = await api.get("/docs")
    csp = assert_hardened(response)
    assert csp["img-src"] == "'self' data:"  # swagger-ui.css draws its icons as data: images
    assert "<script>" not in response.text and 'src="/static/docs.js"' in response.text
    assert (await api.get("/static/docs.js")).status_code == 200


async def sign_in_collecting_cookies(client: httpx.AsyncClient) -> dict[str, set[str]]:
    """Sign in at /login, then mark the inbox read (a message for the next page: the page
    session's first row); the flags of every cookie set on the way."""
    flags: dict[str, set[str]] = {}
    for page, form in (("/login", {"username": "clerk", "password": "demo"}), ("/inbox", {})):
        shown = await client.get(page)
        token = re.search(r'name="csrf" value="([^"]+)"', shown.text)
        assert token, shown.text
        action = "/inbox/read" if page == "/inbox" else page
        posted = await client.post(action, data={**form, "csrf": token.group(1)})
        assert posted.status_code == 303, posted.text
        flags |= cookie_flags(shown) | cookie_flags(posted)
    return flags


def behind_a_tls_proxy(app: ASGIApp) -> ASGIApp:
    """The app as it runs behind a reverse proxy that ends TLS: it sees plain http."""

    async def proxied(scope: Scope, receive: Receive, send: Send) -> None:
        await app({**scope, "scheme": "http"} if scope["type"] == "http" else scope, receive, send)

    return proxied


async def test_published_over_https_hsts_and_secure_cookies(
    engine: AsyncEngine, demo_accounts: None
) -> None:
    async with second_app(engine, public_url=HTTPS) as (app, _):
        transport = httpx.ASGITransport(app=behind_a_tls_proxy(app))
        async with httpx.AsyncClient(transport=transport, base_url=HTTPS) as browser:
            page = await browser.get("/")
            assert page.headers["strict-transport-security"] == "max-age=31536000"
            cookies = cookie_flags(page) | await sign_in_collecting_cookies(browser)
    # The app saw http (TLS ends at the proxy): Secure all the same, from the public URL.
    for name in ("tongban_session", "tongban_page", "tongban_csrf"):
        assert cookies[name] == {"secure", "httponly", "samesite=lax"}, name


async def test_over_plain_http_cookies_are_httponly_and_lax(
    api: httpx.AsyncClient, demo_accounts: None
) -> None:
    cookies = await sign_in_collecting_cookies(api)
    for name in ("tongban_session", "tongban_page", "tongban_csrf"):
        assert cookies[name] == {"httponly", "samesite=lax"}, name


def cookie_flags(response: httpx.Response) -> dict[str, set[str]]:
    """Each cookie set by `response`: its flags (lower case, without values but SameSite's)."""
    out = {}
    for header in response.headers.get_list("set-cookie"):
        name, *attributes = (a.strip() for a in header.split(";"))
        flags = {a.lower() for a in attributes if "=" not in a or a.lower().startswith("samesite")}
        out[name.split("=", 1)[0]] = flags
    return out


async def test_the_identity_providers_origin_may_receive_forms(engine: AsyncEngine) -> None:
    async with second_app(engine, oidc_issuer="http://127.0.0.1:9400/") as (_, client):
        csp = policy(await client.get("/"))
        assert csp["form-action"] == "'self' http://127.0.0.1:9400"


# --- HEAD ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/status", "/login", "/matters/company_setup", "/workbench"])
async def test_head_answers_like_get_without_a_body(api: httpx.AsyncClient, path: str) -> None:
    get, head = await api.get(path), await api.head(path)
    assert head.status_code == get.status_code != 405
    assert head.content == b""
    for name in ("content-type", "content-length", "location", "content-security-policy"):
        assert head.headers.get(name) == get.headers.get(name), name


async def test_head_on_the_api_and_static_files(api: httpx.AsyncClient) -> None:
    matters = await api.head("/api/matters")
    assert matters.status_code == 200 and matters.content == b""
    assert int(matters.headers["content-length"]) > 0
    script = await api.head("/static/app.js")
    assert script.status_code == 200 and script.content == b""
    assert (await api.head("/api/auth/logout")).status_code == 405  # POST only


# --- no inline script or style ---------------------------------------------------------------

INLINE = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    "event handler attribute": re.compile(r"\son[a-z]+\s*=", re.I),
    "style attribute": re.compile(r"\sstyle\s*=", re.I),
    "style element": re.compile(r"<style\b", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_templates_have_no_inline_script_or_style(template: str) -> None:
    text = (TEMPLATES / template).read_text(encoding="utf-8")
    found = {what for what, pattern in INLINE.items() if pattern.search(text)}
    assert found == set()


async def test_rendered_pages_have_no_inline_script_or_style(api: httpx.AsyncClient) -> None:
    for path in ("/", "/matters/company_setup", "/apply/company_setup", "/status", "/login"):
        text = (await api.get(path)).text
        found = {what for what, pattern in INLINE.items() if pattern.search(text)}
        assert found == set(), path
        assert '<script src="/static/app.js" defer></script>' in text


async def test_a_page_naming_an_id_beyond_the_integer_column_is_404(
    api: httpx.AsyncClient, demo_accounts: None
) -> None:
    from tests.page_helpers import sign_in

    await sign_in(api, "amr")
    page = await api.get("/workbench/tasks/99999999999999999999")
    assert page.status_code == 404 and "没有该任务" in page.text


async def test_pages_name_their_icon_so_browsers_do_not_ask_for_a_missing_one(
    api: httpx.AsyncClient,
) -> None:
    assert '<link rel="icon" href="/static/favicon.svg"' in (await api.get("/")).text
    icon = await api.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")


@pytest.mark.parametrize(
    ("target", "kept"),
    [
        ("/workbench?x=1", True),
        ("//evil.example", False),
        ("/\\evil.example", False),  # browsers read it as //evil.example
        ("/ok\r\nSet-Cookie: x=1", False),
        ("https://evil.example/", False),
    ],
)
def test_a_return_path_stays_on_this_site(target: str, kept: bool) -> None:
    from api.pages.common import safe_path

    assert safe_path(target, "/") == (target if kept else "/")
