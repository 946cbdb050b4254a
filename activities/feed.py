"""The event feed, pushed to each subscriber (the provincial platform, a data exchange):
CloudEvents 1.0 in structured JSON, signed per Standard Webhooks, in feed order, at least
once.

One activity call delivers a batch in order and moves the subscriber's cursor after each
event its receiver acknowledges (and, once it has caught up, past the events its types leave
out); a refused or failed delivery stops the batch (the events after it wait, so each
application's order holds) and raises, and Temporal retries with backoff for as long as the
receiver is down. A retry starts from the cursor, so a receiver that deduplicates by
`webhook-id` sees every event once.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import ColumnElement, case, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.outbound import Outbound
from activities.webhooks import post_signed
from store import feed
from store.models import SubscriptionRow

log = logging.getLogger("tongban.feed")


# How long one batch may take: a receiver answering in 15 s (the most a request waits) still
# fits a batch's last request within the activity's five minutes.
BATCH_SECONDS = 120.0


def _forward(position: int) -> ColumnElement[int]:
    """The cursor moved on to `position`, never back: an attempt Temporal gave up on may
    still be finishing beside the retry that has gone further."""
    return case((SubscriptionRow.cursor < position, position), else_=SubscriptionRow.cursor)


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
            failing = subscription.failing_since is not None or subscription.last_error is not None
            # Read before the scan: every event up to it has its position and is committed,
            # and one committed later gets a higher position (sequence() holds the feed's lock
            # while it gives them), so a scan that comes back short has seen all up to it.
            end = await feed.end(session)
            events = await feed.after(session, cursor, batch.limit, subscription.types or None)
        started = time.monotonic()
        for delivered, event in enumerate(events, start=1):
            await self._deliver(batch.subscription_id, url, secret, event)
            cursor = event.position
            activity.heartbeat(cursor)
            if delivered < len(events) and time.monotonic() - started > BATCH_SECONDS:
                # A slow receiver: end the batch well within the activity's five minutes,
                # rather than time out and go on after a failure's backoff.
                return FeedProgress(delivered=delivered, more=True)
        more = len(events) == batch.limit
        if not more:
            await self._caught_up(batch.subscription_id, cursor, end, failing)
        return FeedProgress(delivered=len(events), more=more)

    async def _deliver(
        self, subscription_id: int, url: str, secret: str, event: feed.FeedEvent
    ) -> None:
        """Send one event, and move the cursor past it once the receiver acknowledged it."""
        try:
            content_type, body = feed.structured(event, source=self._source)
            answer = await post_signed(
                self._http,
                url,
                secret=secret,
                message_id=f"{event.application_no}/{event.seq}",
                body=body.decode(),
                content_type=content_type,
            )
            if answer.status_code >= 300:
                raise RuntimeError(f"接收方返回 {answer.status_code}")
        # Any failure, not only the receiver's (a URL httpx cannot parse is no HTTPError): the
        # batch is retried without end, and supervisors must see why. Cancellation (a
        # BaseException) is not a failure of the delivery.
        except Exception as exc:
            error = (str(exc) or type(exc).__name__)[:500]
            await self._failing(subscription_id, error)
            log.warning("feed %d: delivery failed: %s", subscription_id, error)
            raise
        await self._record(
            subscription_id,
            cursor=_forward(event.position),
            delivered=SubscriptionRow.delivered + 1,
            last_delivered_at=datetime.now(UTC),
        )

    async def _caught_up(self, subscription_id: int, cursor: int, end: int, failing: bool) -> None:
        """A short batch went out in full: nothing up to `end` is owed any more.

        The cursor moves to `end` past the events the subscriber's types leave out, so that
        it does not scan them again and is not counted behind by them. Failing ends here, not
        at the first event acknowledged: a receiver that takes one event in ten would
        otherwise look healthy while it falls behind for good."""
        values: dict[str, object] = {"cursor": _forward(end)} if end > cursor else {}
        if failing:
            values |= {"failing_since": None, "last_error": None}
        if values:
            await self._record(subscription_id, **values)

    async def _failing(self, subscription_id: int, error: str) -> None:
        async with self._sessions() as session, session.begin():
            row = await session.get(SubscriptionRow, subscription_id)
            if row is not None:
                row.last_error = error
                row.failing_since = row.failing_since or datetime.now(UTC)
