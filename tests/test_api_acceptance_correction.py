"""受理前补正告知 through the API and the window's page: the window tells the applicant
everything to correct at once, the applicant answers with the query code, and the window
decides again within a new acceptance period."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.api_helpers import CLERK, SUPERVISOR, as_user, code_header, invalid_fields, submit
from tests.conftest import client_of
from tests.page_helpers import flashes, post_form, sign_in


async def test_the_window_asks_and_the_applicant_answers_before_acceptance(
    api: httpx.AsyncClient,
) -> None:
    receipt = await submit(api, accept=False)
    number, code = receipt["application_no"], receipt["query_code"]
    clerk = await as_user(api, CLERK)
    url = f"/api/window/applications/{number}/correction-notice"
    empty = await api.post(url, headers=clerk, json={"items": [], "reason": ""})
    assert {"items", "reason"} <= invalid_fields(empty).keys()
    blank = await api.post(url, headers=clerk, json={"items": [" "], "reason": "材料不齐全"})
    assert "items" in invalid_fields(blank)
    asked = await api.post(
        url, headers=clerk, json={"items": ["公司章程签字页"], "reason": "章程缺少股东签字"}
    )
    assert asked.status_code == 200, asked.text
    view = asked.json()
    assert view["state"] == "correction" and view["accepted_at"] is None
    assert view["acceptance_due"] is None and view["promised_deadline"] is None

    seen = (await api.get(f"/api/applications/{number}", headers=code_header(code))).json()
    assert seen["next_action"]["code"] == "supply_correction"
    assert "受理决定" in seen["next_action"]["text"]
    supplied = await api.post(
        f"/api/applications/{number}/supplements",
        headers=code_header(code),
        json={"items": [{"item": "公司章程签字页", "ref": "file-41"}]},
    )
    assert supplied.status_code == 200, supplied.text
    again = supplied.json()
    assert again["state"] == "received" and again["acceptance_due"] is not None
    accepted = await api.post(f"/api/window/applications/{number}/accept", headers=clerk)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["state"] == "accepted"


async def test_the_window_page_sends_the_notice_and_keeps_what_was_typed_when_refused(
    api: httpx.AsyncClient, api_app: FastAPI
) -> None:
    number = (await submit(api, accept=False))["application_no"]
    page = f"/window/review/{number}"
    async with client_of(api_app) as browser:
        await sign_in(browser, CLERK)
        refused = await post_form(
            browser, page, page, {"decision": "correct", "items": "公司章程签字页"}
        )
        [message] = flashes(refused.text)
        assert "理由" in message
        assert "公司章程签字页" in refused.text  # kept in the form
        done = await post_form(
            browser,
            page,
            page,
            {
                "decision": "correct",
                "items": "公司章程签字页\n股东身份证明",
                "correction_reason": "材料不齐全",
            },
        )
        assert "已一次性告知申请人补正" in flashes(done.text)[0]
        review = (await browser.get(page)).text
        assert "待补正齐全后作出受理决定" in review
        assert "股东身份证明" in review


async def test_pages_of_an_application_corrected_before_acceptance(
    api: httpx.AsyncClient, api_app: FastAPI
) -> None:
    """Its receipt is the correction notice, not an acceptance notice; the supervisors'
    page shows it as not yet accepted; the window may still refuse it."""
    receipt = await submit(api, accept=False)
    number, code = receipt["application_no"], receipt["query_code"]
    clerk = await as_user(api, CLERK)
    asked = await api.post(
        f"/api/window/applications/{number}/correction-notice",
        headers=clerk,
        json={"items": ["公司章程签字页"], "reason": "章程缺少股东签字"},
    )
    assert asked.status_code == 200, asked.text
    async with client_of(api_app) as applicant:
        await applicant.get(f"/status/{number}", params={"code": code}, follow_redirects=True)
        printed = (await applicant.get(f"/receipt/{number}")).text
        assert "补正材料通知书" in printed and "受理通知书" not in printed
        assert "公司章程签字页" in printed
    async with client_of(api_app) as supervisor:
        await sign_in(supervisor, SUPERVISOR)
        page = await supervisor.get(f"/supervision/applications/{number}")
        assert page.status_code == 200 and "尚未受理" in page.text
    refused = await api.post(
        f"/api/window/applications/{number}/refuse",
        headers=clerk,
        json={"reason": "申请人未按要求补正"},
    )
    assert refused.status_code == 200, refused.text
    assert refused.json()["state"] == "not_accepted"
