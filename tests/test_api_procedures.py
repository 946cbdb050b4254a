"""The procedures of issue 10 through the API: 退单 by the department, 改派 by the window to a
department that exists, the new department finding the task in its inbox."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from tests.api_helpers import (
    CLERK,
    as_user,
    error_body,
    inbox,
    invalid_fields,
    submit,
    task_for,
    utility_connection,
)
from tests.conftest import client_of
from tests.page_helpers import flashes, post_form, sign_in


async def test_a_returned_task_is_rerouted_at_the_window_to_an_existing_department(
    api: httpx.AsyncClient,
) -> None:
    number = (await submit(api))["application_no"]
    seal = await task_for(api, "psb", number)
    back = await api.post(
        f"/api/tasks/{seal['id']}/return",
        headers=await as_user(api, "psb"),
        json={"reason": "印章备案已划归市场监管部门"},
    )
    assert back.status_code == 200, back.text
    assert back.json()["state"] == "returned"
    # Out of every inbox while it waits.
    assert not [t for t in await inbox(api, await as_user(api, "psb")) if t["id"] == seal["id"]]

    url = f"/api/window/applications/{number}/steps/seal/reroute"
    clerk = await as_user(api, CLERK)
    nowhere = await api.post(url, headers=clerk, json={"department": "nowhere"})
    assert nowhere.status_code == 422
    assert "没有部门" in invalid_fields(nowhere)["department"]
    moved = await api.post(url, headers=clerk, json={"department": "amr", "reason": "按职责"})
    assert moved.status_code == 200, moved.text
    task = [t for t in await inbox(api, await as_user(api, "amr")) if t["id"] == seal["id"]]
    assert task and task[0]["state"] == "open" and task[0]["deadline"] == seal["deadline"]


async def _stage(
    api: httpx.AsyncClient, user: str, task_id: int, what: str, body: dict[str, str]
) -> httpx.Response:
    return await api.post(
        f"/api/tasks/{task_id}/stage/{what}", headers=await as_user(api, user), json=body
    )


async def test_the_levels_of_a_staged_task_each_see_and_sign_their_stage(
    api: httpx.AsyncClient,
) -> None:
    """分级签署 through the API: the demo accounts `urban` (承办), `urban-reviewer` (审核) and
    `urban-approver` (批准) each find the road opening in their inbox when it waits at their
    level, and only the last level decides."""
    number = (await submit(api, utility_connection()))["application_no"]

    async def mine(user: str) -> list[dict[str, Any]]:
        return [
            t
            for t in await inbox(api, await as_user(api, user))
            if t["application_no"] == number and t["step_code"] == "road_opening"
        ]

    [task] = await mine("urban")
    assert task["stage"] == {
        "code": "handle", "name": "承办", "role": "handler", "role_label": "承办",
        "number": 1, "of": 3, "last": False,
    }  # fmt: skip
    assert await mine("urban-reviewer") == []  # not yet at their level
    early = await api.post(
        f"/api/tasks/{task['id']}/decision", headers=await as_user(api, "urban-approver"),
        json={"decision": "approve", "result": {"permit_no": "P-1"}},
    )  # fmt: skip
    assert error_body(early, 409)["message"].startswith("该环节当前为“承办”阶段")
    assert (await _stage(api, "urban", task["id"], "pass", {"opinion": ""})).status_code == 422
    supervisor = await _stage(api, "supervisor", task["id"], "pass", {"opinion": "同意"})
    assert supervisor.status_code == 403
    passed = await _stage(api, "urban", task["id"], "pass", {"opinion": "现场符合条件"})
    assert passed.status_code == 200, passed.text
    assert passed.json()["stage"]["code"] == "review"
    assert await mine("urban") == [] and len(await mine("urban-reviewer")) == 1

    passed = await _stage(api, "urban-reviewer", task["id"], "pass", {"opinion": "同意"})
    assert passed.json()["stage"]["last"] is True
    back = await _stage(api, "urban-approver", task["id"], "send-back", {"reason": "方案需复核"})
    assert back.status_code == 200, back.text
    assert back.json()["stage"]["code"] == "review"
    detail = await api.get(f"/api/tasks/{task['id']}", headers=await as_user(api, "urban-reviewer"))
    assert [(s["stage_name"], s["opinion"], s["sent_back"]) for s in detail.json()["signoffs"]] == [
        ("承办", "现场符合条件", False),
        ("审核", "同意", False),
        ("批准", "方案需复核", True),
    ]
    # The gas step's 秒批 rule had no demand to read: its verdict says so, and it went to people.
    gas = await task_for(api, "gas", number)
    gas_detail = await api.get(f"/api/tasks/{gas['id']}", headers=await as_user(api, "gas"))
    auto = gas_detail.json()["auto"]
    assert auto["decided"] is False and "缺少事实 form.gas_demand" in auto["why_not"][0]


async def test_the_task_page_shows_the_stage_its_buttons_and_the_verdict(
    api: httpx.AsyncClient, api_app: FastAPI
) -> None:
    """The workbench: the stage a task waits at and its sign/send-back forms; the gas task's
    秒批 verdict; the supervision timeline describing both."""
    number = (await submit(api, utility_connection()))["application_no"]
    road = await task_for(api, "urban", number)
    page = f"/workbench/tasks/{road['id']}"
    async with client_of(api_app) as browser:
        await sign_in(browser, "urban")
        html = (await browser.get(page)).text
        assert "第 1/3 级：承办（需承办权限）" in html and "签署并转下一级" in html
        assert "通过并办结本环节" not in html and "退回上一级" not in html
        after = await post_form(browser, page, f"{page}/stage-pass", {"opinion": "拟同意"})
        assert "已签署意见，转下一级办理。" in flashes(after.text)
    async with client_of(api_app) as browser:
        await sign_in(browser, "urban-reviewer")
        html = (await browser.get(page)).text
        assert "签署记录" in html and "拟同意" in html and "退回上一级" in html
    gas = await task_for(api, "gas", number)
    async with client_of(api_app) as browser:
        await sign_in(browser, "gas")
        html = (await browser.get(f"/workbench/tasks/{gas['id']}")).text
        assert "规则无法自动审批，转人工办理" in html and "缺少事实 form.gas_demand" in html
    async with client_of(api_app) as browser:
        await sign_in(browser, "supervisor")
        html = (await browser.get(f"/supervision/applications/{number}")).text
        assert "承办意见：拟同意；转审核" in html and "规则无法自动审批" in html
