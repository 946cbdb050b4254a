"""The clock ledger: pause, resume, extension and calendar changes recompute exactly."""

from __future__ import annotations

from datetime import date, timedelta

from domain.calendar import WorkCalendar
from domain.clock import Clock
from tests.timeline import at, plain_calendar

# A week with nothing special: Monday 2030-06-03 .. (the clock does not care which year).
MON = date(2030, 6, 3)
CAL = WorkCalendar(plain_calendar(MON))


def day(offset: int) -> date:
    return MON + timedelta(days=offset)


def test_reading_of_a_running_clock() -> None:
    clock = Clock(started_at=at(MON, 10), limit_days=3)
    r = clock.reading(CAL, at(day(1), 10))
    assert r.deadline == at(day(3), 17, 30)
    assert r.budget == timedelta(hours=7.5 + 3 * 8.5)
    assert r.used == timedelta(hours=7.5 + 1)
    assert r.running_since == at(MON, 10)
    assert r.working_days_left == (r.budget - r.used) / timedelta(hours=8.5)


def test_pause_moves_the_deadline_by_exactly_the_paused_working_time() -> None:
    clock = Clock(started_at=at(MON, 10), limit_days=3)
    clock.pause(at(day(1), 10), "correction")
    paused = clock.reading(CAL, at(day(2), 12))
    assert paused.deadline is None and paused.paused_since == at(day(1), 10)
    assert paused.used == timedelta(hours=7.5 + 1)  # stopped while paused
    clock.resume(at(day(3), 10))
    r = clock.reading(CAL, at(day(3), 10))
    paused_time = CAL.office_time(at(day(1), 10), at(day(3), 10))
    assert paused_time == timedelta(hours=17)  # two working days
    assert r.deadline == CAL.advance(at(day(3), 17, 30), paused_time) == at(day(7), 17, 30)


def test_pause_over_a_weekend_costs_nothing_outside_office_hours() -> None:
    clock = Clock(started_at=at(MON, 10), limit_days=5)
    clock.pause(at(day(4), 18), "correction")  # Friday evening
    clock.resume(at(day(7), 8))  # Monday before opening
    assert clock.reading(CAL, at(day(7), 8)).deadline == at(day(7), 17, 30)


def test_repeated_pauses_add_up() -> None:
    clock = Clock(started_at=at(MON, 9), limit_days=2)
    for start, end in ((at(MON, 10), at(MON, 11)), (at(day(1), 10), at(day(1), 12))):
        clock.pause(start, "correction")
        clock.pause(start + timedelta(minutes=5), "ignored: already paused")
        clock.resume(end)
    assert len(clock.pauses) == 2
    # Three paused office hours push Wednesday 17:30 to Thursday 12:00.
    assert clock.reading(CAL, at(day(1), 12)).deadline == at(day(3), 12)


def test_a_pause_begun_once_the_clock_ran_out_does_not_move_its_deadline() -> None:
    """Due Tuesday 17:30, a correction asked on Thursday (overdue) and answered on Friday:
    the deadline stays Tuesday; one pause in time before it still counts."""
    for exact, due in ((True, at(day(1), 17, 30)), (False, at(day(2), 17, 30))):
        clock = Clock(started_at=at(MON, 10), limit_days=1, exact=exact)
        clock.pause(at(day(3), 10), "correction")
        clock.resume(at(day(4), 10))
        reading = clock.reading(CAL, at(day(4), 10))
        assert reading.deadline == due, exact  # clocks made before `exact` moved it
        if exact:  # overdue by all the office time since the deadline it missed
            assert -reading.remaining == CAL.office_time(due, at(day(4), 10))
    clock = Clock(started_at=at(MON, 10), limit_days=1, exact=True)
    for start, end in ((at(MON, 11), at(MON, 12)), (at(day(3), 10), at(day(4), 10))):
        clock.pause(start, "correction")
        clock.resume(end)
    # The hour paused on Monday moves Tuesday 17:30 on by an hour; Thursday's pause nothing.
    assert clock.reading(CAL, at(day(4), 10)).deadline == at(day(2), 10)


def test_extension_adds_whole_working_days() -> None:
    clock = Clock(started_at=at(MON, 10), limit_days=2)
    clock.extend(2)
    assert clock.reading(CAL, at(MON, 11)).deadline == at(day(4), 17, 30)
    clock.extend_to(1)  # never shortens
    assert clock.extension_days == 2


def test_calendar_change_recomputes_from_the_facts() -> None:
    clock = Clock(started_at=at(MON, 10), limit_days=3)
    clock.pause(at(MON, 11), "correction")
    clock.resume(at(MON, 12))
    provisional = WorkCalendar(plain_calendar(MON, official=False))
    before = clock.reading(provisional, at(MON, 13))
    # Thursday 17:30 plus the paused hour: Friday 10:00.
    assert before.provisional and before.deadline == at(day(4), 10)
    # The official schedule arrives with Wednesday as a holiday: one more day, same pause.
    official = WorkCalendar(plain_calendar(MON, off_days=[day(2)]))
    after = clock.reading(official, at(MON, 13))
    assert not after.provisional
    # Friday 17:30 plus the paused hour: next Monday 10:00.
    assert after.deadline == at(day(7), 10)
