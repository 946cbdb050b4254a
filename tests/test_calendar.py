"""The working-day rules of docs/domain.md "Working days and deadlines", on the real 2026
schedule."""

from __future__ import annotations

import json
from datetime import date, time, timedelta
from pathlib import Path

import pytest

from cli.main import main as cli
from definitions.calendars import CalendarSources, default_sources
from definitions.source import DefinitionErrors
from domain.calendar import CalendarSnapshot, WorkCalendar
from tests.timeline import at


def maanshan(year: int = 2026) -> WorkCalendar:
    return WorkCalendar(default_sources().snapshot("maanshan", range(year - 1, year + 2)))


@pytest.mark.parametrize(
    ("accepted", "days", "deadline"),
    [
        # docs/domain.md check values
        (date(2026, 9, 30), 3, date(2026, 10, 10)),  # National Day; Saturday 10-10 is worked
        (date(2026, 2, 13), 3, date(2026, 2, 25)),  # Spring Festival; Saturday 02-14 is worked
        (date(2026, 4, 30), 1, date(2026, 5, 6)),  # Labour Day
        (date(2026, 9, 18), 2, date(2026, 9, 21)),  # Sunday 09-20 is a make-up working day
        # more
        (date(2026, 9, 30), 0, date(2026, 9, 30)),  # same day
        (date(2026, 6, 18), 1, date(2026, 6, 22)),  # Dragon Boat Festival 06-19
    ],
)
def test_official_deadlines(accepted: date, days: int, deadline: date) -> None:
    result = maanshan().deadline(at(accepted, 10), days)
    assert result.at == at(deadline, 17, 30)
    assert result.provisional is False


def test_acceptance_on_a_non_working_day_counts_from_the_next_working_day() -> None:
    cal = maanshan()
    # Saturday 2026-10-03 (holiday): day 0 is Thursday 10-08, day 1 is Friday 10-09.
    assert cal.day_zero(at(date(2026, 10, 3), 10)) == date(2026, 10, 8)
    assert cal.deadline(at(date(2026, 10, 3), 10), 1).at == at(date(2026, 10, 9), 17, 30)


def test_acceptance_after_closing_time_counts_from_the_next_working_day() -> None:
    cal = maanshan()
    evening = at(date(2026, 9, 18), 19)
    assert cal.day_zero(evening) == date(2026, 9, 20)  # the make-up Sunday
    assert cal.deadline(evening, 0).at == at(date(2026, 9, 20), 17, 30)


def test_make_up_sunday_is_a_working_day_and_an_ordinary_sunday_is_not() -> None:
    cal = maanshan()
    assert cal.is_workday(date(2026, 9, 20))
    assert not cal.is_workday(date(2026, 9, 27))
    assert cal.is_workday(date(2026, 10, 10))
    assert not cal.is_workday(date(2026, 10, 1))


def test_a_year_without_official_data_is_provisional() -> None:
    cal = maanshan(2026)
    result = cal.deadline(at(date(2026, 12, 30), 10), 3)
    # 12-31 (1), 01-01 fixed-date holiday, weekend, 01-04 (2), 01-05 (3)
    assert result.at == at(date(2027, 1, 5), 17, 30)
    assert result.provisional is True
    assert cal.is_workday(date(2027, 5, 3))  # only the fixed dates are known, not the bridge
    assert not cal.is_workday(date(2027, 10, 2))


def test_office_time_and_advance_are_inverse() -> None:
    cal = maanshan()
    start = at(date(2026, 9, 30), 10)
    end = at(date(2026, 10, 10), 17, 30)
    spent = cal.office_time(start, end)
    assert spent == timedelta(hours=7.5 + 8.5 * 3)
    assert cal.advance(start, spent) == end
    assert cal.office_time(end, start) == timedelta(0)
    # Landing on a closing time gives that closing time, not the next opening.
    assert cal.advance(start, timedelta(hours=7.5)) == at(date(2026, 9, 30), 17, 30)


