"""What supervisors see of delivery: SMS sent, pending or given up; open tasks whose push to
a department's system keeps failing; the feed's subscribers and how far behind they are."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.container import Services
from api.schemas import (
    DeliveryReport,
    FailingPush,
    SmsFigures,
    SubscriptionView,
    UndeliveredMessage,
)
from api.services import settled
from api.services.accounts import StaffUser
from api.services.region_scope import level_of, of_visible
from api.services.supervision import ACTIVE_STEPS
from domain.notices import DeliveryState, NoticeChannel
from domain.regions import RegionLevel
from store import feed
from store.models import NotificationRow, StepRow, SubscriptionRow

# Named, not "!= sent": an index range each, not every SMS ever sent.
UNSENT = [s.value for s in DeliveryState if s is not DeliveryState.sent]


async def report(*, services: Services, session: AsyncSession, user: StaffUser) -> DeliveryReport:
    """What `user` sees: the messages and pushes of his region's applications; the feed's
    subscribers (the city's systems) for the city's supervisors only."""
    tz = services.tz
    mine = of_visible(NotificationRow.application_no, user)
    sms = NotificationRow.channel == NoticeChannel.sms.value
    sent = NotificationRow.state == DeliveryState.sent.value
    # Messages waiting or given up on are few; those delivered are every SMS ever sent. Those
    # delivered before the day began are counted once a day (api.services.settled), by the
    # real time of delivery (`sent_at` is the worker's clock, not the engine's).
    since = settled.cutoff(datetime.now(UTC), tz)

    async def count_sent(*when: ColumnElement[bool]) -> int:
        return int(await session.scalar(select(func.count()).where(sms, sent, mine, *when)) or 0)

    async def sent_before() -> int:
        return await count_sent(
            or_(NotificationRow.sent_at < since, NotificationRow.sent_at.is_(None))
        )

    by_state = await session.execute(
        select(NotificationRow.state, func.count())
        .where(sms, NotificationRow.state.in_(UNSENT), mine)
        .group_by(NotificationRow.state)
    )
    counts: dict[str, int] = {state: n for state, n in by_state}
    counts[DeliveryState.sent.value] = await settled.kept(
        "sms_sent", session, user, since, sent_before
    ) + await count_sent(NotificationRow.sent_at >= since)
    undelivered = await session.scalars(
        select(NotificationRow)
        .where(
            sms,
            NotificationRow.state.in_(UNSENT),
            NotificationRow.attempts > 0,
            mine,
        )
        .order_by(NotificationRow.at.desc())
        .limit(50)
    )
    # Open steps only, as the metric counts them: a push stops with its step (decided, or
    # the application closed), and its last state, failing, stays on the row.
    pushes = await session.scalars(
        select(StepRow)
        .where(
            StepRow.push_state == "failing",
            StepRow.state.in_(ACTIVE_STEPS),
            of_visible(StepRow.application_no, user),
        )
        .order_by(StepRow.opened_at)
        .limit(50)
    )
    # Not sequenced here (a supervisor's page must not take the feed's write lock): what the
    # subscribers' deliveries sequence as they go is what they are behind by.
    end = await feed.end(session)
    now = await services.clock()
    failing_after = timedelta(minutes=services.settings.feed_failing_minutes)
    subscribers: Sequence[SubscriptionRow] = (
        (
            await session.scalars(
                select(SubscriptionRow)
                .where(SubscriptionRow.active.is_(True))
                .order_by(SubscriptionRow.id)
            )
        ).all()
        if level_of(user) is RegionLevel.city
        else []
    )
    return DeliveryReport(
        sms=SmsFigures(
            pending=counts.get(DeliveryState.pending.value, 0),
            sent=counts.get(DeliveryState.sent.value, 0),
            failed=counts.get(DeliveryState.failed.value, 0),
        ),
        undelivered=[
            UndeliveredMessage(
                id=n.id,
                application_no=n.application_no,
                at=n.at.astimezone(tz),
                kind=n.kind,
                text=n.sms_text,
                state=n.state,
                attempts=n.attempts,
                last_error=n.last_error,
            )
            for n in undelivered
        ],
        pushes_failing=[
            FailingPush(
                task_id=s.id,
                application_no=s.application_no,
                step_name=s.name,
                department=services.catalogue.department_name(s.department),
                attempts=s.push_attempts,
                error=s.push_error,
            )
            for s in pushes
        ],
        subscriptions=[
            SubscriptionView(
                id=s.id,
                url=s.url,
                types=list(s.types),
                delivered=s.delivered,
                last_delivered_at=s.last_delivered_at.astimezone(tz)
                if s.last_delivered_at
                else None,
                failing=bool(s.failing_since and now - s.failing_since > failing_after),
                failing_since=s.failing_since.astimezone(tz) if s.failing_since else None,
                last_error=s.last_error,
                behind=max(end - s.cursor, 0),
            )
            for s in subscribers
        ],
    )
