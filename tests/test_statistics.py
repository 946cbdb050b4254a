"""The seed's statistics: each figure on a small data set worked out by hand, the same from
the daily aggregates as from the applications, stale days computed again, the exports, the
page; and the columns the projection keeps for them, through the real engine.

The data set lives in the session's database in 含山县 (340522) in March 2019: no other test
numbers applications there or then.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.events import EventKind
from domain.matter import Kind, MatterStatus
from domain.regions import RegionLevel
from domain.statistics import FIGURE_EVENTS
from store.db import create_sync_engine
from store.models import (
    ApplicationRow,
    CatalogueEntryRow,
    DailyStatisticsRow,
    RatingRow,
    StatisticsDayRow,
)
from store.statistics import mark_stale, refresh_days
from tests.api_helpers import (
    CLERK,
    COMPANY_SETUP_DEPARTMENTS,
    SUPERVISOR,
    Json,
    approve_all,
    as_user,
    company_setup,
    decide,
    error_body,
    hand_over,
    submit,
)
from tests.page_helpers import sign_in
from tests.test_catalogue_search import entry
from tests.timeline import eventually

REGION = "340522"
MONDAY = date(2019, 3, 4)
FRIDAY = date(2019, 3, 8)
PERIOD = {"region": REGION, "from": MONDAY.isoformat(), "to": FRIDAY.isoformat()}
CALENDAR = {"code": "maanshan", "name": "测试"}
BEIJING = ZoneInfo("Asia/Shanghai")


def at(day: date, hour: int) -> datetime:
    """`hour` o'clock in Beijing on `day`, as UTC."""
    return datetime(day.year, day.month, day.day, hour - 8, tzinfo=UTC)


def application(serial: int, **values: Any) -> dict[str, Any]:
    """A row as the projection leaves it; received on Monday at 10:00 unless told."""
    day = values.pop("day", MONDAY)
    region = values.pop("region", REGION)
    received = at(day, 10)
    return {
        "application_no": f"{region}{day:%Y%m%d}{serial:06d}",
        "matter_code": "company_setup",
        "matter_name": "企业开办",
        "matter_version": 1,
        "state": "granted",
        "sla_level": "green",
        "applicant_name": "张三",
        "applicant_kind": "person",
        "applicant_id": "340503199003071234",
        "applicant_phone": "13800000000",
        "channel": "online",
        "delivery": "express",
        "form": {},
        "definition": {},
        "calendar": CALENDAR,
        "query_code_digest": "",
        "accepted_by_id": "applicant",
        "accepted_by_name": "张三",
        "received_at": received,
        "accepted_at": received,
        "promised_deadline": at(day + timedelta(days=3), 17),  # Thursday, closing time
        "deadline_provisional": False,
        "paused": False,
        "extension_days": 0,
        "completed_at": None,
        "status": {},
        "revision": 1,
        "updated_at": received,
        "region_code": region,
        "received_on": day,
        "visits": 0,
        "acceptance_role": "clerk",
        "completed_early": None,
    } | values


TUESDAY_NOON, THURSDAY_NOON, FRIDAY_NOON = (
    at(MONDAY + timedelta(1), 12),
    at(MONDAY + timedelta(3), 12),
    at(FRIDAY, 12),
)

