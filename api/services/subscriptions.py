"""Subscribers of the event feed: adding and removing them, and starting each one's
`FeedWorkflow` (the CLI does it on `add`; the worker makes sure of it when it starts)."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

import httpx
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


KEY_BYTES = (24, 64)  # a Standard Webhooks secret's key, decoded: the spec's bounds


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def url_problem(url: str) -> str | None:
    """Why the feed could not be delivered to `url` (as httpx reads it), or None: checked
    when the subscriber is added, not left to fail every delivery."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        return f"the URL {url!r} is not valid: {exc}"
    if parsed.scheme not in ("http", "https"):
        return f"the URL {url!r} is not valid: it must start with http:// or https://"
    if not parsed.host:
        return f"the URL {url!r} is not valid: it names no host"
    return None


def key_problem(secret: str) -> str | None:
    """Why the key of a Standard Webhooks secret (`secret_problem` passed) is too short or
    too long for the spec (24 to 64 bytes), or None."""
    # Decoded as the standardwebhooks library decodes it, padding forgiven.
    size = len(base64.b64decode(secret.removeprefix(SECRET_PREFIX) + "=="))
    if KEY_BYTES[0] <= size <= KEY_BYTES[1]:
        return None
    return (
        f"the secret's key (the base64 after {SECRET_PREFIX}) is {size} bytes; Standard Webhooks "
        f"asks for {KEY_BYTES[0]} to {KEY_BYTES[1]} (e.g. from `openssl rand -base64 32`)"
    )


async def add(
    session: AsyncSession,
    *,
    url: str,
    secret: str | None,
    types: Sequence[str] = (),
    from_start: bool = False,
) -> SubscriptionRow:
    """A new subscriber: it receives what happens from now on (or everything, `from_start`)."""
    secret = secret or new_secret()
    problem = url_problem(url) or secret_problem(secret) or key_problem(secret)
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
