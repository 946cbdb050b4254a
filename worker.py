"""The Temporal worker: runs `MatterWorkflow` and its activities (the read model, the
licence library)."""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

from activities.auto_facts import AutoFactsActivities
from activities.departments import DepartmentActivities
from activities.feed import FeedActivities
from activities.licences import LicenceActivities
from activities.messages import MessageActivities, SmsGateway
from activities.read_model import ReadModelActivities
from api.services import subscriptions
from definitions.calendars import default_sources
from definitions.catalogue import default_catalogue
from observability.logs import configure_logging
from observability.tracing import setup_tracing
from settings import Settings, get_settings
from store.db import create_engine, session_factory
from temporal_client import connect, worker_runtime
from workflows.feed import FeedWorkflow
from workflows.matter import MatterWorkflow

log = logging.getLogger("tongban.worker")


def build_worker(
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
    task_queue: str,
    *,
    licences: LicenceActivities | None = None,
    settings: Settings | None = None,
    **options: Any,
) -> Worker:
    settings = settings or get_settings()
    tz = ZoneInfo(default_sources().centres[settings.centre].timezone)
    if licences is None:
        licences = LicenceActivities(sessions, default_catalogue(), tz)
    auto_facts = AutoFactsActivities(sessions)
    token = settings.sms_token.get_secret_value() if settings.sms_token else ""
    gateway = SmsGateway(
        url=settings.sms_url,
        token=token,
        first_try_seconds=settings.sms_first_try_seconds,
        first_try_pause_seconds=settings.sms_first_try_pause_seconds,
    )
    messages = MessageActivities(sessions, gateway)
    read_model = ReadModelActivities(sessions, messages, tz=tz)
    departments = DepartmentActivities(
        sessions,
        secrets={k: v.get_secret_value() for k, v in settings.connector_secrets.items()},
        public_url=settings.public_url,
    )
    feed = FeedActivities(sessions, source=settings.feed_source)
    # Let running activities (a projection is one short transaction) finish on shutdown.
    options.setdefault("graceful_shutdown_timeout", timedelta(seconds=10))
    # Most open applications sleep for days on a card timer: keeping each in memory costs
    # some 380 KB (measured: docs/performance.md), replaying one at its next timer a few ms.
    # 100 keeps the worker under 300 MB with 10,000 applications open.
    options.setdefault("max_cached_workflows", settings.worker_cache_size)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[MatterWorkflow, FeedWorkflow],
        activities=[
            read_model.record_projection,
            licences.issue_licences,
            licences.revoke_licences,
            auto_facts.gather_auto_facts,
            messages.send_sms,
            departments.push_task,
            feed.deliver_feed,
        ],
        **options,
    )


async def run(settings: Settings) -> None:
    tracing = setup_tracing(settings, "tongban-worker")
    # Interceptors of the client are the worker's too: its workflows and activities are traced.
    client = await connect(
        settings,
        runtime=worker_runtime(settings),
        interceptors=[tracing.interceptor] if tracing else [],
    )
    engine = create_engine(settings.db_url, settings.db_pool_size)
    worker = build_worker(
        client, session_factory(engine), settings.temporal_task_queue, settings=settings
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info(
        "worker polling %s on %s (namespace %s)",
        settings.temporal_task_queue,
        settings.temporal_address,
        settings.temporal_namespace,
    )
    if settings.worker_metrics_address:
        log.info("Temporal SDK metrics at http://%s/metrics", settings.worker_metrics_address)
    async with worker:
        await _ensure_feeds(client, session_factory(engine), settings)
        await stop.wait()
        log.info("stopping: finishing the tasks in hand")
    await engine.dispose()
    if tracing:
        tracing.shutdown()


async def _ensure_feeds(
    client: Client, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    """Every active subscriber has its feed workflow (one added while Temporal was away, or
    on another server, gets it now)."""
    async with sessions() as session:
        ids = [row.id for row in await subscriptions.active(session)]
    for subscription_id in ids:
        await subscriptions.start_feed(
            client, settings.temporal_task_queue, subscription_id, settings.feed_poll_seconds
        )


def main() -> None:
    settings = get_settings()
    configure_logging(log_format=settings.log_format)
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
