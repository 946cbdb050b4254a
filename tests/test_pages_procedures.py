"""The procedures beside the plain path on the pages (退单, 改派, 特别程序, 督办单): each form
posted as a browser would, its effect read back through the API, and the engine's refusals
shown on the page as the other buttons show them."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.actions import SupervisionOrderInput, WithdrawInput
from tests.api_helpers import (
    SUPERVISOR,
    as_user,
    company_setup,
    inbox,
    invoice_returned,
    submit,
    task_for,
    utility_connection,
)
from tests.conftest import client_of
from tests.engine import start_on_a_plain_monday
from tests.factories import APPLICANT as ENGINE_APPLICANT
from tests.factories import SUPERVISOR as ENGINE_SUPERVISOR
from tests.page_helpers import csrf, flashes, post_form, sign_in
from tests.timeline import at, eventually, skip_to
from workflows.matter import MatterWorkflow


def _section(html: str, anchor: str) -> str:
    """The card with id `anchor`: up to the next card, the timeline or the page's last link."""
    assert f'id="{anchor}"' in html, anchor
    rest = html.split(f'id="{anchor}"', 1)[1]
    return re.split(r'<div class="card"|<h2>全程记录|<p><a href=', rest, maxsplit=1)[0]


async def _detail(api: httpx.AsyncClient, user: str, task_id: int) -> dict[str, Any]:
    response = await api.get(f"/api/tasks/{task_id}", headers=await as_user(api, user))
    assert response.status_code == 200, response.text
    return dict(response.json())


# --- 退单 on the task page, 改派 at the window ------------------------------------------------


async def test_a_department_returns_its_step_and_the_window_reroutes_it(
    api: httpx.AsyncClient, api_app: FastAPI
) -> None:
    number = (await submit(api))["application_no"]
    seal = await task_for(api, "psb", number)
    page = f"/workbench/tasks/{seal['id']}"
    async with client_of(api_app) as browser:
        await sign_in(browser, "psb")
        assert "退单理由（必填）" in _section((await browser.get(page)).text, "procedures")
        # A reason is required, named by its label.
        after = await post_form(browser, page, f"{page}/return", {"reason": ""})
        [message] = flashes(after.text)
        assert message.startswith("退单理由："), message
        # While an extension request waits the form is gone, and the engine refuses anyway.
        await post_form(
            browser,
            page,
            f"{page}/extension-request",
            {"working_days": "1", "reason": "需实地核查印章样式"},
        )
        html = (await browser.get(page)).text
        assert "审批后才能退单" in html and 'action="' + page + '/return"' not in html
        after = await post_form(browser, page, f"{page}/return", {"reason": "印章备案不属本局"})
        assert flashes(after.text) == ["该环节有待审批的延期申请，不能退单"]
        refused = await api.post(
            f"/api/supervision/tasks/{seal['id']}/extension/refuse",
            headers=await as_user(api, SUPERVISOR),
            json={"reason": "先判断是否属于本部门"},
        )
        assert refused.status_code == 200, refused.text

        after = await post_form(
            browser, page, f"{page}/return", {"reason": "印章备案已划归市场监管部门"}
        )
        assert "已退单，等待监督管理人员或综合窗口改派。" in flashes(after.text)
        assert after.url.path == "/workbench"
        html = (await browser.get(page)).text
        assert "退单待改派" in html and "退单理由（必填）" not in html
    assert (await _detail(api, "psb", seal["id"]))["state"] == "returned"

    review = f"/window/review/{number}"
    async with client_of(api_app) as browser:
        await sign_in(browser, "clerk")
        section = _section((await browser.get(review)).text, "reroute")
        assert "公章刻制备案" in section and "印章备案已划归市场监管部门" in section
        assert 'value="amr"' in section and 'value="psb"' not in section  # not back to psb
        action = f"{review}/steps/seal/reroute"
        after = await post_form(browser, review, action, {"department": "psb"})
        assert flashes(after.text) == ["该部门刚刚退单，请改派给其他部门"]
        after = await post_form(browser, review, action, {"department": "nowhere"})
        assert flashes(after.text) == ["改派部门：没有部门 nowhere"]
        unknown = await browser.post(
            f"{review}/steps/nothing/reroute",
            data={"department": "amr", "csrf": await csrf(browser, review)},
        )
        assert unknown.status_code == 404
        after = await post_form(
            browser, review, action, {"department": "amr", "reason": "按职责分工"}
        )
        assert flashes(after.text) == ["已改派市场监管局办理。"]
        assert 'id="reroute"' not in after.text  # nothing left to re-route
    [moved] = [t for t in await inbox(api, await as_user(api, "amr")) if t["id"] == seal["id"]]
    assert moved["state"] == "open" and moved["deadline"] == seal["deadline"]


