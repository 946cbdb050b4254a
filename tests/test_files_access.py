"""An uploaded material opens only for staff who may see an application it belongs to: its
departments' staff, the window and supervisors of its region (404 for anyone else, as for a
file that does not exist)."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI

from api.services.files import sweep, upload_dir
from tests.api_helpers import as_user, company_setup, submit, task_for
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


async def test_a_file_answering_a_correction_reaches_the_department_that_asked(
    api: httpx.AsyncClient, api_app: FastAPI
) -> None:
    """The applicant uploads the corrected document on the status page: the asking
    department sees it in the task's correction record, and may open it; a department with
    no step of the application may not."""
    receipt = await submit(api)
    number, code = receipt["application_no"], receipt["query_code"]
    task = await task_for(api, "amr", number)
    ask = {"decision": "request_supplement", "items": ["公司章程签字页"], "reason": "章程缺少签字"}
    asked = await api.post(
        f"/api/tasks/{task['id']}/decision", headers=await as_user(api, "amr"), json=ask
    )
    assert asked.status_code == 200, asked.text
    page = f"/status/{number}"
    async with client_of(api_app) as applicant:
        shown = await applicant.get(page, params={"code": code}, follow_redirects=True)
        token = re.search(r'name="csrf" value="([^"]+)"', shown.text)
        assert token is not None
        signed = b"%PDF-1.4 articles, signed by every shareholder"
        answer = await applicant.post(
            f"{page}/supplement",
            data={"csrf": token.group(1)},
            files={"file_0": ("章程签字页.pdf", signed, "application/pdf")},
        )
        assert answer.status_code == 303, answer.text
    detail = (await api.get(f"/api/tasks/{task['id']}", headers=await as_user(api, "amr"))).json()
    [supplied] = detail["corrections"][0]["supplied"]
    assert supplied["item"] == "公司章程签字页" and supplied["ref"].startswith("upload:")
    name = supplied["ref"].removeprefix("upload:")

    async def opens(who: str) -> int:
        async with client_of(api_app) as browser:
            await sign_in(browser, who)
            if who == "amr":
                task_page = (await browser.get(f"/workbench/tasks/{task['id']}")).text
                assert f"/files/{name}" in task_page
            return (await browser.get(f"/files/{name}")).status_code

    assert [await opens(who) for who in ("amr", "clerk", "supervisor")] == [200, 200, 200]
    assert await opens("water") == 404


async def test_uploads_no_application_refers_to_are_swept_a_day_on(
    api: httpx.AsyncClient, api_app: FastAPI
) -> None:
    """A refused submission's files, sent by anyone, would otherwise fill the disk; those
    of an application, and any younger than a day, stay."""
    services = api_app.state.services
    folder = upload_dir(services.settings.data_dir)
    kept, orphan, fresh = "1" * 40 + ".pdf", "2" * 40 + ".pdf", "3" * 40 + ".png"
    for name in (kept, orphan, fresh, "4" * 40 + ".pdf.part"):
        (folder / name).write_bytes(b"%PDF-1.4")
    body = company_setup()
    body["materials"] = [
        m | {"ref": f"upload:{kept}"} if m["code"] == "articles" else m for m in body["materials"]
    ]
    await submit(api, body, accept=False)
    now = datetime.now(UTC)
    day_old = (now - timedelta(hours=25)).timestamp()
    for name in (kept, orphan, "4" * 40 + ".pdf.part"):
        os.utime(folder / name, (day_old, day_old))
    async with services.sessions() as session:
        assert await sweep(session, services.settings.data_dir, now=now) == 2
    assert sorted(p.name for p in folder.iterdir() if p.name[0] in "1234") == [kept, fresh]
