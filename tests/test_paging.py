"""Paging the department inbox and the supervision lists: the JSON APIs' limit/offset and the
pages' previous/next links, which keep the filters. Rows share their sort keys on purpose
(one deadline for all), so only the tie-breaker keeps pages from repeating or skipping one."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.scale import Rows
from store.models import ApplicationRow, StepRow
from tests.api_helpers import SUPERVISOR, as_user
from tests.conftest import client_of
from tests.page_helpers import sign_in

DEPARTMENT = "gas"  # the demo account `gas`; one step of utility connections only
COUNT = 7
TASK_LINK = re.compile(r'href="/workbench/tasks/(\d+)"')
APPLICATION_LINK = re.compile(r'href="/supervision/applications/([^"]+)"')


@pytest.fixture
async def tied(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[list[str]]:
    """COUNT serious applications with the same promised deadline, each with a gas step of
    the same deadline, written as the projection leaves them; removed afterwards."""
    rows = Rows(datetime.now(UTC), seed=3)
    deadline = datetime(2031, 3, 4, 9, 0, tzinfo=UTC)  # after every other test's
    apps: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    for i in range(COUNT):
        received = datetime(2031, 3, 1, 1, i, tzinfo=UTC)
        app = rows._application(
            region="340500",
            matter="utility_connection",
            state="in_progress",
            card="serious",
            received=received,
            accepted_at=received,
            promised_deadline=deadline,
            definition=rows.definitions["utility_connection"],
        )
        app["application_no"] = f"P{received:%Y%m%d}{i:06d}X{datetime.now(UTC):%H%M%S%f}"[:40]
        apps.append(app)
        steps.append(
            rows._step(
                app,
                "gas",
                "燃气管网接入意见",
                DEPARTMENT,
                state="open",
                sla_level="serious",
                opened_at=received,
                deadline=deadline,
            )
        )
    async with sessions() as session:
        await session.execute(insert(ApplicationRow), apps)
        await session.execute(insert(StepRow), steps)
        await session.commit()
    numbers = [a["application_no"] for a in apps]
    yield numbers
    async with sessions() as session:
        await session.execute(delete(StepRow).where(StepRow.application_no.in_(numbers)))
        await session.execute(
            delete(ApplicationRow).where(ApplicationRow.application_no.in_(numbers))
        )
        await session.commit()


async def walk(
    api: httpx.AsyncClient, path: str, headers: dict[str, str], **params: Any
) -> list[Any]:
    """Every row, page after page of 3."""
    out: list[Any] = []
    offset = 0
    while True:
        page = await api.get(path, params={**params, "limit": 3, "offset": offset}, headers=headers)
        assert page.status_code == 200, page.text
        rows = page.json()
        out += rows
        if len(rows) < 3:
            return out
        offset += 3


async def test_the_inbox_api_pages_without_repeating_or_skipping_a_task(
    api: httpx.AsyncClient, tied: list[str]
) -> None:
    gas = await as_user(api, "gas")
    whole = (
        await api.get("/api/tasks", params={"sla_level": "serious", "limit": 500}, headers=gas)
    ).json()
    paged = await walk(api, "/api/tasks", gas, sla_level="serious")
    assert [t["id"] for t in paged] == [t["id"] for t in whole]
    assert len({t["id"] for t in paged}) == len(paged)
    mine = [t for t in paged if t["application_no"] in tied]
    assert len(mine) == COUNT
    # Equal deadlines: the id decides, the same way on every page.
    assert [t["id"] for t in mine] == sorted(t["id"] for t in mine)
    assert all(t["sla_level"] == "serious" for t in paged)  # the filter holds on every page


async def test_the_supervision_api_pages_without_repeating_or_skipping_an_application(
    api: httpx.AsyncClient, tied: list[str]
) -> None:
    boss = await as_user(api, SUPERVISOR)
    path = "/api/supervision/applications"
    whole = (
        await api.get(path, params={"sla_level": "serious", "limit": 500}, headers=boss)
    ).json()
    paged = await walk(api, path, boss, sla_level="serious")
    numbers = [a["application_no"] for a in paged]
    assert numbers == [a["application_no"] for a in whole]
    assert len(set(numbers)) == len(numbers)
    assert [n for n in numbers if n in tied] == sorted(tied)  # the number breaks the tie


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> int:
    """Pages of 3 rows, so that a handful of tasks spans several pages."""
    monkeypatch.setattr("api.pages.common.PAGE_SIZE", 3)
    return 3


async def test_the_workbench_pages_keep_their_filters(
    api_app: FastAPI, tied: list[str], small_pages: int
) -> None:
    async with client_of(api_app) as browser:
        await sign_in(browser, "gas")
        first = await browser.get("/workbench", params={"sla": "serious"})
        assert first.status_code == 200
        total = int(re.search(r"共 (\d+) 项", first.text).group(1))  # type: ignore[union-attr]
        assert total >= COUNT
        assert 'rel="prev"' not in first.text
        seen = list(dict.fromkeys(TASK_LINK.findall(first.text)))  # number and button
        assert len(seen) == small_pages
        page, number = first, 1
        # Follow 下一页 to the end: each link keeps the card filter.
        while (found := re.search(r'href="([^"]+)" rel="next"', page.text)) is not None:
            link = found.group(1).replace("&amp;", "&")
            number += 1
            assert "sla=serious" in link and f"page={number}" in link
            page = await browser.get(link)
            assert page.status_code == 200
            assert 'rel="prev"' in page.text
            assert f"第 {number} / {-(-total // small_pages)} 页" in page.text
            seen += dict.fromkeys(TASK_LINK.findall(page.text))
        assert len(seen) == total
        gas = await as_user(browser, "gas")
        every = await browser.get(
            "/api/tasks", params={"sla_level": "serious", "limit": 500}, headers=gas
        )
        assert seen == [str(t["id"]) for t in every.json()]  # none repeated, none skipped

        # A page past the last shows the last; a page that is no number, the first.
        far = await browser.get("/workbench", params={"sla": "serious", "page": 999})
        assert TASK_LINK.findall(far.text)[-1] == seen[-1]
        odd = await browser.get("/workbench", params={"sla": "serious", "page": "x"})
        assert TASK_LINK.findall(odd.text)[0] == seen[0]
        # The number filter finds one application's task.
        one = await browser.get("/workbench", params={"application_no": tied[3]})
        assert set(TASK_LINK.findall(one.text)) == {
            str(t["id"]) for t in every.json() if t["application_no"] == tied[3]
        }
        assert "共 1 项" in one.text


def _overdue_section(html: str) -> str:
    return html.split('id="overdue"')[1].split('id="yellow"')[0]


async def test_the_supervision_lists_page_each_on_its_own(
    api_app: FastAPI, tied: list[str], small_pages: int
) -> None:
    async with client_of(api_app) as browser:
        await sign_in(browser, SUPERVISOR)
        boss = await as_user(browser, SUPERVISOR)
        overdue = await browser.get(
            "/api/supervision/applications",
            params={"sla_level": ["red", "serious"], "limit": 500},
            headers=boss,
        )
        expected = [a["application_no"] for a in overdue.json()]
        assert set(tied) <= set(expected)
        page = await browser.get("/supervision", params={"yellow_page": "2"})
        assert page.status_code == 200
        section = _overdue_section(page.text)
        assert f"共 {len(expected)} 项" in section
        seen = list(dict.fromkeys(APPLICATION_LINK.findall(section)))
        number = 1
        while (found := re.search(r'href="([^"]+)" rel="next"', section)) is not None:
            link = found.group(1).replace("&amp;", "&")
            number += 1
            # Its next page keeps the other list's page, and goes back to the list.
            assert "yellow_page=2" in link and f"overdue_page={number}" in link
            assert link.endswith("#overdue")
            section = _overdue_section((await browser.get(link.removesuffix("#overdue"))).text)
            seen += dict.fromkeys(APPLICATION_LINK.findall(section))
        assert seen == expected
