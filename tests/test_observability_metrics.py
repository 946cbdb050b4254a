"""GET /metrics: request latency by route template, and the read model's backlogs as
Prometheus gauges, read at scrape time."""

from __future__ import annotations

import socket
import uuid
from datetime import timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from api.services import subscriptions
from domain.states import StepState
from simulation.idle import settle
from store import feed
from store.models import NotificationRow, StepRow, SubscriptionRow
from tests.api_helpers import status, submit

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(api: httpx.AsyncClient) -> tuple[str, Samples]:
    response = await api.get("/metrics")  # no credentials: Prometheus has none
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return response.text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_metrics_are_public_and_not_in_the_api_schema(api: httpx.AsyncClient) -> None:
    await scrape(api)
    schema = (await api.get("/openapi.json")).json()
    assert "/metrics" not in schema["paths"]


async def test_latency_is_labelled_by_route_template_never_by_raw_path(
    api: httpx.AsyncClient,
) -> None:
    receipt = await submit(api, accept=False)
    number = receipt["application_no"]
    await status(api, number, receipt["query_code"])
    missing = await api.get("/no/such/page/34050020261128000001")
    assert missing.status_code == 404
    assert (await api.head("/api/matters")).status_code == 200  # served as a GET

    text, samples = await scrape(api)
    assert number not in text and "34050020261128000001" not in text
    route = "/api/applications/{application_no}"
    labels = {"route": route, "method": "GET", "status": "200"}
    assert value(samples, "tongban_http_request_duration_seconds_count", **labels) >= 1
    assert (
        value(
            samples,
            "tongban_http_request_duration_seconds_count",
            route="/api/applications",
            method="POST",
            status="201",
        )
        >= 1
    )
    assert (
        value(
            samples,
            "tongban_http_request_duration_seconds_count",
            route="unmatched",
            method="GET",
            status="404",
        )
        >= 1
    )
    head = {"route": "/api/matters", "method": "HEAD", "status": "200"}
    assert value(samples, "tongban_http_request_duration_seconds_count", **head) == 1


async def test_open_applications_and_delivery_backlogs_come_from_the_read_model(
    api: httpx.AsyncClient,
    env: WorkflowEnvironment,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    _, before = await scrape(api)
    receipt = await submit(api)
    number = receipt["application_no"]
    # Nothing of this application may move while the figures are compared (its SMS have
    # failed by now: the test worker has no gateway).
    await settle(env.client.get_workflow_handle(number))
    _, settled = await scrape(api)
    async with sessions() as session, session.begin():
        step = (
            await session.scalars(
                select(StepRow).where(
                    StepRow.application_no == number,
                    StepRow.state.in_([StepState.open.value, StepState.claimed.value]),
                )
            )
        ).first()
        assert step is not None
        department = step.department
        await session.execute(
            update(StepRow).where(StepRow.id == step.id).values(push_state="failing")
        )
        session.add(
            NotificationRow(
                id=f"test-{uuid.uuid4()}",
                application_no=number,
                at=await env.get_current_time(),
                recipient="applicant",
                kind="received",
                subject="收件",
                body="收件",
                sent_at=None,
                channel="sms",
                state="failed",
                attempts=3,
            )
        )
    async with sessions() as session:
        subscriber = await subscriptions.add(
            session, url="http://receiver.invalid/", secret=None, from_start=True
        )
        subscriber.failing_since = await env.get_current_time() - timedelta(days=1)
        await session.commit()
        end = await feed.end(session)
    try:
        _, after = await scrape(api)
    finally:
        async with sessions() as session, session.begin():
            await session.execute(
                update(SubscriptionRow)
                .where(SubscriptionRow.id == subscriber.id)
                .values(active=False)
            )

    def grew(name: str, since: Samples, **labels: str) -> float:
        return value(after, name, **labels) - value(since, name, **labels)

    assert grew("tongban_open_applications", before, level="green") == 1
    opened = grew(
        "tongban_department_open_applications", before, department=department, level="green"
    )
    assert opened == 1
    assert grew("tongban_notifications_failed", settled, channel="sms") == 1
    assert grew("tongban_task_pushes_unacknowledged", settled, department=department) == 1
    mine = str(subscriber.id)
    assert value(after, "tongban_feed_subscriber_lag_events", subscription=mine) == end > 0
    assert value(after, "tongban_feed_subscriber_failing", subscription=mine) == 1
    # Every card level is a series, with nothing on it too: dashboards need no gaps.
    assert ("tongban_open_applications", frozenset({("level", "serious")})) in after


async def test_the_worker_serves_the_temporal_sdk_metrics_when_given_an_address(
    env: WorkflowEnvironment, sessions: async_sessionmaker[AsyncSession], task_queue: str
) -> None:
    from settings import Settings
    from temporal_client import connect, worker_runtime
    from worker import build_worker

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings(
        temporal_address=env.client.service_client.config.target_host,
        worker_metrics_address=f"127.0.0.1:{port}",
    )
    client = await connect(settings, runtime=worker_runtime(settings))
    async with (
        build_worker(client, sessions, task_queue, settings=settings),
        httpx.AsyncClient() as http,
    ):
        response = await http.get(f"http://127.0.0.1:{port}/metrics")
    assert response.status_code == 200
    names = {f.name for f in text_string_to_metric_families(response.text)}
    assert "temporal_request" in names, sorted(names)
