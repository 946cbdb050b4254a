"""Subscribers of the event feed: adding and removing them, and starting each one's
`FeedWorkflow` (the CLI does it on `add`; the worker makes sure of it when it starts)."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from activities.webhooks import SECRET_PREFIX, secret_problem
from domain.events import EventKind
from store import feed
from store.models import SubscriptionRow
from workflows.feed import FeedInput, FeedWorkflow, feed_workflow_id


class SubscriptionError(ValueError):
    pass


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


async def add(
    session: AsyncSession,
    *,
    url: str,
    secret: str | None,
    types: Sequence[str] = (),
    from_start: bool = False,
) -> SubscriptionRow:
    """A new subscriber: it receives what happens from now on (or everything, `from_start`)."""
    if not url.startswith(("http://", "https://")):
        raise SubscriptionError("the URL must start with http:// or https://")
    secret = secret or new_secret()
    problem = secret_problem(secret)
    if problem:
        raise SubscriptionError(problem)
    unknown = sorted(set(types) - {k.value for k in EventKind})
    if unknown:
        raise SubscriptionError(f"unknown event types: {', '.join(unknown)}")
    await feed.sequence_all(session)
    row = SubscriptionRow(
        url=url,
        secret=secret,
        types=list(types),
        cursor=0 if from_start else await feed.end(session),
        active=True,
        created_at=datetime.now(UTC),
        delivered=0,
    )
    session.add(row)
    await session.commit()
    return row


async def active(session: AsyncSession) -> list[SubscriptionRow]:
    return list(
        await session.scalars(select(SubscriptionRow).where(SubscriptionRow.active.is_(True)))
    )


async def start_feed(
    client: Client, task_queue: str, subscription_id: int, poll_seconds: float
) -> None:
    """Start the subscriber's feed workflow, unless it runs already."""
    await client.start_workflow(
        FeedWorkflow.run,
        FeedInput(subscription_id=subscription_id, poll_seconds=poll_seconds),
        id=feed_workflow_id(subscription_id),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
