"""An uploaded material opens only for staff who may see an application it belongs to: its
departments' staff, the window and supervisors of its region (404 for anyone else, as for a
file that does not exist)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from api.services.files import upload_dir
from tests.api_helpers import as_user, company_setup
from tests.conftest import client_of
from tests.page_helpers import sign_in


async def test_an_uploaded_material_opens_only_for_those_who_see_its_application(
    api: httpx.AsyncClient, api_app: FastAPI
) -> None:
    name = "0" * 64 + ".pdf"
    folder = upload_dir(api_app.state.services.settings.data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(b"%PDF-1.4 articles")
    body = company_setup()
    body["materials"] = [
        m | {"ref": f"upload:{name}"} if m["code"] == "articles" else m for m in body["materials"]
    ]
    accepted = await api.post(
        "/api/window/applications", json=body, headers=await as_user(api, "clerk")
    )
    assert accepted.status_code == 201, accepted.text

    async def opens(who: str) -> int:
        async with client_of(api_app) as browser:
            await sign_in(browser, who)
            return (await browser.get(f"/files/{name}")).status_code

    assert [await opens(who) for who in ("psb", "clerk", "supervisor")] == [200, 200, 200]
    # A department with no step of it, another county's window and supervisor.
    others = ("water", "clerk-340522", "supervisor-340522")
    assert [await opens(who) for who in others] == [404, 404, 404]
