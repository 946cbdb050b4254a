"""Notifications delivered: the applicant's SMS through a real local gateway that refuses,
times out and fails for a while; retries with backoff; given up after its attempts; a
worker stopped mid-delivery replaced without loss; the words from the templates."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.messages import SMS_ATTEMPTS
from definitions.notice_templates import load_templates
from definitions.source import DefinitionErrors
from domain.actions import WithdrawInput
from domain.application import ApplicationInput
from settings import Settings
from store.models import NotificationRow
from tests.api_helpers import second_app
from tests.engine import running_worker, start
from tests.factories import APPLICANT, application
from tests.page_helpers import flashes, sign_in
from tests.receivers import Receiver, running_receiver
from tests.timeline import eventually
from worker import build_worker
from workflows.matter import MatterWorkflow


@pytest.fixture
def gateway() -> AsyncIterator[Receiver]:  # type: ignore[misc]
    with running_receiver() as receiver:
        yield receiver


def settings_for(gateway: Receiver, **options: Any) -> Settings:
    return Settings(**{"sms_url": f"{gateway.url}/sms", "database_url": "unused"} | options)


async def _sms(sessions: async_sessionmaker[AsyncSession], no: str) -> list[NotificationRow]:
    async with sessions() as s:
        rows = await s.scalars(
            select(NotificationRow)
            .where(NotificationRow.application_no == no, NotificationRow.channel == "sms")
            .order_by(NotificationRow.at, NotificationRow.id)
        )
        return list(rows)


async def _online_app(env: WorkflowEnvironment) -> ApplicationInput:
    """A company setup submitted online: the window accepts it (its SMS: 收件, 受理…)."""
    return application(
        "company_setup",
        now=await env.get_current_time(),
        needs_acceptance=True,
        accepted_by=APPLICANT,
    )


async def _received_then_withdrawn(
    env: WorkflowEnvironment, task_queue: str
) -> tuple[str, list[str]]:
    """An online application (收件 SMS), then withdrawn: the workflow ends once its SMS are
    through, and waiting on its result lets the test server skip the retries' backoff."""
    app = await _online_app(env)
    handle = await start(env, task_queue, app)
    await handle.execute_update(
        MatterWorkflow.withdraw, WithdrawInput(actor=APPLICANT, reason="不办了")
    )
    await env.sleep(timedelta(hours=2))  # past the retries' backoff (10 s doubling, 8 tries)
    await handle.result()
    return app.application_no, [app.applicant.phone]