def test_year_file_makes_a_later_year_official(tmp_path: Path) -> None:
    (tmp_path / "years").mkdir()
    (tmp_path / "maanshan.yaml").write_text("code: maanshan\nname: 测试\n", encoding="utf-8")
    (tmp_path / "years" / "2027.yaml").write_text(
        "year: 2027\nsource: test fixture\n"
        "holidays:\n  - {name: 元旦, from: 2027-01-01, to: 2027-01-03}\n"
        "  - {name: 测试假日, from: 2027-01-04, to: 2027-01-04}\n"
        "workdays: [2027-01-09]\n",
        encoding="utf-8",
    )
    sources = CalendarSources(tmp_path)
    cal = WorkCalendar(sources.snapshot("maanshan", [2026, 2027]))
    assert cal.is_official(date(2027, 3, 1))
    assert not cal.is_workday(date(2027, 1, 4))
    assert cal.is_workday(date(2027, 1, 9))  # a Saturday made a working day
    result = cal.deadline(at(date(2026, 12, 30), 10), 3)
    assert result.at == at(date(2027, 1, 6), 17, 30)
    assert result.provisional is False


def test_a_years_schedule_may_begin_in_the_december_before(tmp_path: Path) -> None:
    """As 2019's did (元旦 from 2018-12-30, Saturday 2018-12-29 worked): those days count
    for any application whose calendar covers that December, even one pinned to the years
    before the schedule's own."""
    (tmp_path / "years").mkdir()
    (tmp_path / "maanshan.yaml").write_text("code: maanshan\nname: 测试\n", encoding="utf-8")
    (tmp_path / "years" / "2027.yaml").write_text(
        "year: 2027\nsource: test fixture\n"
        "holidays:\n  - {name: 元旦, from: 2026-12-31, to: 2027-01-02}\n"
        "workdays: [2026-12-26]\n",
        encoding="utf-8",
    )
    sources = CalendarSources(tmp_path)
    for years in ([2026, 2027], [2025, 2026]):
        cal = WorkCalendar(sources.snapshot("maanshan", years))
        assert not cal.is_workday(date(2026, 12, 31))
        assert cal.is_workday(date(2026, 12, 26))  # a Saturday made a working day
    assert 2027 not in sources.snapshot("maanshan", [2025, 2026]).official_years
    (tmp_path / "years" / "2027.yaml").write_text(
        "year: 2027\nsource: test fixture\nholidays: []\nworkdays: [2026-11-28]\n",
        encoding="utf-8",
    )
    with pytest.raises(DefinitionErrors, match="December before"):
        CalendarSources(tmp_path)


def test_centre_overrides_add_local_holidays(tmp_path: Path) -> None:
    (tmp_path / "local.yaml").write_text(
        "code: local\nname: 民族自治县中心\nclosing: '17:00'\n"
        "local_off_days: [2026-09-21]\nannual_off_days: ['03-03']\n",
        encoding="utf-8",
    )
    cal = WorkCalendar(CalendarSources(tmp_path).snapshot("local", [2026]))
    assert not cal.is_workday(date(2026, 9, 21))
    assert not cal.is_workday(date(2026, 3, 3))
    assert cal.deadline(at(date(2026, 9, 18), 10), 2).at == at(date(2026, 9, 22), 17, 0)


def test_snapshot_version_changes_with_content() -> None:
    a = CalendarSnapshot(code="x", name="x")
    b = CalendarSnapshot(code="x", name="x", off_days=(date(2026, 1, 5),))
    assert a.version == CalendarSnapshot(code="x", name="x").version
    assert a.version != b.version


def test_cli_deadline(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli(["calendar", "deadline", "--from", "2026-09-30T10:00:00+08:00", "--working-days", "3"])
    assert done.value.code == 0
    assert json.loads(capsys.readouterr().out) == {
        "deadline": "2026-10-10T17:30:00+08:00",
        "provisional": False,
    }


def test_cli_is_workday(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli(["calendar", "is-workday", "2026-09-20"])
    assert json.loads(capsys.readouterr().out)["workday"] is True
    with pytest.raises(SystemExit):
        cli(["calendar", "is-workday", "2027-10-01"])
    out = json.loads(capsys.readouterr().out)
    assert out == {"date": "2027-10-01", "workday": False, "provisional": True}


def test_cli_refuses_an_instant_without_time_zone(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli(["calendar", "deadline", "--from", "2026-09-30T10:00:00", "--working-days", "3"])
    assert done.value.code == 2
    assert "time zone" in capsys.readouterr().err


def test_local_times_are_beijing() -> None:
    cal = maanshan()
    assert cal.closing_at(date(2026, 9, 30)).utcoffset() == timedelta(hours=8)
    assert cal.closing_at(date(2026, 9, 30)).time() == time(17, 30)
