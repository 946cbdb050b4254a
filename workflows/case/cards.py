"""The card engine of electronic supervision (电子监察亮牌), as pure rules over clock readings.

A clock earns yellow when its warning policy says it is near the limit, red at its deadline
and serious when the legal limit has passed. Yellow and red need the clock running (a paused
clock earns nothing); serious follows the legal clock alone. A card only ever rises and each
level is earned once, so a card already held is never earned again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.calendar import WorkCalendar
from domain.clock import ClockReading
from domain.events import SUPERVISORS, department_head, leader
from domain.matter import WarningPolicy
from domain.states import SlaLevel


def yellow_earned(reading: ClockReading, policy: WarningPolicy) -> bool:
    if reading.share_used >= policy.yellow_share:
        return True
    return (
        policy.yellow_days_left is not None and reading.working_days_left <= policy.yellow_days_left
    )


def levels_due(
    held: SlaLevel, reading: ClockReading, policy: WarningPolicy, *, legal_over: bool
) -> list[SlaLevel]:
    """The cards newly earned by a clock holding `held`, lowest first."""
    due: list[SlaLevel] = []
    running = reading.running_since is not None
    if running and held.rank < SlaLevel.yellow.rank and yellow_earned(reading, policy):
        due.append(SlaLevel.yellow)
    if running and held.rank < SlaLevel.red.rank and reading.remaining <= timedelta(0):
        due.append(SlaLevel.red)
    if legal_over and held.rank < SlaLevel.serious.rank:
        due.append(SlaLevel.serious)
    return due


def yellow_at(
    reading: ClockReading, policy: WarningPolicy, calendar: WorkCalendar, now: datetime
) -> datetime:
    """When a running clock earns yellow, by its share of time used or its days left."""
    share_at = calendar.advance(now, reading.budget * policy.yellow_share - reading.used)
    if policy.yellow_days_left is None:
        return share_at
    left = calendar.day_length * policy.yellow_days_left
    return min(share_at, calendar.advance(now, reading.remaining - left))


def next_due(
    held: SlaLevel,
    reading: ClockReading,
    policy: WarningPolicy,
    calendar: WorkCalendar,
    now: datetime,
) -> datetime | None:
    """The earliest instant a running clock can earn its next yellow or red card."""
    if reading.running_since is None:
        return None
    candidates: list[datetime] = []
    if held.rank < SlaLevel.yellow.rank:
        candidates.append(yellow_at(reading, policy, calendar, now))
    if held.rank < SlaLevel.red.rank and reading.deadline:
        candidates.append(reading.deadline)
    return min(candidates, default=None)


def escalation(level: SlaLevel, department: str) -> list[str]:
    """督办 up the chain: a red step goes to its department head, a serious one to the leader
    in charge; supervisors are told of both."""
    if level is SlaLevel.red:
        return [department_head(department), SUPERVISORS]
    if level is SlaLevel.serious:
        return [leader(department), SUPERVISORS]
    return []


def reminder_due(reading: ClockReading, calendar: WorkCalendar) -> bool:
    """预警提醒: one working day before the deadline, for a clock with more than a day."""
    running = reading.running_since is not None
    day = calendar.day_length
    return running and reading.budget > day and timedelta(0) < reading.remaining <= day


def reminder_at(reading: ClockReading, calendar: WorkCalendar, now: datetime) -> datetime | None:
    """When a running clock will be one working day from its deadline (None when it is
    already, or never will be)."""
    day = calendar.day_length
    if reading.running_since is None or reading.budget <= day or reading.remaining <= day:
        return None
    return calendar.advance(now, reading.remaining - day)