# Worked out by hand below, application by application.
APPLICATIONS = [
    # 1 online, posted, completed Tuesday (two working days early); rated 非常满意.
    application(1, completed_at=TUESDAY_NOON, completed_early=True),
    # 2 on a phone, picked up at the window (a visit), completed Thursday: on time, not early.
    application(
        2,
        channel="mobile",
        delivery="pickup",
        visits=1,
        handover_method="window",
        completed_at=THURSDAY_NOON,
        completed_early=False,
    ),
    # 3 at the window, picked up there (two visits), completed Friday: late.
    application(
        3,
        channel="window",
        delivery="pickup",
        visits=2,
        handover_method="window",
        completed_at=FRIDAY_NOON,
        completed_early=False,
    ),
    # 4 online, refused on Tuesday, deemed accepted by law (the comprehensive window's).
    application(
        4,
        state="refused",
        acceptance_role="system",
        completed_at=TUESDAY_NOON,
        completed_early=True,
    ),
    # 5 online, not accepted by the window (on Wednesday): nothing to collect.
    application(5, day=MONDAY + timedelta(2), state="not_accepted", accepted_at=None),
    # 6 online, still waiting for acceptance; to be picked up: not (yet) fully online.
    application(6, day=FRIDAY, state="received", delivery="pickup", acceptance_role=None),
    # 7 at the window, withdrawn at the window: two visits.
    application(7, channel="window", state="withdrawn", visits=2),
    # 8 online, in progress, a correction brought to a window; accepted at a department's own
    #   window (no such thing yet: it shows what the one-window rate leaves out).
    application(8, state="in_progress", visits=1, acceptance_role="staff"),
    # Not counted: received the Monday after, and in another county.
    application(9, day=MONDAY + timedelta(7)),
    application(10, region="340521"),
]
RATINGS = [(1, "very_satisfied"), (2, "satisfied"), (3, "dissatisfied")]
EXPECTED: Json = {
    "applications": 8,
    # The county's catalogue: entries 1-3 and 企业开办, which the county handles (its 实施清单:
    # company_setup_340522, online, 3 days, 4 materials asked); 4 is suspended, 5 elsewhere.
    "online_available_rate": 0.75,  # 1, 2 and 企业开办 of the four
    "one_network_rate": 0.75,  # 1, 2, 4, 5, 6, 8 of 8
    "fully_online_rate": 0.375,  # 1 (posted), 4 (refused), 5 (not accepted) of 8
    "one_window_rate": 0.8571,  # 1-5, 7 of the 7 decided on (6 is waiting)
    "at_most_one_visit_rate": 0.75,  # all but 3 and 7
    "average_promised_days": 4.5,  # (5 + 0 + 10 + 3) / 4
    "average_materials": 3.0,  # (3 + 1 + 4 + 4) / 4
    "on_time_rate": 0.75,  # 1, 2, 4 of the completed 1-4
    "early_rate": 0.5,  # 1, 4 of the completed 1-4
    "ratings": {
        "very_satisfied": 1,
        "satisfied": 1,
        "basically_satisfied": 0,
        "dissatisfied": 1,
        "very_dissatisfied": 0,
    },
}
ENTRIES = [
    entry("stat1", "统计事项一", "340522", RegionLevel.county, materials_asked=3),
    entry(
        "stat2",
        "统计事项二",
        "340522100",
        RegionLevel.township,
        kind=Kind.immediate,
        promised_limit_days=0,
        materials_asked=1,
    ),
    entry(
        "stat3",
        "统计事项三",
        "340522100201",
        RegionLevel.village,
        online=False,
        promised_limit_days=10,
        materials_asked=4,
    ),
    entry("stat4", "统计事项四", "340522", RegionLevel.county, status=MatterStatus.suspended),
    entry("stat5", "统计事项五", "340521", RegionLevel.county),
]
NUMBERS = [row["application_no"] for row in APPLICATIONS]


