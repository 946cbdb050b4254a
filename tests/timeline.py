"""Placing tests on the time-skipping server's clock and giving them calendars of their own.

The server's clock starts at the real time and only moves forward, so each test skips to an
instant of its own choosing (the next Monday at 10:00, ...) and uses a calendar built for it.
Tests then behave the same whatever day they run on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from temporalio.testing import WorkflowEnvironment

from definitions.calendars import default_sources
from domain.calendar import FIXED_DATE_HOLIDAYS, CalendarSnapshot

BEIJING = ZoneInfo("Asia/Shanghai")
T = TypeVar("T")


def plain_calendar(
    around: date,
    *,
    off_days: Iterable[date] = (),
    on_days: Iterable[date] = (),
    official: bool = True,
    code: str = "maanshan",
) -> CalendarSnapshot:
    """Weekends off and the given exceptions; official for the years around `around`."""
    years = range(around.year - 1, around.year + 3)
    return CalendarSnapshot(
        code=code,
        name="测试中心",
        official_years=tuple(years) if official else (),
        off_days=tuple(sorted(off_days)),
        on_days=tuple(sorted(on_days)),
    )


def shifted_official(first: date, last: date, onto: date) -> tuple[CalendarSnapshot, timedelta]:
    """The official schedule between `first` and `last` (2026 data), moved by whole weeks so
    that `first` falls on or after `onto`. Returns the calendar and the shift."""
    weeks = -(-(onto - first).days // 7)
    shift = timedelta(weeks=max(weeks, 0))
    real = default_sources().snapshot("maanshan", range(first.year, last.year + 1))

    def in_window(days: Iterable[date]) -> list[date]:
        return [d + shift for d in days if first <= d <= last]

    calendar = plain_calendar(
        first + shift, off_days=in_window(real.off_days), on_days=in_window(real.on_days)
    )
    return calendar, shift


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=BEIJING)


def next_weekday(after: datetime, weekday: int = 0) -> date:
    """The first date strictly after `after`'s Beijing date falling on `weekday` (Mon = 0)."""
    day = after.astimezone(BEIJING).date() + timedelta(days=1)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day


def next_plain_monday(after: datetime) -> date:
    """The next Monday of a fortnight free of fixed-date holidays, so that even a provisional
    calendar (which knows those dates) treats the fortnight as plain weekdays and weekends."""
    monday = next_weekday(after, 0)
    while any(
        (monday + timedelta(days=i)).strftime("%m-%d") in FIXED_DATE_HOLIDAYS for i in range(14)
    ):
        monday += timedelta(weeks=1)
    return monday


async def skip_to(env: WorkflowEnvironment, instant: datetime) -> None:
    now = await env.get_current_time()
    if instant > now:
        await env.sleep(instant - now)


async def eventually(
    check: Callable[[], Awaitable[T]], *, timeout: float = 15.0, interval: float = 0.05
) -> T:
    """Retry `check` until it stops raising AssertionError; the last failure is re-raised."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            return await check()
        except AssertionError:
            if loop.time() > deadline:
                raise
        await asyncio.sleep(interval)


def utc(instant: datetime) -> datetime:
    return instant.astimezone(UTC)
