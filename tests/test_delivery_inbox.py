"""Staff inboxes (per person and department, with the unread count of the bell) and the
day-before reminders (预警提醒) that reach them."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.actions import ClaimInput
from tests.api_helpers import CLERK, as_user, submit
from tests.conftest import client_of
from tests.engine import event_rows, kinds, notification_rows, start_on_a_plain_monday
from tests.factories import staff
from tests.page_helpers import flashes, post_form, sign_in
from tests.timeline import at, eventually, skip_to
from workflows.matter import MatterWorkflow


async def test_a_new_task_reaches_the_departments_inbox_and_is_read_there(
    api: httpx.AsyncClient, api_app: FastAPI
) -> None:
    number = (await submit(api))["application_no"]
    amr, realty = await as_user(api, "amr"), await as_user(api, "realty")
    inbox = (await api.get("/api/inbox", headers=amr, params={"unread": "true"})).json()
    mine = [m for m in inbox["messages"] if m["application_no"] == number]
    assert [m["subject"] for m in mine] == ["新待办：企业设立登记"]
    assert "办理期限" in mine[0]["body"] and not mine[0]["read"]
    assert inbox["unread"] >= 1
    others = (await api.get("/api/inbox", headers=realty, params={"limit": 200})).json()
    assert number not in {m["application_no"] for m in others["messages"]}
    # The bell on the workbench shows the count.
    async with client_of(api_app) as browser:
        await sign_in(browser, "amr")
        page = await browser.get("/workbench")
        assert f'<span class="badge">{inbox["unread"]}</span>' in page.text
        listed = await browser.get("/inbox")
        assert "新待办：企业设立登记" in listed.text and number in listed.text
        assert flashes(listed.text) == []  # the messages are the page's, not notices on it
        answer = await post_form(browser, "/inbox", "/inbox/read", {"id": mine[0]["id"]})
        assert answer.status_code == 200
    after_page = (await api.get("/api/inbox", headers=amr)).json()
    assert after_page["unread"] == inbox["unread"] - 1
    marked = await api.post("/api/inbox/read", headers=amr, json={"ids": [mine[0]["id"]]})
    assert marked.json() == {"marked": 0}  # read already, on the page
    assert (await api.post("/api/inbox/read", headers=amr, json={})).json()["marked"] >= 0
    assert (await api.get("/api/inbox", headers=amr)).json()["unread"] == 0


async def test_marking_all_read_twice_at_once_marks_each_message_once(
    api: httpx.AsyncClient,
) -> None:
    """A double submit, or two tabs: the requests overlap, and each message is marked read
    by one of them, the others finding it read (no 500 on the read rows' key)."""
    clerk = await as_user(api, CLERK)
    for _ in range(3):
        await submit(api)
    inbox = (await api.get("/api/inbox", headers=clerk, params={"unread": "true"})).json()
    ids = [m["id"] for m in inbox["messages"]]
    assert len(ids) >= 3
    answers = await asyncio.gather(
        *(api.post("/api/inbox/read", json={"ids": ids}, headers=clerk) for _ in range(4))
    )
    assert [a.status_code for a in answers] == [200] * 4, [a.text[:200] for a in answers]
    assert sum(a.json()["marked"] for a in answers) == len(ids)
    inbox = (await api.get("/api/inbox", headers=clerk, params={"unread": "true"})).json()
    assert not {m["id"] for m in inbox["messages"]} & set(ids)


async def test_a_reminder_comes_one_working_day_before_the_deadline_once(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    handle, app, monday = await start_on_a_plain_monday(env, worker.task_queue, "company_setup")
    claimer = staff("amr")
    await handle.execute_update(
        MatterWorkflow.claim, ClaimInput(step_code="registration", actor=claimer)
    )
    # Registration: 3 working days from Monday 10:00, due Thursday 17:30; a day before that
    # is Wednesday 17:30. Seal and invoice (2 days) are reminded on Tuesday at 17:30.
    await skip_to(env, at(monday + timedelta(days=2), 17, 29))

    async def reminded(step: str, expected: set[str]) -> None:
        notes = await notification_rows(sessions, app.application_no)
        got = {n.recipient for n in notes if n.kind == "reminder" and step in n.subject}
        assert got == expected, got

    await eventually(lambda: reminded("公章", {"dept:psb"}))
    await reminded("企业设立登记", set())
    await skip_to(env, at(monday + timedelta(days=2), 17, 31))
    await eventually(lambda: reminded("企业设立登记", {"dept:amr", claimer.id}))
    await skip_to(env, at(monday + timedelta(days=3), 12))
    notes = await notification_rows(sessions, app.application_no)
    assert sum(1 for n in notes if n.kind == "reminder") == 4  # once each
    reminder = next(n for n in notes if n.kind == "reminder" and "企业设立登记" in n.subject)
    assert "17:30" in reminder.subject and reminder.state == "sent"  # in the inbox


async def test_a_reminder_due_before_any_card_is_written_when_it_falls_due(
    env: WorkflowEnvironment, worker: Worker, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """A reminder records no event of its own: it waited for the next one to be written
    with, which for a one-day step is its yellow card the next afternoon (engine 7)."""
    _, app, monday = await start_on_a_plain_monday(env, worker.task_queue, "property_transfer")
    # Housing and tax, one working day each from Monday 10:00: due Tuesday 17:30, reminded
    # on Monday at 17:30; their yellow cards come on Tuesday afternoon.
    await skip_to(env, at(monday, 17, 31))

    async def reminded() -> None:
        notes = await notification_rows(sessions, app.application_no)
        got = {n.recipient for n in notes if n.kind == "reminder"}
        assert got == {"dept:housing", "dept:tax"}, got

    await eventually(reminded)
    assert "card_raised" not in kinds(await event_rows(sessions, app.application_no))
