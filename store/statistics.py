"""The statistics in SQL: the columns the projection keeps per application, the daily
aggregates and the days they are fresh for, and the queries behind the figures.

How the aggregates stay fresh: `tongban statistics refresh` computes the counts of each past
day (applications received that day, by region and matter) into `daily_statistics` and
records the day in `statistics_days`. Whenever something that a figure reads changes for an
application (a decision, a visit, a hand-over, a rating), the day it was received is marked
stale. A query reads fresh days from the aggregates and computes stale days, days never
refreshed and today live from the applications, and adds them up: the figures are always
current, and as fast as the share of days refreshed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, Literal, cast

from sqlalchemy import (
    Connection,
    Table,
    and_,
    case,
    delete,
    func,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from domain.ratings import RatingLevel
from domain.statistics import (
    COMPLETED,
    COUNT_NAMES,
    NOTHING_TO_COLLECT,
    ONE_WINDOW_ROLES,
    ONLINE_CHANNELS,
    UNDONE,
    VISIT_EVENTS,
    WINDOW_ROLES,
    CatalogueCounts,
    Counts,
)
from store.db import insert_into
from store.models import (
    ApplicationRow,
    CatalogueEntryRow,
    DailyStatisticsRow,
    EventRow,
    RatingRow,
    StatisticsDayRow,
)
from store.types import UTCDateTime

Daily = cast(Table, DailyStatisticsRow.__table__)
Days = cast(Table, StatisticsDayRow.__table__)
# Counts are read by day or by region ("" for numbers without one): a handful of rows
# either way, whatever the number of applications behind them.
By = Literal["day", "region"]

# --- what the projection keeps ----------------------------------------------------------------


def recount_visits(application_no: str) -> Any:
    """Visits (跑动次数): a walk-in application, a correction or a withdrawal a window clerk
    recorded for the applicant, a result handed over at the window. Counted again from the
    row and its events, so that replaying a projection never counts twice."""
    a, e = ApplicationRow, EventRow
    recorded = (
        select(func.count())
        .where(
            e.application_no == a.application_no,
            e.kind.in_(VISIT_EVENTS),
            e.actor_role.in_(WINDOW_ROLES),
        )
        .scalar_subquery()
    )
    return (
        update(a)
        .where(a.application_no == application_no)
        .values(
            visits=case((a.channel == "window", 1), else_=0)
            + recorded
            + case((a.handover_method == "window", 1), else_=0)
        )
    )


def record_acceptance(application_no: str, role: str) -> Any:
    """Who decided on the acceptance: the first decision stands."""
    a = ApplicationRow
    return (
        update(a)
        .where(a.application_no == application_no, a.acceptance_role.is_(None))
        .values(acceptance_role=role)
    )


async def mark_stale(
    session: AsyncSession, application_no: str, *, today: date | None = None
) -> None:
    """The day the application was received needs computing again.

    Always a write of the day's row, made (stale, holding no aggregates) if the day was
    never refreshed: a refresh of that day, under way, inserts that row as fresh before it
    counts, and on PostgreSQL an UPDATE would find no row, wait for nothing, and leave the
    day fresh without this change for good. The insert waits for the refresh's instead,
    then marks its row stale.

    `today` (the centre's date, when known): an application received today is left alone.
    Today is always counted live and never refreshed, so there is nothing to mark; and a row
    made for it would have every projection of the day wait on it in turn (PostgreSQL)."""
    a = ApplicationRow
    day = select(a.received_on, literal(datetime.now(UTC), UTCDateTime()), true()).where(
        a.application_no == application_no, a.received_on.is_not(None)
    )
    if today is not None:
        day = day.where(a.received_on < today)
    marked = insert_into(session.get_bind().dialect.name, Days).from_select(
        ["day", "refreshed_at", "stale"], day
    )
    await session.execute(
        marked.on_conflict_do_update(index_elements=["day"], set_={"stale": True})
    )


# --- counting --------------------------------------------------------------------------------


def _sum_if(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _count_columns() -> list[Any]:
    """Counts' fields, in order, over applications left-joined with their ratings."""
    a, r = ApplicationRow, RatingRow
    online = a.channel.in_(ONLINE_CHANNELS)
    # A decision undone after the grant was completed when granted (domain.statistics).
    completed = or_(
        a.state.in_(COMPLETED), and_(a.state.in_(UNDONE), a.completed_early.is_not(None))
    )
    columns = [
        func.count(),
        _sum_if(online),
        _sum_if(
            and_(
                online,
                a.visits == 0,
                or_(
                    # Posted: as handed over, or as chosen while not yet handed over.
                    a.handover_method == "express",
                    and_(a.handover_method.is_(None), a.delivery == "express"),
                    a.state.in_(NOTHING_TO_COLLECT),
                ),
            )
        ),
        _sum_if(a.acceptance_role.is_not(None)),
        _sum_if(a.acceptance_role.in_(ONE_WINDOW_ROLES)),
        _sum_if(a.visits <= 1),
        _sum_if(completed),
        _sum_if(
            and_(
                completed,
                or_(a.promised_deadline.is_(None), a.completed_at <= a.promised_deadline),
            )
        ),
        _sum_if(and_(completed, a.completed_early.is_(True))),
        *(_sum_if(r.level == level.value) for level in RatingLevel),
    ]
    assert len(columns) == len(COUNT_NAMES)
    return columns


def _counted(where: Sequence[Any], keys: Sequence[Any]) -> Any:
    """Counts of the applications `where` selects, grouped by `keys`."""
    return (
        select(*keys, *_count_columns())
        .outerjoin(RatingRow, RatingRow.application_no == ApplicationRow.application_no)
        .where(*where)
        .group_by(*keys)
    )


def _region() -> Any:
    """The region an application is counted in: the township's or village's whose agent
    (代办员) accepted it, else the region that numbered it ("" for numbers without one)."""
    return func.coalesce(ApplicationRow.local_region, ApplicationRow.region_code, "")


def _counts(row: Sequence[Any]) -> Counts:
    return Counts(**{name: int(value or 0) for name, value in zip(COUNT_NAMES, row, strict=True)})


async def live_counts(
    session: AsyncSession, days: Sequence[date], region_codes: Sequence[str] | None, by: By
) -> dict[Any, Counts]:
    """The counts of `days`, computed from the applications themselves."""
    if not days:
        return {}
    a = ApplicationRow
    where: list[Any] = [a.received_on.in_(days)]
    if region_codes is not None:
        where.append(_region().in_(region_codes))
    key = a.received_on if by == "day" else _region()
    rows = await session.execute(_counted(where, [key]))
    return {row[0]: _counts(row[1:]) for row in rows}


async def stored_counts(
    session: AsyncSession,
    start: date,
    end: date,
    region_codes: Sequence[str] | None,
    skip: Sequence[date],
    by: By,
) -> dict[Any, Counts]:
    """The aggregates of the days from `start` to `end` but those in `skip`."""
    d = DailyStatisticsRow
    where: list[Any] = [d.day >= start, d.day <= end]
    if skip:
        where.append(d.day.not_in(skip))
    if region_codes is not None:
        where.append(d.region_code.in_(region_codes))
    key = d.day if by == "day" else d.region_code
    columns = [func.sum(getattr(d, name)) for name in COUNT_NAMES]
    rows = await session.execute(select(key, *columns).where(*where).group_by(key))
    return {row[0]: _counts(row[1:]) for row in rows}


async def days_to_compute(session: AsyncSession, start: date, end: date, today: date) -> set[date]:
    """The days from `start` to `end` the aggregates do not answer for: not refreshed, or
    stale since, and today (and any day after, where clocks may disagree)."""
    fresh = set(
        await session.scalars(
            select(StatisticsDayRow.day).where(
                StatisticsDayRow.day >= start,
                StatisticsDayRow.day <= end,
                StatisticsDayRow.stale.is_(False),
                StatisticsDayRow.day < today,
            )
        )
    )
    span = (end - start).days + 1
    every = (start.fromordinal(start.toordinal() + i) for i in range(max(span, 0)))
    return {day for day in every if day not in fresh}


async def catalogue_counts(
    session: AsyncSession,
    region_codes: Sequence[str] | None,
    level: str | None,
    statuses: Sequence[str],
) -> CatalogueCounts:
    e = CatalogueEntryRow
    where: list[Any] = [e.status.in_(statuses)]
    if region_codes is not None:
        where.append(e.region_code.in_(region_codes))
    if level:
        where.append(e.level == level)
    entries, online, promised, asked = (
        await session.execute(
            select(
                func.count(),
                _sum_if(e.online.is_(True)),
                func.coalesce(func.sum(e.promised_limit_days), 0),
                func.coalesce(func.sum(e.materials_asked), 0),
            ).where(*where)
        )
    ).one()
    return CatalogueCounts(int(entries), int(online), int(promised), int(asked))


# --- refreshing ------------------------------------------------------------------------------


def days_needing_refresh(conn: Connection, before: date) -> list[date]:
    """Past days with applications whose aggregates are missing or stale."""
    a, s = ApplicationRow, StatisticsDayRow
    received = conn.scalars(
        select(a.received_on).where(a.received_on.is_not(None), a.received_on < before).distinct()
    )
    fresh = set(conn.scalars(select(s.day).where(s.stale.is_(False))))
    return sorted(day for day in received if day is not None and day not in fresh)


def refresh_days(conn: Connection, days: Sequence[date], now: datetime) -> int:
    """Compute the aggregates of `days` again, in the caller's transaction; returns the rows
    written. The days are first marked fresh (taking their rows' locks on PostgreSQL), then
    counted: a change committed meanwhile either is counted or marks its day stale again."""
    if not days:
        return 0
    marked = insert_into(conn.dialect.name, Days).values(
        [{"day": day, "refreshed_at": now, "stale": False} for day in days]
    )
    conn.execute(
        marked.on_conflict_do_update(
            index_elements=["day"], set_={"refreshed_at": now, "stale": False}
        )
    )
    conn.execute(delete(Daily).where(Daily.c.day.in_(days)))
    a = ApplicationRow
    counted = _counted([a.received_on.in_(days)], [a.received_on, _region(), a.matter_code])
    columns = ["day", "region_code", "matter_code", *COUNT_NAMES]
    result = conn.execute(Daily.insert().from_select(columns, counted))
    return int(result.rowcount or 0)