async def test_sms_reach_the_applicant_through_a_flaky_gateway_once_each(
    env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
    task_queue: str,
    gateway: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    gateway.behaviour.fail_next = 3  # 500, 500, 500, then it works
    caplog.set_level(logging.INFO)
    async with running_worker(env, sessions, task_queue, settings=settings_for(gateway)):
        number, [phone] = await _received_then_withdrawn(env, task_queue)
    rows = await _sms(sessions, number)
    assert rows and all(r.state == "sent" for r in rows), [(r.state, r.last_error) for r in rows]
    ids = gateway.ids()
    assert sorted(ids) == sorted(r.id for r in rows) and len(ids) == len(set(ids))
    first = next(r.json() for r in gateway.received if r.json()["id"] == rows[0].id)
    assert first["to"] == phone and "已收件" in first["text"] and number in first["text"]
    assert max(r.attempts for r in rows) > 1  # the failures were retried
    assert phone not in caplog.text  # phone numbers masked in logs


async def test_an_sms_is_given_up_after_its_attempts_with_the_last_error(
    env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
    task_queue: str,
    gateway: Receiver,
) -> None:
    gateway.behaviour.down = True
    async with running_worker(env, sessions, task_queue, settings=settings_for(gateway)):
        number, _ = await _received_then_withdrawn(env, task_queue)
    rows = await _sms(sessions, number)
    assert rows and {r.state for r in rows} == {"failed"}
    assert {r.attempts for r in rows} == {SMS_ATTEMPTS}
    assert all("503" in (r.last_error or "") for r in rows)
    assert gateway.received == []


@pytest.mark.parametrize(
    "mistake",
    [{"sms_url": "http://[::1/sms"}, {"sms_token": "网关令牌"}],
    ids=["a URL httpx cannot parse", "a token that is not ASCII"],
)
async def test_an_sms_failing_in_any_way_is_counted_and_given_up_in_sight(
    env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
    task_queue: str,
    gateway: Receiver,
    mistake: dict[str, str],
) -> None:
    """Failures that are not the gateway's (no HTTPError) count on the message's row as
    well: Temporal keeps no count of its own that could give up a message still pending."""
    async with running_worker(env, sessions, task_queue, settings=settings_for(gateway, **mistake)):
        number, _ = await _received_then_withdrawn(env, task_queue)
    rows = await _sms(sessions, number)
    assert rows and {(r.state, r.attempts) for r in rows} == {("failed", SMS_ATTEMPTS)}
    assert all(r.last_error and r.failed_at for r in rows), [r.last_error for r in rows]
    assert gateway.received == []


async def test_a_worker_stopped_mid_delivery_is_replaced_and_nothing_is_lost(
    env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
    task_queue: str,
    gateway: Receiver,
) -> None:
    app = await _online_app(env)
    # The gateway holds the first SMS for 20 s and the first worker's first try would wait
    # 10 s (the most it may) for it: the SMS is surely in flight when the worker is killed.
    # (A first try that gave up before the kill would leave a `send_sms` activity started on
    # the killed worker, which holds the time-skipping server's clock until it times out,
    # and with it every test that skips time after this one.)
    gateway.behaviour.hang_next, gateway.behaviour.hang_seconds = 1, 20.0
    # Killed, not stopped: it does not wait for the SMS in flight.
    first = build_worker(
        env.client,
        sessions,
        task_queue,
        settings=settings_for(gateway, sms_first_try_seconds=10),
        max_cached_workflows=0,
        graceful_shutdown_timeout=timedelta(0),
    )
    async with first:
        handle = await start(env, task_queue, app)

        async def in_flight() -> None:
            assert gateway.attempts == 1

        await eventually(in_flight)
    # The first worker went away while its SMS hung at the gateway; a second one takes over.
    async with running_worker(env, sessions, task_queue, settings=settings_for(gateway)):
        await handle.execute_update(
            MatterWorkflow.withdraw, WithdrawInput(actor=APPLICANT, reason="不办了")
        )
        await env.sleep(timedelta(hours=1))  # past the retry's backoff
        await handle.result()
    rows = await _sms(sessions, app.application_no)
    assert rows and {r.state for r in rows} == {"sent"}
    assert sorted(set(gateway.ids())) == sorted(r.id for r in rows)


async def _sms_activities(handle: WorkflowHandle[Any, Any]) -> int:
    """How many SMS activities the workflow scheduled (each a task through the server)."""
    history = await handle.fetch_history()
    return sum(
        1
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
        and e.activity_task_scheduled_event_attributes.activity_type.name == "send_sms"
    )


async def _online(env: WorkflowEnvironment, task_queue: str) -> WorkflowHandle[Any, Any]:
    return await start(env, task_queue, await _online_app(env))


async def _withdrawn_online(
    env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
    task_queue: str,
    settings: Settings,
) -> tuple[WorkflowHandle[Any, Any], list[NotificationRow]]:
    """An online application, received then withdrawn by a worker with `settings`; its SMS."""
    async with running_worker(env, sessions, task_queue, settings=settings):
        handle = await _online(env, task_queue)
        await handle.execute_update(
            MatterWorkflow.withdraw, WithdrawInput(actor=APPLICANT, reason="不办了")
        )
        await handle.result()
    return handle, await _sms(sessions, handle.id)


async def test_an_sms_goes_out_with_the_write_that_recorded_it(
    env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
    task_queue: str,
    gateway: Receiver,
) -> None:
    """Engine 3: the read model's write gives each SMS its first try; a gateway that takes
    it leaves the workflow no SMS activity to schedule."""
    handle, rows = await _withdrawn_online(env, sessions, task_queue, settings_for(gateway))
    assert rows and {(r.state, r.attempts) for r in rows} == {("sent", 1)}
    assert sorted(gateway.ids()) == sorted(r.id for r in rows)  # each once
    assert await _sms_activities(handle) == 0


async def test_with_first_tries_off_each_sms_is_sent_by_its_activity(
    env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
    task_queue: str,
    gateway: Receiver,
) -> None:
    """`TONGBAN_SMS_FIRST_TRY_SECONDS=0`, for a gateway known to be slow: the write tries
    nothing, and every message is sent by the retried activity, its first attempt counted."""
    settings = settings_for(gateway, sms_first_try_seconds=0)
    handle, rows = await _withdrawn_online(env, sessions, task_queue, settings)
    assert rows and {(r.state, r.attempts) for r in rows} == {("sent", 1)}
    assert sorted(gateway.ids()) == sorted(r.id for r in rows)  # each once
    assert await _sms_activities(handle) == len(rows)


async def test_after_a_failed_first_try_the_next_go_straight_to_the_retries(
    env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
    task_queue: str,
    gateway: Receiver,
) -> None:
    """A first try that fails leaves the message to the retried activity, and its attempt
    counted; the messages written next skip their first try for a while, so that a gateway
    that hangs does not hold every write (and the action behind it) for its timeout."""
    gateway.behaviour.fail_next = 1
    settings = settings_for(gateway, sms_first_try_pause_seconds=3600)
    async with running_worker(env, sessions, task_queue, settings=settings):
        first = await _online(env, task_queue)

        async def first_try_failed() -> None:
            rows = await _sms(sessions, first.id)
            assert rows and rows[0].attempts == 1 and rows[0].state == "pending"

        await eventually(first_try_failed)
        second = await _online(env, task_queue)
        await env.sleep(timedelta(minutes=5))  # past the retries' backoff
        for handle in (first, second):
            await handle.execute_update(
                MatterWorkflow.withdraw, WithdrawInput(actor=APPLICANT, reason="不办了")
            )
            await handle.result()
    [received] = (await _sms(sessions, first.id))[:1]
    assert (received.state, received.attempts) == ("sent", 2) and received.last_error is None
    assert await _sms_activities(first) == 1
    # Sent by its activity's first attempt: the write did not try it (the gateway would
    # have taken it, and no activity would have been scheduled).
    [skipped] = (await _sms(sessions, second.id))[:1]
    assert (skipped.state, skipped.attempts) == ("sent", 1)
    assert await _sms_activities(second) == 1
    assert len(gateway.ids()) == len(set(gateway.ids()))


def test_templates_refuse_values_a_notice_does_not_have(tmp_path: Path) -> None:
    bad = tmp_path / "notifications.yaml"
    text = (Path(__file__).parents[1] / "definitions" / "notifications.yaml").read_text()
    text = text.replace("承诺办结时间{deadline}", "承诺办结时间{deadline}，窗口{window_name}")
    text = text.replace("  - notice: granted\n", "  - notice: grantd\n")
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(DefinitionErrors) as refused:
        load_templates(bad)
    messages = [str(e) for e in refused.value.errors]
    assert any("{window_name}" in m and "notifications.yaml:" in m for m in messages), messages
    assert any("unknown notice 'grantd'" in m for m in messages), messages
    assert any("no template for notice 'granted'" in m for m in messages), messages


async def test_staff_see_what_the_local_gateway_was_sent(
    engine: AsyncEngine, demo_accounts: None, tmp_path: Path
) -> None:
    sink = tmp_path / "sms.jsonl"
    sent = {
        "id": "T1/1",
        "to": "13912345678",
        "text": "您申请的企业开办已受理。",
        "received_at": "2026-11-28T13:15:21+00:00",
    }
    sink.write_text(json.dumps(sent, ensure_ascii=False) + "\n", encoding="utf-8")
    async with second_app(engine, sms_sink_file=sink) as (_, browser):
        await sign_in(browser, "supervisor")
        page = await browser.get("/dev/sms")
    assert page.status_code == 200
    assert "您申请的企业开办已受理。" in page.text and "139****5678" in page.text
    assert "2026-11-28 21:15:21" in page.text  # in Beijing time
    assert "13912345678" not in page.text and flashes(page.text) == []
    async with second_app(engine) as (_, browser):  # no local gateway: no such page
        await sign_in(browser, "supervisor")
        assert (await browser.get("/dev/sms")).status_code == 404
