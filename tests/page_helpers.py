"""Using the pages over HTTP, as a browser would: the session cookie and the forms' CSRF."""

from __future__ import annotations

import re

import httpx

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def csrf(client: httpx.AsyncClient, path: str) -> str:
    """The CSRF token of the form on the page at `path`."""
    page = await client.get(path)
    assert page.status_code == 200, page.text
    found = _CSRF.search(page.text)
    assert found, f"no form on {path}"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, username: str) -> None:
    token = await csrf(client, "/login")
    response = await client.post(
        "/login", data={"username": username, "password": "demo", "csrf": token}
    )
    assert response.status_code == 303, response.text


async def post_form(
    client: httpx.AsyncClient, page: str, action: str, data: dict[str, str]
) -> httpx.Response:
    """Submit a form of `page` to `action`; returns the page the redirect leads to."""
    token = await csrf(client, page)
    response = await client.post(action, data={**data, "csrf": token})
    assert response.status_code == 303, response.text
    return await client.get(response.headers["location"])


def flashes(html: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", m).strip()
        for m in re.findall(r'class="flash[^"]*"[^>]*>(.*?)</div>', html)
    ]