# --- 改派 on the supervisor's application page -----------------------------------------------


async def test_the_supervisor_reroutes_a_returned_step_from_the_application_page(
    api: httpx.AsyncClient, api_app: FastAPI
) -> None:
    number = (await submit(api))["application_no"]
    invoice = await invoice_returned(api, number)
    page = f"/supervision/applications/{number}"
    action = f"/supervision/tasks/{invoice['id']}/reroute"
    async with client_of(api_app) as browser:
        await sign_in(browser, "supervisor")
        section = _section((await browser.get(page)).text, "procedures-invoice")
        assert "退单理由：发票申领应由市场监管局一并办理" in section
        assert f'action="{action}"' in section and 'value="tax"' not in section
        # Only the returned step can be re-routed: the seal is in psb's hands.
        assert 'id="procedures-seal"' not in (await browser.get(page)).text
        after = await post_form(browser, page, action, {"department": ""})
        [message] = flashes(after.text)
        assert message.startswith("改派部门："), message
        after = await post_form(browser, page, action, {"department": "amr", "reason": "职责"})
        assert flashes(after.text) == ["已改派市场监管局办理。"]
        assert 'id="procedures-invoice"' not in after.text
        assert "退单（非本部门事项）" in after.text and "改派" in after.text  # the timeline
        after = await post_form(browser, page, action, {"department": "psb"})
        assert flashes(after.text) == ["该环节当前为“待办”，只有退单的环节可以改派"]
    detail = await _detail(api, "amr", invoice["id"])
    assert (detail["department"], detail["state"]) == ("amr", "open")


# --- 特别程序 on the task page ----------------------------------------------------------------


async def test_a_department_starts_and_ends_a_special_procedure_from_its_task_page(
    api: httpx.AsyncClient, api_app: FastAPI
) -> None:
    number = (await submit(api, utility_connection()))["application_no"]
    road = await task_for(api, "urban", number)
    page = f"/workbench/tasks/{road['id']}"
    async with client_of(api_app) as browser:
        await sign_in(browser, "urban")
        section = _section((await browser.get(page)).text, "procedures")
        # Only the kinds the step's definition allows.
        kinds = re.findall(r'<option value="(\w+)">', section)
        assert kinds == ["hearing", "expert_review"]
        after = await post_form(
            browser,
            page,
            f"{page}/special-procedure",
            {"kind": "testing", "working_days": "3", "reason": "需检测管线"},
        )
        assert flashes(after.text) == ["本环节不适用检测（可启动的特别程序：听证、专家评审）"]
        after = await post_form(
            browser,
            page,
            f"{page}/special-procedure",
            {"kind": "hearing", "working_days": "61", "reason": "涉及相邻权利人重大利益"},
        )
        [message] = flashes(after.text)
        assert message.startswith("所需工作日："), message
        after = await post_form(
            browser,
            page,
            f"{page}/special-procedure",
            {"kind": "hearing", "working_days": "3", "reason": "涉及相邻权利人重大利益"},
        )
        assert flashes(after.text) == ["特别程序已启动，本环节和办件计时暂停，已书面告知申请人。"]
        detail = await _detail(api, "urban", road["id"])
        assert detail["state"] == "special"
        [running] = detail["special_procedures"]
        assert running["open"] and running["kind_label"] == "听证" and running["due"]
        due = running["due"][:16].replace("T", " ")
        section = _section(after.text, "procedures")
        assert "正在进行：听证" in section and f"预计 {due} 结束" in section
        assert "card-green" in section and "结束特别程序" in section
        assert "启动特别程序" not in section and "退单理由" not in section
        assert "（特别程序中，计时暂停）" in after.text

        after = await post_form(browser, page, f"{page}/special-procedure-end", {"outcome": ""})
        [message] = flashes(after.text)
        assert message.startswith("特别程序结果："), message
        after = await post_form(
            browser, page, f"{page}/special-procedure-end", {"outcome": "听证完毕，无异议"}
        )
        assert flashes(after.text) == ["特别程序已结束，计时恢复。"]
        section = _section(after.text, "procedures")
        assert "听证完毕，无异议" in section and "正在进行" not in section
        after = await post_form(
            browser, page, f"{page}/special-procedure-end", {"outcome": "再次结束"}
        )
        assert flashes(after.text) == ["该环节没有进行中的特别程序"]
    assert (await _detail(api, "urban", road["id"]))["state"] in ("open", "claimed")
    # The supervisor's page shows it too.
    async with client_of(api_app) as browser:
        await sign_in(browser, "supervisor")
        html = (await browser.get(f"/supervision/applications/{number}")).text
        section = _section(html, "procedures-road_opening")
        assert "特别程序：听证" in section and "结果：听证完毕，无异议" in section


