"""A refused form on the workbench's task page and the supervisor's application page comes
back as it was typed: the refusal is a flash message after a redirect, and what the user
typed survives the redirect (as /apply and the window's accept page keep theirs)."""

from __future__ import annotations

import html as markup
import re

import httpx
from fastapi import FastAPI

from tests.api_helpers import as_user, invoice_returned, submit, task_for, utility_connection
from tests.conftest import client_of
from tests.factories import credit_code
from tests.page_helpers import csrf, flashes, post_form, sign_in


def _input(page: str, name: str, form_action: str) -> str:
    """The value of input `name` (a text or number input, a textarea, or a select's chosen
    option) in the form posting to `form_action`."""
    form = page.split(f'action="{form_action}"', 1)[1].split("</form>", 1)[0]
    tag = re.search(rf'<(input|textarea|select)\b[^>]*\bname="{name}"[^>]*>', form)
    assert tag, f"no {name} in the form to {form_action}"
    if tag.group(1) == "textarea":
        return markup.unescape(form[tag.end() :].split("</textarea>", 1)[0])
    if tag.group(1) == "select":
        chosen = re.search(r'<option value="([^"]*)" selected>', form[tag.end() :])
        return chosen.group(1) if chosen else ""
    value = re.search(r'\bvalue="([^"]*)"', tag.group(0))
    return markup.unescape(value.group(1)) if value else ""


def _bad_credit_code() -> str:
    good = credit_code()
    return good[:-1] + ("1" if good[-1] != "1" else "2")


async def test_the_task_page_keeps_what_was_typed_after_a_refusal(
    api: httpx.AsyncClient, api_app: FastAPI
) -> None:
    number = (await submit(api))["application_no"]
    task = await task_for(api, "amr", number)
    page = f"/workbench/tasks/{task['id']}"
    bad = _bad_credit_code()
    async with client_of(api_app) as browser:
        await sign_in(browser, "amr")

        # 通过 with a result the engine refuses: the result fields come back filled in.
        approve = f"{page}/approve"
        typed = {"result_credit_code": bad, "result_licence_no": "340500000123456"}
        after = await post_form(browser, page, approve, typed)
        [message] = flashes(after.text)
        assert "校验位错误" in message, message
        for name, value in typed.items():
            assert _input(after.text, name, approve) == value
        # Shown once: a reload shows the empty form again, as it shows no message.
        again = (await browser.get(page)).text
        assert flashes(again) == [] and _input(again, "result_credit_code", approve) == ""

        # 提交延期申请 for too many days: the days and the reason, not 1 and nothing.
        extension = f"{page}/extension-request"
        after = await post_form(
            browser, page, extension, {"working_days": "99", "reason": "需实地核查经营场所"}
        )
        [message] = flashes(after.text)
        assert "延期天数" in message and "数值过大" in message, message
        assert _input(after.text, "working_days", extension) == "99"
        assert _input(after.text, "reason", extension) == "需实地核查经营场所"
        # ... and only in that form: the other forms' reasons stay empty.
        assert _input(after.text, "reason", f"{page}/reject") == ""
        assert _input(after.text, "reason", f"{page}/return") == ""

        # 不予通过 with a reason too short, and 退单 likewise (with markup in it, escaped).
        for action in ("reject", "return"):
            after = await post_form(browser, page, f"{page}/{action}", {"reason": "<"})
            assert len(flashes(after.text)) == 1, flashes(after.text)
            assert _input(after.text, "reason", f"{page}/{action}") == "<"
            assert "<</textarea>" not in after.text

        # 补正: the items, one a line, and the reason.
        supplement = f"{page}/request_supplement"
        items = "营业执照副本\n法定代表人身份证明"
        after = await post_form(browser, page, supplement, {"items": items, "reason": "须"})
        assert len(flashes(after.text)) == 1, flashes(after.text)
        assert _input(after.text, "items", supplement) == items
        assert _input(after.text, "reason", supplement) == "须"

        # A reason longer than allowed comes back whole, to be shortened, not typed again
        # (the page session is on the server, not in a cookie of 4 KB).
        long = "不予通过的理由。" * 200
        after = await post_form(browser, page, f"{page}/reject", {"reason": long})
        assert "内容过长" in flashes(after.text)[0]
        assert _input(after.text, "reason", f"{page}/reject") == long
        # What no person types (more than KEPT_MAX) is not kept, and the session is not
        # lost: the next form still posts (its CSRF token is still there).
        after = await post_form(browser, page, f"{page}/reject", {"reason": "不" * 70_000})
        assert "内容过长" in flashes(after.text)[0]
        assert _input(after.text, "reason", f"{page}/reject") == ""
        after = await post_form(browser, page, extension, {"working_days": "61", "reason": "核查"})
        assert _input(after.text, "working_days", extension) == "61"
    seen = await task_for(api, "amr", number)
    assert seen["state"] in ("open", "claimed") and seen["extension_request"] is None


