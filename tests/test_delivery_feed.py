"""The event feed: pushed to a subscriber as signed CloudEvents, in order per application,
at least once (once each for a receiver deduplicating by id), through an outage of a
simulated day; and pulled by cursor."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook, WebhookVerificationError
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from activities import feed as feed_activities
from activities.feed import FeedActivities, FeedBatch, FeedProgress
from api.services import subscriptions
from domain.actions import ClaimInput, WithdrawInput
from domain.application import ApplicationInput
from store import feed
from store.models import SubscriptionRow
from tests.api_helpers import SUPERVISOR, as_user, submit
from tests.engine import STARTED, Handle, event_rows, start
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


# --- one batch at a time, without the feed's workflow -------------------------------------


@asynccontextmanager
async def _subscriber(
    sessions: async_sessionmaker[AsyncSession], url: str, **options: Any
) -> AsyncIterator[SubscriptionRow]:
    """A subscription no workflow delivers (the test calls the activity), removed after."""
    async with sessions() as session:
        row = await subscriptions.add(session, url=url, secret=None, **options)
    try:
        yield row
    finally:
        async with sessions() as session:
            stored = await session.get(SubscriptionRow, row.id)
            assert stored is not None
            stored.active = False
            await session.commit()


async def _deliver(
    sessions: async_sessionmaker[AsyncSession], subscription_id: int, limit: int = 100
) -> FeedProgress:
    activities = FeedActivities(sessions, source="urn:test")
    batch = FeedBatch(subscription_id=subscription_id, limit=limit)
    return await ActivityEnvironment().run(activities.deliver_feed, batch)


async def _stored(
    sessions: async_sessionmaker[AsyncSession], row: SubscriptionRow
) -> tuple[SubscriptionRow, int]:
    """The subscription as stored, and the feed's end."""
    async with sessions() as session:
        stored = await session.get(SubscriptionRow, row.id)
        assert stored is not None
        return stored, await feed.end(session)


async def _set_url(
    sessions: async_sessionmaker[AsyncSession], row: SubscriptionRow, url: str
) -> None:
    async with sessions() as session:
        await session.execute(
            update(SubscriptionRow).where(SubscriptionRow.id == row.id).values(url=url)
        )
        await session.commit()


async def _property_transfer(env: WorkflowEnvironment) -> ApplicationInput:
    return application("property_transfer", now=await env.get_current_time())


async def _has_events(sessions: async_sessionmaker[AsyncSession], number: str, *kinds: str) -> None:
    async def written() -> None:
        assert set(kinds) <= {e.kind for e in await event_rows(sessions, number)}

    await eventually(written)


async def _withdraw(sessions: async_sessionmaker[AsyncSession], handle: Handle) -> None:
    await handle.execute_update(MatterWorkflow.withdraw, WithdrawInput(actor=APPLICANT))
    await _has_events(sessions, handle.id, "withdrawn")


def _subjects(receiver: Receiver, numbers: Sequence[str]) -> list[str]:
    return [s for s in (r.json()["subject"] for r in receiver.received) if s in numbers]


async def test_a_subscriber_of_some_types_is_behind_only_by_the_events_it_is_owed(
    env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
    worker: Worker,
    receiver: Receiver,
    api: httpx.AsyncClient,
) -> None:
    """Its cursor moves past the events it does not take (they are not scanned again, and
    do not count as behind), and not past one it takes committed later."""
    boss = await as_user(api, SUPERVISOR)

    async def behind(row: SubscriptionRow) -> int:
        report = (await api.get("/api/supervision/deliveries", headers=boss)).json()
        [mine] = [s for s in report["subscriptions"] if s["id"] == row.id]
        return int(mine["behind"])

    url = f"{receiver.url}/events"
    async with _subscriber(sessions, url, types=["withdrawn"]) as row:
        first = await start(env, worker.task_queue, await _property_transfer(env))
        await _withdraw(sessions, first)
        # The second's events (none withdrawn yet) come after the first's withdrawal.
        second = await start(env, worker.task_queue, await _property_transfer(env))
        await _has_events(sessions, second.id, "accepted", "step_opened")
        assert (await _deliver(sessions, row.id)).delivered == 1
        stored, end = await _stored(sessions, row)
        assert stored.cursor == end and await behind(row) == 0
        await _withdraw(sessions, second)
        assert (await _deliver(sessions, row.id)).delivered == 1
        stored, end = await _stored(sessions, row)
        assert stored.cursor == end and await behind(row) == 0
    assert _subjects(receiver, [first.id, second.id]) == [first.id, second.id]


async def test_a_delivery_failing_in_any_way_is_shown_until_the_subscriber_catches_up(
    env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
    worker: Worker,
    receiver: Receiver,
) -> None:
    """A failure that is no HTTPError (a URL httpx cannot parse, stored before URLs were
    checked) marks the subscriber failing too; one event acknowledged does not clear it,
    catching up does."""
    async with _subscriber(sessions, f"{receiver.url}/events") as row:
        handle = await start(env, worker.task_queue, await _property_transfer(env))
        await _withdraw(sessions, handle)
        await _set_url(sessions, row, "http://[::1/events")
        with pytest.raises(httpx.InvalidURL):
            await _deliver(sessions, row.id)
        stored, _ = await _stored(sessions, row)
        assert stored.failing_since is not None and stored.last_error
        await _set_url(sessions, row, row.url)
        assert (await _deliver(sessions, row.id, limit=1)).more  # one event, more owed
        stored, _ = await _stored(sessions, row)
        assert stored.failing_since is not None and stored.last_error
        assert not (await _deliver(sessions, row.id)).more  # all that is owed
        stored, end = await _stored(sessions, row)
        assert stored.failing_since is None and stored.last_error is None
        assert stored.cursor == end


async def test_a_slow_receiver_s_batch_ends_in_time_and_the_rest_follows(
    env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
    worker: Worker,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch past its time (here at once) ends after the event it is sending, with more
    owed, instead of running into the activity's timeout, a failure and its backoff."""
    monkeypatch.setattr(feed_activities, "BATCH_SECONDS", 0.0)
    async with _subscriber(sessions, f"{receiver.url}/events") as row:
        handle = await start(env, worker.task_queue, await _property_transfer(env))
        await _withdraw(sessions, handle)
        progress = await _deliver(sessions, row.id)
        assert progress.delivered == 1 and progress.more
        stored, end = await _stored(sessions, row)
        assert 0 < stored.cursor < end and stored.failing_since is None