# --- 督办单: issued on the supervisor's page, answered on the task page ----------------------


async def test_a_supervisor_orders_a_yellow_step_and_the_department_answers_it(
    api: httpx.AsyncClient, api_app: FastAPI, env: WorkflowEnvironment, worker: Worker
) -> None:
    _, app, monday = await start_on_a_plain_monday(env, worker.task_queue, "company_setup")
    number = app.application_no
    seal = await task_for(api, "psb", number)
    supervision = f"/supervision/applications/{number}"
    order = f"/supervision/tasks/{seal['id']}/orders"
    async with client_of(api_app) as boss:
        await sign_in(boss, "supervisor")
        # Green: no form, and the engine refuses an order anyway.
        assert "下达督办单" not in (await boss.get(supervision)).text
        after = await post_form(
            boss, supervision, order, {"working_days": "2", "demand": "请说明办理进度"}
        )
        assert flashes(after.text) == ["只能对亮黄牌或红牌的环节下达督办单"]

        # Wednesday 13:00: the two-day seal step is yellow.
        await skip_to(env, at(monday + timedelta(days=2), 13))

        async def yellow() -> None:
            assert (await task_for(api, "psb", number))["sla_level"] == "yellow"

        await eventually(yellow)
        section = _section((await boss.get(supervision)).text, "procedures-seal")
        assert "下达督办单" in section
        after = await post_form(
            boss, supervision, order, {"working_days": "11", "demand": "请说明办理进度"}
        )
        [message] = flashes(after.text)
        assert message.startswith("答复期限："), message
        after = await post_form(
            boss, supervision, order, {"working_days": "2", "demand": "请说明逾期原因并尽快办结"}
        )
        assert flashes(after.text) == ["已下达督办单，请承办部门在 2 个工作日内书面答复。"]
        section = _section(after.text, "procedures-seal")
        assert "第 1 号督办单" in section and "督办要求：请说明逾期原因并尽快办结" in section
        assert "待公安局答复" in section and "下达督办单" not in section
        after = await post_form(
            boss, supervision, order, {"working_days": "2", "demand": "再次督办"}
        )
        assert flashes(after.text) == ["该环节已有尚未答复的督办单"]

    detail = await _detail(api, "psb", seal["id"])
    [issued] = detail["orders"]
    assert issued["open"] and issued["due"] and issued["answer_days"] == 2
    due = issued["due"][:16].replace("T", " ")
    page = f"/workbench/tasks/{seal['id']}"
    answer = f"{page}/order-answer"
    async with client_of(api_app) as psb:
        await sign_in(psb, "psb")
        section = _section((await psb.get(page)).text, "procedures")
        assert "第 1 号督办单" in section and f"答复期限 {due}" in section
        assert "督办要求：请说明逾期原因并尽快办结" in section and "提交督办答复" in section
        after = await post_form(psb, page, answer, {"order_no": "1", "answer": ""})
        [message] = flashes(after.text)
        assert message.startswith("督办答复："), message
        after = await post_form(psb, page, answer, {"order_no": "x", "answer": "已核实"})
        assert flashes(after.text) == ["督办单：请选择要答复的督办单"]
        after = await post_form(psb, page, answer, {"order_no": "7", "answer": "已核实"})
        assert flashes(after.text) == ["该环节没有第7号督办单"]
        after = await post_form(
            psb, page, answer, {"order_no": "1", "answer": "印模待制作，周四上午办结"}
        )
        assert flashes(after.text) == ["督办答复已提交监督管理人员。"]
        section = _section(after.text, "procedures")
        assert "已答复" in section and "印模待制作，周四上午办结" in section
        assert "提交督办答复" not in section
        after = await post_form(psb, page, answer, {"order_no": "1", "answer": "再次答复"})
        assert flashes(after.text) == ["该督办单已答复"]
    async with client_of(api_app) as boss:
        await sign_in(boss, "supervisor")
        section = _section((await boss.get(supervision)).text, "procedures-seal")
        assert "答复：印模待制作，周四上午办结" in section
        assert "下达督办单" in section  # answered: another order may follow