async def test_a_special_procedure_refused_keeps_its_kind_days_and_reason(
    api: httpx.AsyncClient, api_app: FastAPI
) -> None:
    number = (await submit(api, utility_connection()))["application_no"]
    road = await task_for(api, "urban", number)
    page = f"/workbench/tasks/{road['id']}"
    action = f"{page}/special-procedure"
    async with client_of(api_app) as browser:
        await sign_in(browser, "urban")
        typed = {"kind": "expert_review", "working_days": "61", "reason": "须组织专家论证"}
        after = await post_form(browser, page, action, typed)
        [message] = flashes(after.text)
        assert message.startswith("所需工作日："), message
        for name, value in typed.items():
            assert _input(after.text, name, action) == value


async def test_the_supervisor_page_keeps_what_was_typed_after_a_refusal(
    api: httpx.AsyncClient, api_app: FastAPI
) -> None:
    number = (await submit(api))["application_no"]
    seal = await task_for(api, "psb", number)
    invoice = await invoice_returned(api, number)
    page = f"/supervision/applications/{number}"
    async with client_of(api_app) as browser:
        await sign_in(browser, "supervisor")

        # 批准延期 beyond the matter's cap: the days and the reason come back, in that step's
        # form only.
        extend = f"/supervision/tasks/{seal['id']}/extension"
        after = await post_form(
            browser, page, extend, {"working_days": "9", "reason": "需补充实地核验"}
        )
        [message] = flashes(after.text)
        assert message.startswith("延期超过本事项允许的上限"), message
        assert _input(after.text, "working_days", extend) == "9"
        assert _input(after.text, "reason", extend) == "需补充实地核验"
        other = f"/supervision/tasks/{(await task_for(api, 'amr', number))['id']}/extension"
        assert _input(after.text, "working_days", other) == "1"
        assert _input(after.text, "reason", other) == ""

        # 改派 back to the department that returned it: the choice and the note come back.
        reroute = f"/supervision/tasks/{invoice['id']}/reroute"
        after = await post_form(
            browser, page, reroute, {"department": "tax", "reason": "按职责分工调整"}
        )
        assert len(flashes(after.text)) == 1, flashes(after.text)
        assert _input(after.text, "reason", reroute) == "按职责分工调整"


async def test_the_window_keeps_what_was_typed_after_a_refusal(
    api: httpx.AsyncClient, api_app: FastAPI
) -> None:
    number = (await submit(api, accept=False))["application_no"]
    review = f"/window/review/{number}"
    async with client_of(api_app) as window:
        await sign_in(window, "clerk")
        # 不予受理 with a reason too short to be one: the reason comes back.
        after = await post_form(window, review, review, {"decision": "refuse", "reason": "无"})
        assert flashes(after.text)
        assert _input(after.text, "reason", review) == "无"
        # A withdrawal's reason too long for the record: it comes back too (kept while the
        # whole page session still fits its cookie; 1,001 characters of ASCII do).
        withdraw = f"{review}/withdraw"
        long = "w" * 1001
        after = await post_form(window, review, withdraw, {"reason": long})
        assert flashes(after.text) and _input(after.text, "reason", withdraw) == long
    # 改派 with no department chosen: the note comes back in that step's form.
    accepted = await api.post(
        f"/api/window/applications/{number}/accept", headers=await as_user(api, "clerk")
    )
    assert accepted.status_code == 200, accepted.text
    await invoice_returned(api, number)
    async with client_of(api_app) as window:
        await sign_in(window, "clerk")
        reroute = f"{review}/steps/invoice/reroute"
        after = await post_form(window, review, reroute, {"department": "", "reason": "按职责"})
        assert flashes(after.text)
        assert _input(after.text, "reason", reroute) == "按职责"


async def test_the_applicant_s_status_page_keeps_what_was_typed_after_a_refusal(
    api: httpx.AsyncClient, api_app: FastAPI
) -> None:
    receipt = await submit(api)
    number, code = receipt["application_no"], receipt["query_code"]
    page = f"/status/{number}"
    async with client_of(api_app) as applicant:
        token = await csrf(applicant, "/status")
        opened = await applicant.post(
            "/status", data={"number": number, "code": code, "csrf": token}
        )
        assert opened.status_code == 303, opened.text
        withdraw = f"{page}/withdraw"
        long = "w" * 1001  # past the longest remark (and short enough to be kept)
        after = await post_form(applicant, page, withdraw, {"reason": long})
        assert flashes(after.text) and _input(after.text, "reason", withdraw) == long
