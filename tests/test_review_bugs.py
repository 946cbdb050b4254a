"""The bugs a review of the tree found, each pinned by a test that failed before its fix."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from api.services import views
from domain.events import EventKind
from store.models import ApplicationRow, EventRow, RatingRow
from tests.api_helpers import (
    CLERK,
    COMPANY_SETUP_DEPARTMENTS,
    SUPERVISOR,
    approve_all,
    as_user,
    code_header,
    company_setup,
    decide,
    hand_over,
    person,
    status,
    submit,
    task_for,
)
from tests.conftest import client_of
from tests.page_helpers import csrf, flashes, post_form, sign_in
from tests.timeline import eventually

# --- 不予受理 comes from one path, and has no acceptance time anywhere ----------------------


async def _refused_at_the_window(api: httpx.AsyncClient) -> dict[str, Any]:
    response = await api.post(
        "/api/window/applications",
        headers=await as_user(api, CLERK),
        json=company_setup(decision="refuse", reason="申请材料不齐全且不符合法定形式"),
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _refused_online(api: httpx.AsyncClient) -> dict[str, Any]:
    receipt = await submit(api, accept=False)
    response = await api.post(
        f"/api/window/applications/{receipt['application_no']}/refuse",
        headers=await as_user(api, CLERK),
        json={"reason": "申请材料不齐全且不符合法定形式"},
    )
    assert response.status_code == 200, response.text
    return receipt


@pytest.mark.parametrize("refuse", [_refused_at_the_window, _refused_online])
async def test_a_refused_application_was_never_accepted(
    api: httpx.AsyncClient, api_app: FastAPI, engine: AsyncEngine, refuse: Any
) -> None:
    refused = await refuse(api)
    number, code = refused["application_no"], refused["query_code"]
    seen = await status(api, number, code)
    assert seen["state"] == "not_accepted"
    assert seen["accepted_at"] is None and seen["promised_deadline"] is None
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(ApplicationRow.accepted_at, ApplicationRow.promised_deadline).where(
                    ApplicationRow.application_no == number
                )
            )
        ).one()
        kinds = list(
            await conn.scalars(
                select(EventRow.kind)
                .where(EventRow.application_no == number)
                .order_by(EventRow.seq)  # PostgreSQL returns rows in no particular order
            )
        )
    assert tuple(row) == (None, None)
    assert "accepted" not in kinds and kinds[-1] == "not_accepted"
    # The applicant's pages: no 受理时间, no 受理通知书; the refusal's own notice instead.
    async with client_of(api_app) as browser:
        page = await browser.get(f"/status/{number}", params={"code": code}, follow_redirects=True)
        assert "不予受理理由" in page.text
        assert "受理时间" not in page.text and "打印受理通知书" not in page.text
        assert "打印不予受理决定书" in page.text
        notice = await browser.get(f"/receipt/{number}")
        assert "不予受理决定书" in notice.text and "受理通知书</h1>" not in notice.text


# --- every event kind reads in Chinese -----------------------------------------------------


def test_every_event_kind_has_its_own_chinese_label() -> None:
    labels = [kind.label for kind in EventKind]
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in label) for label in labels)
    assert len(set(labels)) == len(labels)


async def test_the_supervisors_timeline_names_extension_requests_and_refusals(
    api: httpx.AsyncClient, api_app: FastAPI
) -> None:
    number = (await submit(api))["application_no"]
    task = await task_for(api, "amr", number)
    amr, boss = await as_user(api, "amr"), await as_user(api, SUPERVISOR)
    asked = await api.post(
        f"/api/tasks/{task['id']}/extension-request",
        headers=amr,
        json={"working_days": 2, "reason": "需要现场核查"},
    )
    assert asked.status_code == 200, asked.text
    refused = await api.post(
        f"/api/supervision/tasks/{task['id']}/extension/refuse",
        headers=boss,
        json={"reason": "材料已齐备，无需延期"},
    )
    assert refused.status_code == 200, refused.text
    timeline = await api.get(f"/api/supervision/applications/{number}/timeline", headers=boss)
    labels = {e["kind"]: e["label"] for e in timeline.json()}
    assert labels["extension_requested"] == "延期申请"
    assert labels["extension_refused"] == "不予延期"
    async with client_of(api_app) as browser:
        await sign_in(browser, "supervisor")
        page = await browser.get(f"/supervision/applications/{number}")
    assert "延期申请" in page.text and "不予延期" in page.text
    assert "extension_requested" not in page.text and "extension_refused" not in page.text


# --- the workbench names what is wrong with a form -----------------------------------------


async def test_a_too_long_reason_on_the_workbench_is_called_too_long(
    api: httpx.AsyncClient, api_app: FastAPI
) -> None:
    number = (await submit(api))["application_no"]
    task = await task_for(api, "amr", number)
    page = f"/workbench/tasks/{task['id']}"
    async with client_of(api_app) as browser:
        await sign_in(browser, "amr")
        after = await post_form(browser, page, f"{page}/reject", {"reason": "不" * 1001})
        [message] = flashes(after.text)
        assert "理由" in message and "内容过长" in message
        assert "延期天数" not in message
        # The page's extension request is checked by the API's own rules (at most 60 days).
        after = await post_form(
            browser,
            page,
            f"{page}/extension-request",
            {"working_days": "61", "reason": "需要现场核查"},
        )
        [message] = flashes(after.text)
        assert "延期天数" in message and "数值过大" in message
    seen = await task_for(api, "amr", number)
    assert seen["state"] == "open" and seen["extension_request"] is None


# --- the window's pages can record corrections and withdrawals -----------------------------


async def test_the_window_records_a_correction_and_a_withdrawal_brought_in_person(
    api: httpx.AsyncClient, api_app: FastAPI
) -> None:
    receipt = await submit(api)
    number = receipt["application_no"]
    asked = await decide(
        api,
        "psb",
        number,
        {"decision": "request_supplement", "items": ["印章样式确认书"], "reason": "须本人签字"},
    )
    assert asked.status_code == 200, asked.text
    page = f"/window/review/{number}"
    async with client_of(api_app) as browser:
        await sign_in(browser, "clerk")
        found = await browser.get("/window/find", params={"no": number}, follow_redirects=True)
        assert "印章样式确认书" in found.text
        after = await post_form(
            browser, page, f"{page}/supplement", {"item_0": "1", "note_0": "本人到窗口签字"}
        )
        assert any("补正材料已收取" in m for m in flashes(after.text)), flashes(after.text)
        assert (await status(api, number, receipt["query_code"]))["state"] == "in_progress"
        after = await post_form(browser, page, f"{page}/withdraw", {"reason": "申请人决定暂缓"})
        assert any("已撤回" in m for m in flashes(after.text)), flashes(after.text)
    assert (await status(api, number, receipt["query_code"]))["state"] == "withdrawn"


# --- two clerks at once: one hand-over, one follow-up --------------------------------------


async def _granted(api: httpx.AsyncClient) -> dict[str, Any]:
    receipt = await submit(api)
    await approve_all(api, receipt["application_no"], COMPANY_SETUP_DEPARTMENTS)
    return receipt


async def _delivered(api: httpx.AsyncClient) -> dict[str, Any]:
    receipt = await _granted(api)
    await hand_over(api, receipt["application_no"])
    return receipt


async def _events(engine: AsyncEngine, number: str, kind: str) -> int:
    async with engine.connect() as conn:
        return int(
            await conn.scalar(
                select(func.count()).where(EventRow.application_no == number, EventRow.kind == kind)
            )
            or 0
        )


async def test_two_hand_overs_at_once_record_one(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    receipt = await _granted(api)
    number = receipt["application_no"]

    async def licensed() -> None:
        assert (await status(api, number, receipt["query_code"]))["licences"]

    await eventually(licensed)
    clerk = await as_user(api, CLERK)
    answers = await asyncio.gather(
        *(
            api.post(
                f"/api/window/applications/{number}/handover",
                headers=clerk,
                json={"method": "window", "ref": f"领取人{i}"},
            )
            for i in range(2)
        )
    )
    assert sorted(a.status_code for a in answers) == [204, 409]
    assert await _events(engine, number, "handed_over") == 1


async def test_two_follow_ups_at_once_record_one(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    receipt = await _delivered(api)
    number = receipt["application_no"]
    rated = await api.post(
        f"/api/applications/{number}/rating",
        headers=code_header(receipt["query_code"]),
        json={"level": "dissatisfied", "reason": "等候时间太长"},
    )
    assert rated.status_code == 200, rated.text
    boss = await as_user(api, SUPERVISOR)
    answers = await asyncio.gather(
        *(
            api.post(
                f"/api/supervision/reviews/{number}/follow-up",
                headers=boss,
                json={"note": f"已电话回访，说明情况（{i}）"},
            )
            for i in range(2)
        )
    )
    assert sorted(a.status_code for a in answers) == [204, 409]
    assert await _events(engine, number, "review_followed_up") == 1
    async with engine.connect() as conn:
        note = await conn.scalar(
            select(RatingRow.follow_up_note).where(RatingRow.application_no == number)
        )
    assert note in {"已电话回访，说明情况（0）", "已电话回访，说明情况（1）"}


# --- slow work off the event loop, pinned documents read once ------------------------------


async def test_password_checks_run_off_the_event_loop(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api import security
    from api.services import accounts

    threads: list[str] = []
    real = security.verify_password

    def spy(password_hash: str, password: str) -> bool:
        threads.append(threading.current_thread().name)
        return real(password_hash, password)

    monkeypatch.setattr(accounts, "verify_password", spy)
    for username in ("amr", "nobody-at-all"):
        await api.post("/api/auth/token", data={"username": username, "password": "demo"})
    assert len(threads) == 2
    assert threading.main_thread().name not in threads


async def test_uploads_are_hashed_and_written_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from starlette.datastructures import UploadFile

    from api.services import files

    threads: list[str] = []
    real = files._store

    def spy(*args: Any) -> str:
        threads.append(threading.current_thread().name)
        return real(*args)

    monkeypatch.setattr(files, "_store", spy)
    import io

    upload = UploadFile(io.BytesIO(b"%PDF-1.4 test"), filename="a.pdf")
    ref = await files.save_upload(tmp_path, "materials.x", upload)
    assert ref.startswith("upload:") and files.stored_path(tmp_path, ref) is not None
    assert threads and threading.main_thread().name not in threads


async def test_the_inbox_reads_each_pinned_definition_and_calendar_once(
    api: httpx.AsyncClient, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(3):
        await submit(api)
    built: list[str] = []

    def counting(name: str, real: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def build(document: Any) -> Any:
            built.append(name)
            return real(document)

        return build

    for cache, name in ((views._definitions, "definition"), (views._calendars, "calendar")):
        monkeypatch.setattr(cache, "_built", {})
        monkeypatch.setattr(cache, "build", counting(name, cache.build))
    response = await api.get("/api/tasks", headers=await as_user(api, "amr"), params={"limit": 500})
    assert response.status_code == 200 and len(response.json()) >= 3
    numbers = {t["application_no"] for t in response.json()}
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(ApplicationRow.definition, ApplicationRow.calendar).where(
                    ApplicationRow.application_no.in_(numbers)
                )
            )
        ).all()
    # Built once per distinct document, however many rows share it.
    definitions = {json.dumps(row[0], sort_keys=True) for row in rows}
    calendars = {json.dumps(row[1], sort_keys=True) for row in rows}
    assert len(rows) > len(definitions)
    assert built.count("definition") == len(definitions)
    assert built.count("calendar") == len(calendars)


# --- times on the window's page are the centre's ---------------------------------------------


async def test_the_window_lists_results_to_hand_over_in_the_centre_s_time(
    api: httpx.AsyncClient, api_app: FastAPI
) -> None:
    number = (await _granted(api))["application_no"]
    listed = await api.get("/api/window/handovers", headers=await as_user(api, CLERK))
    [item] = [h for h in listed.json() if h["application_no"] == number]
    assert item["completed_at"].endswith("+08:00")
    shown = item["completed_at"][:16].replace("T", " ")
    async with client_of(api_app) as window:
        await sign_in(window, "clerk")
        page = (await window.get("/window")).text
    assert f"办结 {shown}" in page  # it showed the UTC time, eight hours early


async def test_a_supervisor_finds_an_application_by_its_number(
    api: httpx.AsyncClient, api_app: FastAPI
) -> None:
    number = (await submit(api))["application_no"]
    async with client_of(api_app) as boss:
        await sign_in(boss, "supervisor")
        assert 'action="/supervision/find"' in (await boss.get("/supervision")).text
        found = await boss.get("/supervision/find", params={"no": f" {number} "})
        assert found.headers["location"] == f"/supervision/applications/{number}"
        page = await boss.get(found.headers["location"])
        assert page.status_code == 200 and number in page.text
        assert (
            await boss.get("/supervision/find", params={"no": "1"}, follow_redirects=True)
        ).status_code == 404


# --- 一次性告知: a form's problems told at once ------------------------------------------------


async def test_an_application_form_tells_every_problem_at_once(api: httpx.AsyncClient) -> None:
    """A bad ID number used to hide the form's own problems until it was fixed: the model
    refused the applicant before the matter's checks ran. Both are told now, on the first
    submission."""
    page = "/apply/company_setup"
    good = person()["id_number"]
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")  # the check digit wrong
    data = {
        "csrf": await csrf(api, page),
        "idempotency_key": "every-problem-at-once",
        "applicant_kind": "person",
        "applicant_name": "张三",
        "identifier": bad,
        "phone": "13912345678",
        "form_company_type": "有限责任公司",  # the company's name and the rest left empty
        "delivery": "pickup",
    }
    answer = await api.post(page, data=data)
    assert answer.status_code == 422
    assert "校验" in answer.text  # the ID number's problem
    for name in ("identifier", "form_company_name", "form_business_scope"):  # and the form's
        assert re.search(rf'<(input|textarea)[^>]*id="{name}"[^>]*class="invalid"', answer.text), (
            name
        )
