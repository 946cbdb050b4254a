"""The API's Prometheus metrics (docs/observability.md lists them all).

Request latency is measured as requests pass; everything else is read from the read model
when Prometheus scrapes, by a few grouped counts over indexed columns, so that no counter can
drift from what the tables say and nothing has to be kept in step by the code that writes
them. The series' labels are bounded: route templates (never raw paths), card levels,
departments, channels and subscribers.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.notices import DeliveryState, NoticeChannel
from domain.states import ApplicationState, SlaLevel, StepState
from observability.logs import log_access
from store import feed
from store.models import (
    ApplicationRow,
    DepartmentRow,
    NotificationRow,
    StepRow,
    SubscriptionRow,
)

# From a cached page (a few ms) to an action waiting on the engine (up to its timeout).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
UNMATCHED = "unmatched"  # a path no route serves (404s, scanners): one series for them all
# A client may send any method name; others share one label value.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

OPEN_APPLICATION = [s.value for s in ApplicationState if not s.final]
ACTIVE_STEP = [s.value for s in StepState if s.active]


class ApiMetrics:
    """The metrics one app keeps in memory (a registry of its own: several apps may live in
    one process, as in the tests)."""

    def __init__(self) -> None:
        self.request_duration = Histogram(
            "tongban_http_request_duration_seconds",
            "Time from a request's arrival to its response's end, by route template",
            ["route", "method", "status"],
            buckets=LATENCY_BUCKETS,
            registry=None,
        )
        self.process = ProcessCollector(registry=None)

    async def exposition(
        self, session: AsyncSession, *, now: datetime, failing_after: timedelta
    ) -> bytes:
        """The text format Prometheus scrapes: the request metrics and the read model now."""
        registry = CollectorRegistry(auto_describe=False)
        registry.register(self.request_duration)
        registry.register(self.process)
        registry.register(
            _Families(await read_model_families(session, now=now, failing_after=failing_after))
        )
        return generate_latest(registry)


class RequestMetrics:
    """ASGI middleware timing every HTTP request, labelled with the route that served it,
    and writing its access line (observability.logs.log_access).

    The route is known only once the router has matched it (it sets `scope["route"]`), so it
    is read after the request is served."""

    def __init__(self, app: Any, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # An exception escaping the app becomes a 500 outside this middleware.
        status = 500

        async def sending(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            method = scope["method"] if scope["method"] in METHODS else "other"
            route = route_template(scope)
            elapsed = time.perf_counter() - started
            self.metrics.request_duration.labels(route, method, str(status)).observe(elapsed)
            log_access(scope, route, status, elapsed)


def route_template(scope: Any) -> str:
    """`/api/applications/{application_no}`, not the number: one series per route."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


class _Families(Collector):
    """Families computed before the scrape is rendered (collect() cannot await)."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return iter(self.families)


async def read_model_families(
    session: AsyncSession, *, now: datetime, failing_after: timedelta
) -> list[Metric]:
    return [
        *await _open_applications(session),
        *await _notifications(session),
        await _pushes(session),
        *await _subscribers(session, now=now, failing_after=failing_after),
    ]


def _levels() -> Iterator[str]:
    return (level.value for level in SlaLevel)


async def _open_applications(session: AsyncSession) -> list[Metric]:
    by_level = GaugeMetricFamily(
        "tongban_open_applications",
        "Applications not yet decided or withdrawn, by their supervision card",
        labels=["level"],
    )
    counts: dict[str, int] = {
        level: n
        for level, n in await session.execute(
            select(ApplicationRow.sla_level, func.count())
            .where(ApplicationRow.state.in_(OPEN_APPLICATION))
            .group_by(ApplicationRow.sla_level)
        )
    }
    for level in _levels():
        by_level.add_metric([level], counts.get(level, 0))

    by_department = GaugeMetricFamily(
        "tongban_department_open_applications",
        "Open applications with a step a department still owes a decision on, by that step's card",
        labels=["department", "level"],
    )
    owed: dict[tuple[str, str], int] = {
        (department, level): n
        for department, level, n in await session.execute(
            select(
                StepRow.department,
                StepRow.sla_level,
                func.count(StepRow.application_no.distinct()),
            )
            .join(ApplicationRow, ApplicationRow.application_no == StepRow.application_no)
            .where(ApplicationRow.state.in_(OPEN_APPLICATION), StepRow.state.in_(ACTIVE_STEP))
            .group_by(StepRow.department, StepRow.sla_level)
        )
    }
    departments = set(await session.scalars(select(DepartmentRow.code)))
    departments.update(department for department, _ in owed)
    for department in sorted(departments):
        for level in _levels():
            by_department.add_metric([department, level], owed.get((department, level), 0))
    return [by_level, by_department]


async def _notifications(session: AsyncSession) -> list[Metric]:
    undelivered: dict[tuple[str, str], int] = {
        (channel, state): n
        for channel, state, n in await session.execute(
            select(NotificationRow.channel, NotificationRow.state, func.count())
            .where(NotificationRow.state != DeliveryState.sent.value)
            .group_by(NotificationRow.channel, NotificationRow.state)
        )
    }
    pending = GaugeMetricFamily(
        "tongban_notifications_pending",
        "Notifications not yet delivered (an SMS being sent or retried), by channel",
        labels=["channel"],
    )
    failed = GaugeMetricFamily(
        "tongban_notifications_failed",
        "Notifications given up after their attempts, by channel",
        labels=["channel"],
    )
    for channel in (c.value for c in NoticeChannel):
        pending.add_metric([channel], undelivered.get((channel, DeliveryState.pending.value), 0))
        failed.add_metric([channel], undelivered.get((channel, DeliveryState.failed.value), 0))
    return [pending, failed]


async def _pushes(session: AsyncSession) -> Metric:
    unacknowledged = GaugeMetricFamily(
        "tongban_task_pushes_unacknowledged",
        "Open tasks whose push to their department's system has failed and is being retried",
        labels=["department"],
    )
    for department, n in await session.execute(
        select(StepRow.department, func.count())
        .where(StepRow.push_state == "failing", StepRow.state.in_(ACTIVE_STEP))
        .group_by(StepRow.department)
        .order_by(StepRow.department)
    ):
        unacknowledged.add_metric([department], n)
    return unacknowledged


async def _subscribers(
    session: AsyncSession, *, now: datetime, failing_after: timedelta
) -> list[Metric]:
    # Not sequenced here (a scrape must not take the feed's write lock), as on the
    # supervisors' delivery page: the lag counts the events already given a position.
    end = await feed.end(session)
    lag = GaugeMetricFamily(
        "tongban_feed_subscriber_lag_events",
        "Events of the feed an active subscriber has not been sent yet",
        labels=["subscription"],
    )
    failing = GaugeMetricFamily(
        "tongban_feed_subscriber_failing",
        "1 if an active subscriber's deliveries have been failing for longer than "
        "TONGBAN_FEED_FAILING_MINUTES, else 0",
        labels=["subscription"],
    )
    for s in await session.scalars(
        select(SubscriptionRow).where(SubscriptionRow.active.is_(True)).order_by(SubscriptionRow.id)
    ):
        lag.add_metric([str(s.id)], max(end - s.cursor, 0))
        failing.add_metric(
            [str(s.id)], int(bool(s.failing_since and now - s.failing_since > failing_after))
        )
    return [lag, failing]
