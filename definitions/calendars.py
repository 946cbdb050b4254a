"""Building calendar snapshots from the official schedule and the YAML files.

Sources, later ones winning:
1. `chinesecalendar`: the State Council schedule for the years it covers;
2. `definitions/calendars/years/YYYY.yaml`: a year's schedule published after that package
   (or a correction to it), which makes the year official;
3. the centre's file `definitions/calendars/<centre>.yaml`: office hours and local holidays.
A year in none of them is provisional: weekends plus the fixed-date holidays.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Annotated

import chinese_calendar
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from definitions.source import DEFINITIONS_ROOT, load_model
from domain.calendar import CalendarSnapshot, WorkCalendar

MonthDay = Annotated[str, StringConstraints(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")]


class HolidaySpan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    start: date = Field(alias="from")
    end: date = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> HolidaySpan:
        if self.end < self.start:
            raise ValueError("'to' is before 'from'")
        return self

    def days(self) -> Iterable[date]:
        day = self.start
        while day <= self.end:
            yield day
            day += timedelta(days=1)


class YearSchedule(BaseModel):
    """One year's official schedule (放假安排), as the State Council publishes it. It may
    begin in the December before (2019's: 元旦 from 2018-12-30, and Saturday 2018-12-29 a
    working day)."""

    model_config = ConfigDict(extra="forbid")

    def covers(self, day: date) -> bool:
        return day.year == self.year or (day.year == self.year - 1 and day.month == 12)

    year: int
    source: str = Field(description="where the schedule was published")
    holidays: list[HolidaySpan]
    workdays: list[date] = Field(default_factory=list, description="make-up working days")

    @model_validator(mode="after")
    def _within_year(self) -> YearSchedule:
        days = [d for span in self.holidays for d in span.days()] + self.workdays
        stray = sorted({d for d in days if not self.covers(d)})
        if stray:
            raise ValueError(
                f"dates outside {self.year} and the December before it: "
                + ", ".join(map(str, stray))
            )
        both = sorted(set(self.workdays) & {d for s in self.holidays for d in s.days()})
        if both:
            raise ValueError(f"both holiday and working day: {', '.join(map(str, both))}")
        return self


class CentreCalendar(BaseModel):
    """A service centre's office hours and local holidays."""

    model_config = ConfigDict(extra="forbid")

    code: str
    name: str
    timezone: str = "Asia/Shanghai"
    opening: time = time(9, 0)
    closing: time = time(17, 30)
    local_off_days: list[date] = Field(default_factory=list)
    local_on_days: list[date] = Field(default_factory=list)
    annual_off_days: list[MonthDay] = Field(default_factory=list)


def _library_years() -> set[int]:
    years = {d.year for d in chinese_calendar.constants.holidays}
    return {y for y in years if _library_covers(y)}


def _library_covers(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def _exceptions_from_library(year: int) -> tuple[set[date], set[date]]:
    off = {d for d in chinese_calendar.constants.holidays if d.year == year and d.weekday() < 5}
    on = {d for d in chinese_calendar.constants.workdays if d.year == year and d.weekday() >= 5}
    return off, on


def _exceptions_from_schedule(schedule: YearSchedule) -> tuple[set[date], set[date]]:
    off = {d for span in schedule.holidays for d in span.days() if d.weekday() < 5}
    on = {d for d in schedule.workdays if d.weekday() >= 5}
    return off, on


class CalendarSources:
    """The calendar data on disk, read once."""

    def __init__(self, root: Path = DEFINITIONS_ROOT / "calendars") -> None:
        self.root = root
        self.schedules = {
            s.year: s
            for s in (load_model(p, YearSchedule) for p in sorted((root / "years").glob("*.yaml")))
        }
        self.centres = {
            c.code: c for c in (load_model(p, CentreCalendar) for p in sorted(root.glob("*.yaml")))
        }
        self.library_years = _library_years()

    def official_years(self) -> set[int]:
        return self.library_years | set(self.schedules)

    def snapshot(self, centre: str, years: Iterable[int]) -> CalendarSnapshot:
        """The calendar of `centre` for `years` (other years read as provisional)."""
        if centre not in self.centres:
            known = ", ".join(sorted(self.centres)) or "none"
            raise KeyError(f"unknown calendar {centre!r} (known: {known})")
        c = self.centres[centre]
        off: set[date] = set()
        on: set[date] = set()
        official: list[int] = []
        wanted = set(years)
        # The year after too: its schedule may hold days of the last December wanted.
        for year in sorted(wanted | {y + 1 for y in wanted}):
            if year in self.schedules:
                year_off, year_on = _exceptions_from_schedule(self.schedules[year])
            elif year in self.library_years:
                year_off, year_on = _exceptions_from_library(year)
            else:
                continue
            if year in wanted:
                official.append(year)
            off |= {d for d in year_off if d.year in wanted}
            on |= {d for d in year_on if d.year in wanted}
        off = (off | {d for d in c.local_off_days if d.weekday() < 5}) - set(c.local_on_days)
        on = (on | {d for d in c.local_on_days if d.weekday() >= 5}) - set(c.local_off_days)
        return CalendarSnapshot(
            code=c.code,
            name=c.name,
            timezone=c.timezone,
            opening=c.opening,
            closing=c.closing,
            official_years=tuple(official),
            off_days=tuple(sorted(off)),
            on_days=tuple(sorted(on)),
            annual_off_days=tuple(c.annual_off_days),
        )

    def snapshot_around(self, centre: str, instant: datetime) -> CalendarSnapshot:
        """The snapshot an application accepted at `instant` is pinned to.

        It covers the year before (for clocks started just before New Year) through the
        year after, which holds any statutory limit.
        """
        year = instant.year
        return self.snapshot(centre, range(year - 1, year + 2))

    def calendar_around(self, centre: str, instant: datetime) -> WorkCalendar:
        return WorkCalendar(self.snapshot_around(centre, instant))


@cache
def default_sources() -> CalendarSources:
    return CalendarSources()
