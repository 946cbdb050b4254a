"""The working-day calendar: which days count, and how much office time lies between instants.

Pure and deterministic so that workflows can use it: everything it knows comes from a
`CalendarSnapshot`, the data an application is pinned to at acceptance. Building a snapshot
from `chinesecalendar` and the YAML files is `definitions.calendars`' job.

Working time is measured in *office time*: on each working day the interval from opening
to closing time counts, nothing else does. A deadline of N working days is the closing time
of the Nth working day after day 0 (docs/domain.md "Working days"); expressed as office time it
becomes a budget that pauses, extensions and calendar changes can adjust exactly.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

# Fixed-date statutory holidays (国务院《全国年节及纪念日放假办法》, 2025 revision). For a year
# whose official schedule is not loaded yet these, with weekends, are all we can know.
FIXED_DATE_HOLIDAYS = ("01-01", "05-01", "05-02", "10-01", "10-02", "10-03")

# No real calendar has a year without working days; a longer search means broken data.
_MAX_SCAN_DAYS = 3 * 366


class CalendarError(ValueError):
    """The calendar cannot answer: broken data or an instant without a time zone."""


class CalendarSnapshot(BaseModel):
    """Everything needed to tell working days apart, frozen for one service centre."""

    model_config = ConfigDict(frozen=True)

    code: str
    name: str
    timezone: str = "Asia/Shanghai"
    opening: time = time(9, 0)
    closing: time = time(17, 30)
    official_years: tuple[int, ...] = ()
    # Days that a weekday rule would get wrong: weekday holidays (official or local) ...
    off_days: tuple[date, ...] = ()
    # ... and make-up working days (调休) that fall on a weekend.
    on_days: tuple[date, ...] = ()
    # Month-day holidays assumed for years without official data.
    provisional_holidays: tuple[str, ...] = FIXED_DATE_HOLIDAYS
    # Local holidays that recur every year on the same date ("MM-DD").
    annual_off_days: tuple[str, ...] = ()

    @property
    def version(self) -> str:
        """A short content hash: two snapshots with the same version decide every day alike."""
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode()).hexdigest()[:12]


class Deadline(BaseModel):
    at: datetime
    provisional: bool = Field(description="A year on the way has no official schedule yet")


class WorkCalendar:
    """Answers working-day questions from one snapshot."""

    def __init__(self, snapshot: CalendarSnapshot) -> None:
        if snapshot.closing <= snapshot.opening:
            raise CalendarError("closing time must be after opening time")
        self.snapshot = snapshot
        self.tz = ZoneInfo(snapshot.timezone)
        self.day_length = datetime.combine(date.min, snapshot.closing) - datetime.combine(
            date.min, snapshot.opening
        )
        self._workdays: dict[date, bool] = {}

    @cached_property
    def _off(self) -> frozenset[date]:
        return frozenset(self.snapshot.off_days)

    @cached_property
    def _on(self) -> frozenset[date]:
        return frozenset(self.snapshot.on_days)

    @cached_property
    def _official(self) -> frozenset[int]:
        return frozenset(self.snapshot.official_years)

    def is_official(self, day: date) -> bool:
        return day.year in self._official

    def is_workday(self, day: date) -> bool:
        # Every clock's reading walks its days one by one, at every transition: each day is
        # worked out once (a few thousand over a calendar's years at most).
        known = self._workdays.get(day)
        if known is None:
            known = self._workdays[day] = self._is_workday(day)
        return known

    def _is_workday(self, day: date) -> bool:
        if day in self._on:
            return True
        if day in self._off:
            return False
        month_day = day.strftime("%m-%d")
        if month_day in self.snapshot.annual_off_days:
            return False
        if not self.is_official(day) and month_day in self.snapshot.provisional_holidays:
            return False
        return day.weekday() < 5

    def provisional_between(self, first: date, last: date) -> bool:
        """True when any year from `first` to `last` has no official schedule."""
        return any(year not in self._official for year in range(first.year, last.year + 1))

    # --- days ---------------------------------------------------------------------------

    def next_workday(self, day: date) -> date:
        for offset in range(1, _MAX_SCAN_DAYS):
            candidate = day + timedelta(days=offset)
            if self.is_workday(candidate):
                return candidate
        raise CalendarError(f"no working day within {_MAX_SCAN_DAYS} days after {day}")

    def add_workdays(self, day: date, count: int) -> date:
        """The `count`-th working day after `day` (`day` itself when count is 0)."""
        for _ in range(count):
            day = self.next_workday(day)
        return day

    def local(self, instant: datetime) -> datetime:
        if instant.tzinfo is None:
            raise CalendarError("instants must carry a time zone")
        return instant.astimezone(self.tz)

    def opening_at(self, day: date) -> datetime:
        return datetime.combine(day, self.snapshot.opening, tzinfo=self.tz)

    def closing_at(self, day: date) -> datetime:
        return datetime.combine(day, self.snapshot.closing, tzinfo=self.tz)

    def day_zero(self, instant: datetime) -> date:
        """The working day a clock started at `instant` counts from (not itself counted).

        Policy (docs/domain.md): an acceptance on a non-working day counts as made on the next
        working day. We apply the same to an acceptance after closing time, so that a
        same-day matter accepted in the evening is not overdue before it begins.
        """
        here = self.local(instant)
        today = here.date()
        if self.is_workday(today) and here < self.closing_at(today):
            return today
        return self.next_workday(today)

    def deadline(self, start: datetime, working_days: int) -> Deadline:
        """Closing time of the `working_days`-th working day after day 0 of `start`."""
        if working_days < 0:
            raise CalendarError("a time limit cannot be negative")
        zero = self.day_zero(start)
        last = self.add_workdays(zero, working_days)
        return Deadline(
            at=self.closing_at(last),
            provisional=self.provisional_between(self.local(start).date(), last),
        )

    # --- office time --------------------------------------------------------------------

    def office_time(self, start: datetime, end: datetime) -> timedelta:
        """Working time between two instants (zero if `end` is not after `start`)."""
        if end <= start:
            return timedelta(0)
        total = timedelta(0)
        day = self.local(start).date()
        last = self.local(end).date()
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        while day <= last:
            if self.is_workday(day):
                lo = max(start, self.opening_at(day).astimezone(UTC))
                hi = min(end, self.closing_at(day).astimezone(UTC))
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total

    def advance(self, start: datetime, amount: timedelta) -> datetime:
        """The earliest instant (UTC) at which `amount` of office time has passed since `start`.

        Arithmetic is done in UTC so that a zone with daylight saving would still be exact.
        Landing exactly on a closing time returns that closing time, not the next opening:
        a deadline is the end of its last working day.
        """
        if amount <= timedelta(0):
            return start
        left = amount
        day = self.local(start).date()
        start = start.astimezone(UTC)
        for _ in range(_MAX_SCAN_DAYS * 10):
            if self.is_workday(day):
                lo = max(start, self.opening_at(day).astimezone(UTC))
                hi = self.closing_at(day).astimezone(UTC)
                if hi > lo:
                    if hi - lo >= left:
                        return lo + left
                    left -= hi - lo
            day += timedelta(days=1)
        raise CalendarError("office time cannot be reached: the calendar has no working days")