async def test_the_new_forms_are_only_where_the_user_may_act(
    api: httpx.AsyncClient, api_app: FastAPI
) -> None:
    """A supervisor reading a department's task sees no department forms; a step of a matter
    without special procedures offers none."""
    number = (await submit(api, company_setup()))["application_no"]
    seal = await task_for(api, "psb", number)
    page = f"/workbench/tasks/{seal['id']}"
    async with client_of(api_app) as browser:
        await sign_in(browser, "supervisor")
        html = (await browser.get(page)).text
        assert 'id="procedures"' not in html
        after = await browser.post(
            f"{page}/return", data={"reason": "不属本部门", "csrf": await csrf(browser, page)}
        )
        assert after.status_code == 403 and "无权访问" in after.text
        assert "<title>无权访问 · 马鞍山市" in after.text  # the error page names the centre
    assert (await _detail(api, "psb", seal["id"]))["state"] == "open"
    async with client_of(api_app) as browser:
        await sign_in(browser, "psb")
        section = _section((await browser.get(page)).text, "procedures")
        assert "退单" in section and "启动特别程序" not in section


async def test_an_order_cancelled_with_its_case_shows_as_never_answered(
    api: httpx.AsyncClient, api_app: FastAPI, env: WorkflowEnvironment, worker: Worker
) -> None:
    handle, app, monday = await start_on_a_plain_monday(env, worker.task_queue, "company_setup")
    number = app.application_no
    await skip_to(env, at(monday + timedelta(days=3), 10))  # the seal step is red
    order = SupervisionOrderInput(
        step_code="seal", actor=ENGINE_SUPERVISOR, working_days=2, demand="请说明逾期原因"
    )
    await handle.execute_update(MatterWorkflow.order, order)
    seal = await task_for(api, "psb", number)
    await handle.execute_update(
        MatterWorkflow.withdraw, WithdrawInput(actor=ENGINE_APPLICANT, reason="不办了")
    )

    async def cancelled() -> None:
        [shown] = (await _detail(api, "psb", seal["id"]))["orders"]
        assert shown["cancelled"] and not shown["open"]

    await eventually(cancelled)
    never = "未答复，办件已办结，督办单随之撤销"
    async with client_of(api_app) as boss:
        await sign_in(boss, "supervisor")
        page = (await boss.get(f"/supervision/applications/{number}")).text
        assert never in _section(page, "procedures-seal")
    async with client_of(api_app) as psb:
        await sign_in(psb, "psb")
        section = _section((await psb.get(f"/workbench/tasks/{seal['id']}")).text, "procedures")
        assert never in section and "提交督办答复" not in section
