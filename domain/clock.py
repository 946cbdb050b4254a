"""A time-limit clock kept as a ledger of facts, never as a stored firing time.

The facts are: when the clock started, its limit in working days, the extensions granted and
the pauses (corrections, special procedures). Every reading recomputes budget, time used and
deadline from those facts under a given calendar, so pausing, resuming, extending and
recomputing under a changed calendar are exact by construction (docs/domain.md, "Clocks
are ledgers").
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field, field_validator

from domain.calendar import WorkCalendar


def to_minute(instant: datetime) -> datetime:
    """Ledger entries are kept to the minute, as a register would keep them; otherwise a
    pause of two days and a few milliseconds would move a deadline past closing time."""
    return instant.replace(second=0, microsecond=0)


class Pause(BaseModel):
    since: datetime
    until: datetime | None = None
    reason: str

    @field_validator("since", "until")
    @classmethod
    def _minutes(cls, value: datetime | None) -> datetime | None:
        return None if value is None else to_minute(value)


class ClockReading(BaseModel):
    """A clock as seen at one instant."""

    budget: timedelta = Field(description="office time allowed, extensions included")
    used: timedelta = Field(description="office time consumed while running")
    running_since: datetime | None = Field(description="None while paused")
    paused_since: datetime | None
    deadline: datetime | None = Field(description="None while paused: the clock is stopped")
    provisional: bool
    working_days_left: float = Field(description="remaining office time in working days")

    @property
    def remaining(self) -> timedelta:
        return self.budget - self.used

    @property
    def share_used(self) -> float:
        if self.budget <= timedelta(0):
            return 1.0
        return self.used / self.budget


class Clock(BaseModel):
    started_at: datetime
    limit_days: int
    extension_days: int = 0
    pauses: list[Pause] = Field(default_factory=list)
    # A pause that begins once the clock has run out (a correction asked on an overdue step)
    # does not move its deadline. Clocks made before this (False) added every pause, and
    # keep doing so: their histories replay as recorded.
    exact: bool = False

    @field_validator("started_at")
    @classmethod
    def _minutes(cls, value: datetime) -> datetime:
        return to_minute(value)

    @property
    def paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1].until is None

    def pause(self, at: datetime, reason: str) -> None:
        if not self.paused:
            self.pauses.append(Pause(since=at, reason=reason))

    def resume(self, at: datetime) -> None:
        if self.paused:
            self.pauses[-1].until = to_minute(at)

    def extend(self, working_days: int) -> None:
        self.extension_days += working_days

    def extend_to(self, working_days: int) -> None:
        """Raise the extension to at least `working_days` (never shortens a clock)."""
        self.extension_days = max(self.extension_days, working_days)

    def reading(self, calendar: WorkCalendar, now: datetime) -> ClockReading:
        total_days = self.limit_days + self.extension_days
        original = calendar.deadline(self.started_at, total_days)
        budget = calendar.office_time(self.started_at, original.at)
        if self.exact:  # the pauses begun once it had run out stopped nothing
            paused = self._paused_in_time(calendar, budget, now)
        else:
            paused = sum(
                (calendar.office_time(p.since, p.until or now) for p in self.pauses),
                timedelta(0),
            )
        used = calendar.office_time(self.started_at, now) - paused
        deadline: datetime | None = None
        provisional = original.provisional
        if not self.paused:
            # Solving office_time(start, x) - paused == budget: all pauses lie before now.
            deadline = calendar.advance(self.started_at, budget + paused)
            provisional = calendar.provisional_between(
                calendar.local(self.started_at).date(), calendar.local(deadline).date()
            )
        return ClockReading(
            budget=budget,
            used=used,
            running_since=None if self.paused else self._running_since(),
            paused_since=self.pauses[-1].since if self.paused else None,
            deadline=deadline,
            provisional=provisional,
            working_days_left=(budget - used) / calendar.day_length,
        )

    def _paused_in_time(
        self, calendar: WorkCalendar, budget: timedelta, now: datetime
    ) -> timedelta:
        """The office time of the pauses that began before the deadline they would move:
        one begun after the clock ran out stops nothing that was still running."""
        counted = timedelta(0)
        for p in self.pauses:
            if p.since >= calendar.advance(self.started_at, budget + counted):
                break  # this one, and every later one, began with the clock run out
            counted += calendar.office_time(p.since, p.until or now)
        return counted

    def _running_since(self) -> datetime:
        return self.pauses[-1].until or self.started_at if self.pauses else self.started_at
