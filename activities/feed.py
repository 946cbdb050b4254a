"""The event feed, pushed to each subscriber (the provincial platform, a data exchange):
CloudEvents 1.0 in structured JSON, signed per Standard Webhooks, in feed order, at least
once.

One activity call delivers a batch in order and moves the subscriber's cursor after each
event its receiver acknowledges; a refused or failed delivery stops the batch (the events
after it wait, so each application's order holds) and raises, and Temporal retries with
backoff for as long as the receiver is down. A retry starts from the cursor, so a receiver
that deduplicates by `webhook-id` sees every event once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import httpx
from pydantic import BaseModel
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.outbound import Outbound
from activities.webhooks import post_signed
from store import feed
from store.models import SubscriptionRow

log = logging.getLogger("tongban.feed")


class FeedBatch(BaseModel):
    subscription_id: int
    limit: int = 100


class FeedProgress(BaseModel):
    delivered: int
    more: bool  # a full batch went out: there may be more right away
    stopped: bool = False  # the subscription was removed


class FeedActivities:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, source: str, timeout: float = 15.0
    ) -> None:
        self._sessions = sessions
        self._source = source
        self._http = Outbound(timeout)

    async def _record(self, subscription_id: int, **values: object) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(SubscriptionRow)
                .where(SubscriptionRow.id == subscription_id)
                .values(**values)
            )

    @activity.defn(name="deliver_feed")
    async def deliver_feed(self, batch: FeedBatch) -> FeedProgress:
        async with self._sessions() as session:
            await feed.sequence(session)
            subscription = await session.get(SubscriptionRow, batch.subscription_id)
            if subscription is None or not subscription.active:
                return FeedProgress(delivered=0, more=False, stopped=True)
            url, secret, cursor = subscription.url, subscription.secret, subscription.cursor
            events = await feed.after(session, cursor, batch.limit, subscription.types or None)
        delivered = 0
        client = self._http.client
        for event in events:
            content_type, body = feed.structured(event, source=self._source)
            try:
                answer = await post_signed(
                    client,
                    url,
                    secret=secret,
                    message_id=f"{event.application_no}/{event.seq}",
                    body=body.decode(),
                    content_type=content_type,
                )
                if answer.status_code >= 300:
                    raise RuntimeError(f"接收方返回 {answer.status_code}")
            except (httpx.HTTPError, RuntimeError) as exc:
                error = (str(exc) or type(exc).__name__)[:500]
                await self._failing(batch.subscription_id, error)
                log.warning("feed %d: delivery failed: %s", batch.subscription_id, error)
                raise
            delivered += 1
            await self._record(
                batch.subscription_id,
                cursor=event.position,
                delivered=SubscriptionRow.delivered + 1,
                last_delivered_at=datetime.now(UTC),
                failing_since=None,
                last_error=None,
            )
            activity.heartbeat(event.position)
        return FeedProgress(delivered=delivered, more=len(events) == batch.limit)

    async def _failing(self, subscription_id: int, error: str) -> None:
        async with self._sessions() as session, session.begin():
            row = await session.get(SubscriptionRow, subscription_id)
            if row is not None:
                row.last_error = error
                row.failing_since = row.failing_since or datetime.now(UTC)
