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

from activities.licences import LicenceActivities
from activities.read_model import ReadModelActivities
from definitions.calendars import default_sources
from definitions.catalogue import default_catalogue
from observability.logs import configure_logging
from settings import Settings, get_settings
from store.db import create_engine, session_factory
from temporal_client import connect
from workflows.matter import MatterWorkflow

log = logging.getLogger("tongban.worker")


def build_worker(
    client: Client,
    sessions: async_sessionmaker[AsyncSession],
    task_queue: str,
    *,
    licences: LicenceActivities | None = None,
    **options: Any,
) -> Worker:
    read_model = ReadModelActivities(sessions)
    if licences is None:
        centre = default_sources().centres[get_settings().centre]
        licences = LicenceActivities(sessions, default_catalogue(), ZoneInfo(centre.timezone))
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[MatterWorkflow],
        activities=[read_model.record_projection, licences.issue_licences],
        # Let running activities (a projection is one short transaction) finish on shutdown.
        graceful_shutdown_timeout=timedelta(seconds=10),
        **options,
    )


async def run(settings: Settings) -> None:
    client = await connect(settings)
    engine = create_engine(settings.db_url)
    worker = build_worker(client, session_factory(engine), settings.temporal_task_queue)
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
    async with worker:
        await stop.wait()
        log.info("stopping: finishing the tasks in hand")
    await engine.dispose()


def main() -> None:
    configure_logging()
    asyncio.run(run(get_settings()))


if __name__ == "__main__":
    main()
