"""An action retried with its Idempotency-Key (after a 503, or an answer lost on the way) is
done once and answered as the first time; without a key, or with another body, it is another
action, which the workflow refuses once the first is done. Against the real engine."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from api.services.actions import update_id
from domain.actions import ClaimInput
from domain.actors import Actor, Role
from store.models import EventRow
from tests.api_helpers import (
    COMPANY_SETUP_DEPARTMENTS,
    approval,
    approve_all,
    as_user,
    code_header,
    error_body,
    submit,
    task_for,
)
from tests.conftest import client_of
from tests.page_helpers import flashes, sign_in


async def events_of(engine: AsyncEngine, number: str, kind: str) -> int:
    async with engine.connect() as conn:
        count = await conn.scalar(
            select(func.count())
            .select_from(EventRow)
            .where(EventRow.application_no == number, EventRow.kind == kind)
        )
    return int(count or 0)


async def sent_twice(
    api: httpx.AsyncClient, url: str, headers: dict[str, str], body: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The same request sent twice, both answered 200: the two answers."""
    answers = []
    for _ in range(2):
        answer = await api.post(url, headers=headers, json=body)
        assert answer.status_code == 200, answer.text
        answers.append(answer.json())
    return answers[0], answers[1]


async def test_a_decision_retried_with_its_key_is_answered_as_the_first(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    number = (await submit(api))["application_no"]
    department = COMPANY_SETUP_DEPARTMENTS[0]
    task = await task_for(api, department, number)
    headers = await as_user(api, department)
    decision = f"/api/tasks/{task['id']}/decision"

    keyed = headers | {"Idempotency-Key": "decide-once"}
    first, again = await sent_twice(api, decision, keyed, approval(task))
    assert again["state"] == first["state"] == "approved"
    assert await events_of(engine, number, "approved") == 1

    # Without the key the retry is another approval, of a step already decided.
    plain = await api.post(decision, headers=headers, json=approval(task))
    assert error_body(plain, 409)["error"] == "conflict"
    # The same key with another body is another action too.
    other = approval(task) | {"comment": "另一份意见"}
    assert (await api.post(decision, headers=keyed, json=other)).status_code == 409
    assert await events_of(engine, number, "approved") == 1


async def test_the_decision_that_grants_retried_with_its_key_is_answered_as_the_first(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """The read model shows the application granted once the last step is approved: a retry
    is asked of the engine, not refused from what the first left."""
    number = (await submit(api))["application_no"]
    *before, last = COMPANY_SETUP_DEPARTMENTS
    await approve_all(api, number, tuple(before))
    task = await task_for(api, last, number)
    keyed = await as_user(api, last) | {"Idempotency-Key": "grant-once"}
    decision = f"/api/tasks/{task['id']}/decision"
    first, again = await sent_twice(api, decision, keyed, approval(task))
    assert again["state"] == first["state"] == "approved"
    assert await events_of(engine, number, "granted") == 1

    # Another key is another decision, which the engine refuses with the state's reason.
    other = await api.post(
        decision, headers=keyed | {"Idempotency-Key": "grant-twice"}, json=approval(task)
    )
    assert error_body(other, 409)["error"] == "conflict"
    # Without a key the read model refuses it at once.
    plain = await api.post(decision, headers=await as_user(api, last), json=approval(task))
    assert "已办结" in error_body(plain, 409)["message"]


async def test_a_correction_answer_retried_with_its_key_is_answered_as_the_first(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    receipt = await submit(api)
    number, code = receipt["application_no"], receipt["query_code"]
    department = COMPANY_SETUP_DEPARTMENTS[0]
    task = await task_for(api, department, number)
    asked = await api.post(
        f"/api/tasks/{task['id']}/decision",
        headers=await as_user(api, department),
        json={"decision": "request_supplement", "items": ["住所使用证明"], "reason": "未签字"},
    )
    assert asked.status_code == 200, asked.text
    answer = {"items": [{"item": "住所使用证明", "ref": "file-31"}], "note": "已补签"}
    keyed = code_header(code) | {"Idempotency-Key": "supply-once"}
    url = f"/api/applications/{number}/supplements"
    first, again = await sent_twice(api, url, keyed, answer)
    assert again["correction"] is None and again["state"] == first["state"]
    assert await events_of(engine, number, "correction_supplied") == 1
    # Without the key the notice answered is gone: refused from the read model.
    plain = await api.post(url, headers=code_header(code), json=answer)
    assert "没有需要补正" in error_body(plain, 409)["message"]


async def test_a_key_is_its_senders_and_its_actions() -> None:
    clerk = Actor(id="u1", name="王", role=Role.staff)
    other = Actor(id="u2", name="李", role=Role.staff)
    assert update_id(None, ClaimInput(step_code="s", actor=clerk)) is None
    assert update_id("", ClaimInput(step_code="s", actor=clerk)) is None
    mine = update_id("k", ClaimInput(step_code="s", actor=clerk))
    assert mine == update_id("k", ClaimInput(step_code="s", actor=clerk))
    assert mine != update_id("k", ClaimInput(step_code="s", actor=other))
    assert mine != update_id("k2", ClaimInput(step_code="s", actor=clerk))


async def test_a_page_form_sent_twice_is_one_action(
    api: httpx.AsyncClient, api_app: FastAPI, engine: AsyncEngine
) -> None:
    """A double click, or a reload that posts the form again: each rendered page's forms carry
    a key of their own (`action_key`), so the second is answered as the first, not refused."""
    number = (await submit(api))["application_no"]
    department = COMPANY_SETUP_DEPARTMENTS[0]
    task = await task_for(api, department, number)
    page = f"/workbench/tasks/{task['id']}"
    result = {f"result_{k}": v for k, v in approval(task)["result"].items()}

    async def approve(browser: httpx.AsyncClient, keys: dict[str, str]) -> list[str]:
        sent = await browser.post(f"{page}/approve", data=keys | result)
        assert sent.status_code == 303, sent.text
        return flashes((await browser.get(sent.headers["location"])).text)

    async with client_of(api_app) as browser:
        await sign_in(browser, department)
        keys = await form_keys(browser, page)
        assert await approve(browser, keys) == ["已办结本环节（通过）。"]
        assert await approve(browser, keys) == ["已办结本环节（通过）。"]
        assert await events_of(engine, number, "approved") == 1

        # The page shown again has a key of its own: what its form sends is another action,
        # which the workflow refuses, the step being decided.
        keys_again = await form_keys(browser, page)
        assert keys_again["action_key"] != keys["action_key"]
        [refused] = await approve(browser, keys_again)
        assert "已办结本环节" not in refused
    assert await events_of(engine, number, "approved") == 1


async def form_keys(browser: httpx.AsyncClient, page: str) -> dict[str, str]:
    shown = (await browser.get(page)).text
    keys = dict(re.findall(r'name="(csrf|action_key)" value="([^"]+)"', shown))
    assert keys.keys() == {"csrf", "action_key"}, shown
    return keys