@pytest.fixture
async def data_set(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[None]:
    async with sessions() as session:
        await session.execute(insert(ApplicationRow), APPLICATIONS)
        await session.execute(
            insert(RatingRow),
            [
                {
                    "application_no": NUMBERS[n - 1],
                    "level": level,
                    "reason": "",
                    "rated_at": FRIDAY_NOON,
                }
                for n, level in RATINGS
            ],
        )
        await session.execute(insert(CatalogueEntryRow), ENTRIES)
        await session.commit()
    yield
    async with sessions() as session:
        await session.execute(delete(RatingRow).where(RatingRow.application_no.in_(NUMBERS)))
        await session.execute(
            delete(ApplicationRow).where(ApplicationRow.application_no.in_(NUMBERS))
        )
        await session.execute(
            delete(CatalogueEntryRow).where(
                CatalogueEntryRow.code.like("test\\_stat%", escape="\\")
            )
        )
        week = (StatisticsDayRow.day >= MONDAY) & (StatisticsDayRow.day <= MONDAY + timedelta(7))
        await session.execute(delete(StatisticsDayRow).where(week))
        await session.execute(
            delete(DailyStatisticsRow).where(
                DailyStatisticsRow.day >= MONDAY, DailyStatisticsRow.day <= MONDAY + timedelta(7)
            )
        )
        await session.commit()


async def figures(api: httpx.AsyncClient, **params: str) -> Json:
    response = await api.get(
        "/api/supervision/statistics",
        params=PERIOD | params,
        headers=await as_user(api, SUPERVISOR),
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def refresh(db_url: str, first: date, last: date) -> None:
    engine = create_sync_engine(db_url)
    try:
        with engine.begin() as conn:
            days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
            refresh_days(conn, days, datetime.now(UTC))
    finally:
        engine.dispose()


async def test_each_figure_from_the_applications(api: httpx.AsyncClient, data_set: None) -> None:
    assert await figures(api) == EXPECTED


async def test_the_same_figures_from_the_daily_aggregates(
    api: httpx.AsyncClient, data_set: None, db_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    refresh(db_url, MONDAY, FRIDAY)
    async with sessions() as session:
        stored = await session.scalar(
            select(DailyStatisticsRow.applications).where(
                DailyStatisticsRow.day == MONDAY, DailyStatisticsRow.region_code == REGION
            )
        )
        days = (
            await session.scalars(
                select(StatisticsDayRow.stale).where(
                    StatisticsDayRow.day >= MONDAY, StatisticsDayRow.day <= FRIDAY
                )
            )
        ).all()
    assert stored == 6 and days == [False] * 5  # 1-4, 7, 8 were received on Monday
    assert await figures(api) == EXPECTED

    # Application 4 is rated after the refresh: its day is computed again, at once.
    async with sessions() as session:
        await session.execute(
            insert(RatingRow).values(
                application_no=NUMBERS[3], level="very_satisfied", reason="", rated_at=FRIDAY_NOON
            )
        )
        await mark_stale(session, NUMBERS[3])
        await session.commit()
    assert (await figures(api))["ratings"]["very_satisfied"] == 2


async def test_a_level_and_a_region_below(api: httpx.AsyncClient, data_set: None) -> None:
    county = await figures(api, level="county")
    # Applications are numbered by the county: all of them are the county's own.
    assert county["applications"] == 8
    # The county level's entries: 1 and 企业开办 (5 days and 3; 3 materials and 4).
    assert (county["online_available_rate"], county["average_promised_days"]) == (1.0, 4.0)
    assert county["average_materials"] == 3.5
    village = await figures(api, region="340522100201")
    assert village["applications"] == 0 and village["one_network_rate"] is None
    assert (village["online_available_rate"], village["average_materials"]) == (0.0, 4.0)
    assert sum(village["ratings"].values()) == 0


async def test_bad_scopes_are_refused(api: httpx.AsyncClient) -> None:
    boss = await as_user(api, SUPERVISOR)
    for params, field in (
        ({"region": "999999"}, "region"),
        ({"from": "2019-03-08", "to": "2019-03-04"}, "from"),
        ({"from": "2019-02-30"}, "from"),
        ({"level": "province"}, "level"),
    ):
        response = await api.get("/api/supervision/statistics", params=params, headers=boss)
        assert {d["field"] for d in error_body(response, 422)["details"]} == {field}, params
    clerk = await as_user(api, CLERK)
    denied = await api.get("/api/supervision/statistics", params=PERIOD, headers=clerk)
    assert error_body(denied, 403)["error"] == "forbidden"
    assert error_body(await api.get("/api/supervision/statistics"), 401)["error"]


async def test_the_csv_and_excel_exports(api: httpx.AsyncClient, data_set: None) -> None:
    boss = await as_user(api, SUPERVISOR)
    got = await api.get("/api/supervision/statistics.csv", params=PERIOD, headers=boss)
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    assert "statistics-340522-20190304-20190308.csv" in got.headers["content-disposition"]
    assert got.content.startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["区域", "", "含山县（340522）"]
    values = {row[1]: row[2] for row in rows if len(row) == 4 and row[1]}
    assert values["applications"] == "8" and values["one_network_rate"] == "0.75"
    assert values["average_materials"] == "3.0" and values["ratings.dissatisfied"] == "1"
    [definition] = [row[3] for row in rows if row[1] == "early_rate"]
    assert "至少提前一个工作日" in definition

    book = await api.get("/api/supervision/statistics.xlsx", params=PERIOD, headers=boss)
    assert book.status_code == 200
    assert book.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(book.content)).active
    cells = {row[1]: row[2] for row in sheet.iter_rows(values_only=True) if row[1]}
    assert cells["applications"] == 8 and cells["fully_online_rate"] == 0.375
    assert cells["ratings.very_satisfied"] == 1
    rate_row = next(r for r in sheet.iter_rows() if r[1].value == "on_time_rate")
    assert rate_row[2].number_format == "0.00%"


async def test_the_page_shows_each_figure_beside_its_definition(
    api: httpx.AsyncClient, data_set: None
) -> None:
    await sign_in(api, SUPERVISOR)
    page = await api.get("/supervision/statistics", params=PERIOD)
    assert page.status_code == 200
    html = page.text
    for label, shown in (("一网通办率", "75.0%"), ("全程网办率", "37.5%"), ("提前办结率", "50.0%")):
        row = html[html.index(f'<th scope="row">{label}') :]
        assert shown in row[: row.index("</tr>")]
    assert "跑动次数：窗口当场申请 1 次" in html  # the definition, beside its figure
    assert (
        html.count("<svg") == 4 and "<script>" not in html
    )  # charts drawn by the server, no inline script
    assert 'href="/supervision/statistics.csv?region=340522&amp;from=2019-03-04' in html
    export = await api.get("/supervision/statistics.xlsx", params=PERIOD)
    assert export.status_code == 200 and export.content[:2] == b"PK"
    wrong = await api.get("/supervision/statistics", params={"from": "someday"})
    assert wrong.status_code == 422 and "起始日期" in wrong.text


# --- what the projection keeps, through the engine --------------------------------------------


async def row_of(sessions: async_sessionmaker[AsyncSession], number: str) -> ApplicationRow:
    async with sessions() as session:
        row = await session.get(ApplicationRow, number)
    assert row is not None
    return row


async def test_visits_acceptance_and_early_completion_are_kept(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    clerk = await as_user(api, CLERK)
    walked_in = await api.post("/api/window/applications", json=company_setup(), headers=clerk)
    assert walked_in.status_code == 201, walked_in.text
    number = walked_in.json()["application_no"]
    first = await row_of(sessions, number)
    assert (first.visits, first.acceptance_role, first.region_code) == (1, "clerk", "340500")
    assert first.received_on == first.received_at.astimezone(BEIJING).date()

    # A correction brought to the window is a second visit.
    asked = await decide(
        api,
        "psb",
        number,
        {"decision": "request_supplement", "items": ["公章样式"], "reason": "请补充"},
    )
    assert asked.status_code == 200, asked.text
    supplied = await api.post(
        f"/api/window/applications/{number}/supplements",
        json={"items": [{"item": "公章样式", "note": "已补"}]},
        headers=clerk,
    )
    assert supplied.status_code == 200, supplied.text
    assert (await row_of(sessions, number)).visits == 2
    await approve_all(api, number, COMPANY_SETUP_DEPARTMENTS)
    done = await row_of(sessions, number)
    # Approved at once: days before the promise of three working days.
    assert done.state == "granted" and done.completed_early is True
    await hand_over(api, number)  # at the window: a third visit
    assert (await row_of(sessions, number)).visits == 3

    online = await submit(api)  # submitted online, accepted by the window: no visit
    kept = await row_of(sessions, online["application_no"])
    assert (kept.visits, kept.acceptance_role, kept.completed_early) == (0, "clerk", None)


async def test_missing_materials_brought_to_the_window_are_a_visit(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """容缺受理 at the window, the missing material brought there later: two trips."""
    clerk = await as_user(api, CLERK)
    body = company_setup(tolerance={"missing": ["premises_proof"], "signed": True})
    body["materials"] = [m for m in body["materials"] if m["code"] != "premises_proof"]
    accepted = await api.post("/api/window/applications", json=body, headers=clerk)
    assert accepted.status_code == 201, accepted.text
    number = accepted.json()["application_no"]
    assert (await row_of(sessions, number)).visits == 1
    paper = {"materials": [{"code": "premises_proof", "source": "paper"}]}
    brought = await api.post(
        f"/api/window/applications/{number}/missing-materials", json=paper, headers=clerk
    )
    assert brought.status_code == 200, brought.text
    assert (await row_of(sessions, number)).visits == 2


async def _a_change(session: AsyncSession) -> None:
    """Application 1 (received on Monday) changed, and its day marked, committed."""
    await session.execute(
        update(ApplicationRow).where(ApplicationRow.application_no == NUMBERS[0]).values(visits=1)
    )
    await mark_stale(session, NUMBERS[0])
    await session.commit()


async def _monday_stale(sessions: async_sessionmaker[AsyncSession]) -> bool | None:
    async with sessions() as session:
        return await session.scalar(
            select(StatisticsDayRow.stale).where(StatisticsDayRow.day == MONDAY)
        )


async def test_a_change_marks_its_day_stale(
    sessions: async_sessionmaker[AsyncSession], data_set: None, db_url: str
) -> None:
    refresh(db_url, MONDAY, MONDAY)
    async with sessions() as session:
        await _a_change(session)
    assert await _monday_stale(sessions) is True


async def test_todays_applications_leave_the_days_rows_alone(
    sessions: async_sessionmaker[AsyncSession], data_set: None
) -> None:
    """Today is counted live and never refreshed: a change to an application received today
    makes no row for it (one row, written by every projection of the day, had them queue);
    a day gone by gets its row, stale."""

    async def row() -> bool | None:
        return await session.scalar(
            select(StatisticsDayRow.stale).where(StatisticsDayRow.day == MONDAY)
        )

    async with sessions() as session:
        await session.execute(delete(StatisticsDayRow).where(StatisticsDayRow.day == MONDAY))
        await mark_stale(session, NUMBERS[0], today=MONDAY)
        assert await row() is None
        await mark_stale(session, NUMBERS[0], today=MONDAY + timedelta(days=1))
        assert await row() is True
        await session.commit()


async def test_a_change_while_its_day_is_first_refreshed_leaves_it_stale(
    sessions: async_sessionmaker[AsyncSession], data_set: None, db_url: str
) -> None:
    """A day refreshed for the first time (every night: yesterday) has no row until the
    refresh inserts one, fresh, and counts. A change made meanwhile marked the day stale by
    an UPDATE, which found no row and waited for nothing: the day stayed fresh without it.
    Marking now inserts the row, and waits for the refresh's."""
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite runs one writer at a time: the race needs two (CI runs PostgreSQL)")
    sync = create_sync_engine(db_url)
    try:
        with sync.connect() as refreshing:
            session = sessions()
            await session.execute(delete(StatisticsDayRow).where(StatisticsDayRow.day == MONDAY))
            await session.commit()
            refreshing.begin()
            refresh_days(refreshing, [MONDAY], datetime.now(UTC))  # counted, not committed

            changing = asyncio.create_task(_a_change(session))

            async def done_or_waiting() -> None:
                if changing.done():
                    return
                with sync.connect() as conn:
                    waiting = conn.scalar(
                        text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
                    )
                assert waiting, "the change has neither finished nor waits for the refresh"

            await eventually(done_or_waiting)
            refreshing.commit()
            await changing
            await session.close()
        assert await _monday_stale(sessions) is True
    finally:
        sync.dispose()


# --- decisions undone after the grant (告知承诺 撤销, 容缺 终止) ----------------------------

APRIL = date(2019, 4, 1)  # a Monday: a week of 含山县 no other test numbers applications in


async def test_a_decision_undone_after_the_grant_stays_completed(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], db_url: str
) -> None:
    """A grant revoked (撤销) or terminated after it (容缺 materials not handed in) was completed
    when granted, on time or not as it was; terminated before any decision it never was. None
    of them leaves a result to collect. The events that undo a decision mark the day stale."""
    tuesday, friday = at(APRIL + timedelta(1), 12), at(APRIL + timedelta(4), 12)
    rows = [
        # granted two working days early, then revoked: picked up never, nothing to collect
        application(1, day=APRIL, state="revoked", delivery="pickup",
                    completed_at=tuesday, completed_early=True),
        # granted late, then terminated (容缺 materials not handed in): posted
        application(2, day=APRIL, state="terminated", completed_at=friday, completed_early=False),
        # terminated before any decision (a correction deadline): never completed
        application(3, day=APRIL, state="terminated", delivery="pickup", completed_at=tuesday),
    ]  # fmt: skip
    numbers = [row["application_no"] for row in rows]
    period = {"region": REGION, "from": APRIL.isoformat(), "to": (APRIL + timedelta(4)).isoformat()}
    async with sessions() as session:
        await session.execute(insert(ApplicationRow), rows)
        await session.commit()
    try:
        live = await figures(api, **period)
        assert live["applications"] == 3
        assert (live["on_time_rate"], live["early_rate"]) == (0.5, 0.5)  # 1 of 1 and 2
        assert live["fully_online_rate"] == 1.0  # nothing to collect; 2 posted
        refresh(db_url, APRIL, APRIL + timedelta(4))
        assert await figures(api, **period) == live
    finally:
        async with sessions() as session:
            await session.execute(
                delete(ApplicationRow).where(ApplicationRow.application_no.in_(numbers))
            )
            week = (StatisticsDayRow.day >= APRIL) & (StatisticsDayRow.day <= APRIL + timedelta(7))
            await session.execute(delete(StatisticsDayRow).where(week))
            await session.execute(
                delete(DailyStatisticsRow).where(
                    DailyStatisticsRow.day >= APRIL, DailyStatisticsRow.day <= APRIL + timedelta(7)
                )
            )
            await session.commit()
    undoing = {EventKind.revoked, EventKind.missing_lapsed, EventKind.correction_lapsed}
    assert undoing <= FIGURE_EVENTS


MAY = date(2019, 5, 6)  # a Monday: a week of 含山县 no other test numbers applications in


async def test_a_result_the_window_posted_counts_as_posted_for_fully_online(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """全程网办 by how the result went, not by the delivery chosen: a pickup the window
    posted after all needed no trip; one not handed over yet is as the applicant chose."""
    rows = [
        application(1, day=MAY, delivery="pickup", handover_method="express"),
        application(2, day=MAY, delivery="pickup"),
        application(3, day=MAY, delivery="express", handover_method=None),
    ]
    async with sessions() as session:
        await session.execute(insert(ApplicationRow), rows)
        await session.commit()
    try:
        period = {"from": MAY.isoformat(), "to": (MAY + timedelta(4)).isoformat()}
        got = await figures(api, **period)
        assert got["applications"] == 3 and got["fully_online_rate"] == round(2 / 3, 4)
    finally:
        async with sessions() as session:
            numbers = [r["application_no"] for r in rows]
            await session.execute(
                delete(ApplicationRow).where(ApplicationRow.application_no.in_(numbers))
            )
            await session.commit()
