"""The event feed: pushed to a subscriber as signed CloudEvents, in order per application,
at least once (once each for a receiver deduplicating by id), through an outage of a
simulated day; and pulled by cursor."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook, WebhookVerificationError
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.services import subscriptions
from domain.actions import ClaimInput, WithdrawInput
from store.models import SubscriptionRow
from tests.api_helpers import SUPERVISOR, as_user, submit
from tests.engine import STARTED, start
from tests.factories import APPLICANT, application, staff
from tests.receivers import Receiver, running_receiver
from tests.timeline import eventually
from workflows.feed import FeedWorkflow, feed_workflow_id
from workflows.matter import MatterWorkflow


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


async def _subscribe(
    env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
    worker: Worker,
    url: str,
    poll_seconds: float = 0.2,
) -> SubscriptionRow:
    async with sessions() as session:
        row = await subscriptions.add(session, url=url, secret=None)
    await subscriptions.start_feed(env.client, worker.task_queue, row.id, poll_seconds=poll_seconds)
    STARTED.append(env.client.get_workflow_handle(feed_workflow_id(row.id)))
    return row


async def _events_of_two_applications(env: WorkflowEnvironment, worker: Worker) -> list[str]:
    numbers = []
    for _ in range(2):
        app = application("property_transfer", now=await env.get_current_time())
        handle = await start(env, worker.task_queue, app)
        await handle.execute_update(
            MatterWorkflow.claim, ClaimInput(step_code="deed_tax", actor=staff("tax"))
        )
        await handle.execute_update(MatterWorkflow.withdraw, WithdrawInput(actor=APPLICANT))
        numbers.append(app.application_no)
    return numbers


def _by_application(receiver: Receiver, numbers: list[str]) -> dict[str, list[int]]:
    seqs: dict[str, list[int]] = defaultdict(list)
    for r in receiver.received:
        event = r.json()
        if event["subject"] in numbers:
            seqs[event["subject"]].append(int(event["sequence"]))
    return seqs


async def test_a_subscriber_receives_every_event_signed_and_in_order(
    env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
    worker: Worker,
    receiver: Receiver,
) -> None:
    receiver.behaviour.fail_next = 2  # a receiver answering 500 for a while
    row = await _subscribe(env, sessions, worker, f"{receiver.url}/events")
    numbers = await _events_of_two_applications(env, worker)

    async def all_there() -> dict[str, list[int]]:
        seqs = _by_application(receiver, numbers)
        assert set(seqs) == set(numbers)
        for no in numbers:
            assert seqs[no] and seqs[no][-1] >= 5, seqs[no]  # up to the withdrawal
        return seqs

    seqs = await eventually(all_there)
    for no in numbers:
        assert seqs[no] == sorted(seqs[no]) == list(range(1, len(seqs[no]) + 1))
    first = receiver.received[0]
    body = first.body.decode()
    assert first.headers["content-type"] == "application/cloudevents+json"
    event = json.loads(body)
    assert event["specversion"] == "1.0" and event["type"].startswith("cn.gov.tongban.")
    assert event["id"] == first.headers["webhook-id"] == f"{event['subject']}/{event['sequence']}"
    Webhook(row.secret).verify(body, first.headers)  # the receiver's secret verifies it
    with pytest.raises(WebhookVerificationError):
        Webhook(subscriptions.new_secret()).verify(body, first.headers)


async def test_a_receiver_down_for_a_day_is_marked_failing_and_catches_up(
    env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
    worker: Worker,
    receiver: Receiver,
    api: httpx.AsyncClient,
) -> None:
    receiver.behaviour.down = True
    # Polling once a minute: time skipped below steps through the feed's sleeps.
    row = await _subscribe(env, sessions, worker, f"{receiver.url}/events", poll_seconds=60)
    numbers = await _events_of_two_applications(env, worker)
    await env.sleep(timedelta(days=1))  # a day of refusals, retried with backoff
    boss = await as_user(api, SUPERVISOR)

    async def failing() -> None:
        report = (await api.get("/api/supervision/deliveries", headers=boss)).json()
        [mine] = [s for s in report["subscriptions"] if s["id"] == row.id]
        assert mine["failing"] and "503" in mine["last_error"]

    await eventually(failing)
    receiver.behaviour.down = False
    await env.sleep(timedelta(minutes=10))  # past the retry's backoff (at most 5 minutes)

    async def caught_up() -> None:
        seqs = _by_application(receiver, numbers)
        assert set(seqs) == set(numbers) and all(seqs[n][-1] >= 5 for n in numbers)
        report = (await api.get("/api/supervision/deliveries", headers=boss)).json()
        [mine] = [s for s in report["subscriptions"] if s["id"] == row.id]
        assert not mine["failing"] and mine["failing_since"] is None

    await eventually(caught_up)
    ids = receiver.ids()
    assert len(ids) == len(set(ids))  # none twice
    # Removed, its feed workflow ends.
    async with sessions() as session:
        stored = await session.get(SubscriptionRow, row.id)
        assert stored is not None
        stored.active = False
        await session.commit()
    await env.sleep(timedelta(minutes=2))  # past its next poll
    feed: WorkflowHandle[FeedWorkflow, None] = env.client.get_workflow_handle_for(
        FeedWorkflow.run, feed_workflow_id(row.id)
    )

    async def ended() -> None:
        assert (await feed.describe()).status is WorkflowExecutionStatus.COMPLETED

    await eventually(ended)


async def test_the_pull_feed_resumes_from_its_cursor(api: httpx.AsyncClient) -> None:
    boss = await as_user(api, SUPERVISOR)
    start_at = (await api.get("/api/events", headers=boss, params={"limit": 500})).json()
    cursor = start_at["next"]
    while True:  # to the end of what is there
        page = (await api.get("/api/events", headers=boss, params={"after": cursor})).json()
        if not page["events"]:
            break
        cursor = page["next"]
    number = (await submit(api))["application_no"]
    page = (await api.get("/api/events", headers=boss, params={"after": cursor})).json()
    mine = [e for e in page["events"] if e["subject"] == number]
    assert [e["data"]["kind"] for e in mine][:2] == ["received", "accepted"]
    assert page["next"] > cursor
    again = (await api.get("/api/events", headers=boss, params={"after": page["next"]})).json()
    assert number not in {e["subject"] for e in again["events"]}
    # A department reads only the events of applications it has a step in.
    realty = await as_user(api, "realty")
    theirs = (await api.get("/api/events", headers=realty, params={"after": cursor})).json()
    assert number not in {e["subject"] for e in theirs["events"]}
    assert (await api.get("/api/events")).status_code == 401
