"""Regions kept apart: a county's supervisor and clerk see and act on their county's
applications only (404 for another county's, as for a number that does not exist; 403 where
their role may not act at all), the city's see every one."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from domain.routing import branch_code
from tests.api_helpers import (
    SUPERVISOR,
    Json,
    as_user,
    company_setup,
    error_body,
    task_for,
)
from tests.conftest import client_of
from tests.page_helpers import sign_in

HERE, THERE = "340521", "340522"  # 当涂县 looks at an application of 含山县
# Columns: who calls, about an application accepted by 含山县's clerk.
CALLERS = (
    f"supervisor-{HERE}",
    f"supervisor-{THERE}",
    SUPERVISOR,
    f"clerk-{HERE}",
    f"clerk-{THERE}",
)
ERROR_NAMES = {403: "forbidden", 404: "not_found"}


@dataclass(frozen=True)
class Route:
    statuses: tuple[int, int, int, int, int]  # one per CALLERS column
    method: str
    path: str  # {no}: the application, {task}: 含山县市场监管局's task on it
    json: Json | None = None

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


# fmt: off
MATRIX = [
    #     sup-521 sup-522 sup  clk-521 clk-522
    Route((404, 200, 200, 403, 403), "GET",  "/api/supervision/applications/{no}/timeline"),
    Route((404, 200, 200, 403, 403), "GET",  "/api/tasks/{task}"),
    Route((404, 200, 200, 403, 403), "POST", "/api/supervision/tasks/{task}/extension",
          json={"working_days": 1, "reason": "需实地核查"}),
    Route((403, 403, 403, 404, 200), "GET",  "/api/window/applications/{no}"),
    Route((403, 403, 403, 404, 200), "POST", "/api/window/applications/{no}/withdraw",
          json={"reason": "申请人到窗口撤回"}),
]
# fmt: on


async def accepted_there(api: httpx.AsyncClient) -> tuple[str, Json]:
    response = await api.post(
        "/api/window/applications",
        json=company_setup(),
        headers=await as_user(api, f"clerk-{THERE}"),
    )
    assert response.status_code == 201, response.text
    number = response.json()["application_no"]
    assert number.startswith(THERE)
    return number, await task_for(api, branch_code("amr", THERE), number)


@pytest.mark.parametrize("route", MATRIX, ids=[route.id for route in MATRIX])
async def test_region_matrix(api: httpx.AsyncClient, route: Route) -> None:
    number, task = await accepted_there(api)
    path = route.path.format(no=number, task=task["id"])

    async def call(who: str) -> int:
        response = await api.request(
            route.method, path, headers=await as_user(api, who), json=route.json
        )
        if response.status_code >= 400:
            assert error_body(response, response.status_code)["error"] == ERROR_NAMES.get(
                response.status_code
            ), response.text
        return response.status_code

    got = {who: await call(who) for who in CALLERS}
    assert got == dict(zip(CALLERS, route.statuses, strict=True))


async def test_lists_and_overview_hold_the_countys_applications_only(
    api: httpx.AsyncClient,
) -> None:
    number, _ = await accepted_there(api)

    async def listed(who: str, path: str) -> set[str]:
        response = await api.get(path, headers=await as_user(api, who), params={"limit": 500})
        assert response.status_code == 200, response.text
        return {row["application_no"] for row in response.json()}

    for path in ("/api/supervision/applications", "/api/tasks"):
        assert number not in await listed(f"supervisor-{HERE}", path)
        assert number in await listed(f"supervisor-{THERE}", path)
        assert number in await listed(SUPERVISOR, path)
    # The county's own applications are all its supervisor sees.
    here = await listed(f"supervisor-{HERE}", "/api/supervision/applications")
    assert all(no.startswith(HERE) for no in here)

    async def overview(who: str) -> Json:
        response = await api.get("/api/supervision/overview", headers=await as_user(api, who))
        assert response.status_code == 200, response.text
        return dict(response.json())

    there, city = await overview(f"supervisor-{THERE}"), await overview(SUPERVISOR)
    # 含山县's supervisor is shown his county's branches; the city's, the city's departments
    # and every branch with work.
    there_departments = {d["department"] for d in there["departments"]}
    assert branch_code("amr", THERE) in there_departments
    assert branch_code("amr", HERE) not in there_departments
    assert "amr" not in there_departments
    city_open = {d["department"]: d["open"] for d in city["departments"]}
    assert city_open[branch_code("amr", THERE)] >= 1
    assert sum(there["open_by_sla"].values()) <= sum(city["open_by_sla"].values())
    # Delivery: the county's messages and pushes; the city's systems are the city's affair.
    delivery = await api.get(
        "/api/supervision/deliveries", headers=await as_user(api, f"supervisor-{HERE}")
    )
    assert delivery.status_code == 200, delivery.text
    assert delivery.json()["subscriptions"] == []
    assert all(m["application_no"].startswith(HERE) for m in delivery.json()["undelivered"])


async def test_statistics_default_to_the_supervisors_region(api: httpx.AsyncClient) -> None:
    await accepted_there(api)
    county = await as_user(api, f"supervisor-{THERE}")
    mine = await api.get("/api/supervision/statistics", headers=county)
    assert mine.status_code == 200, mine.text
    # The same figures as the city's supervisor is shown when he asks for 含山县.
    asked = await api.get(
        "/api/supervision/statistics",
        headers=await as_user(api, SUPERVISOR),
        params={"region": THERE},
    )
    assert asked.status_code == 200, asked.text
    assert mine.json() == asked.json()
    assert mine.json()["applications"] >= 1
    # Below his county he may look; at another county he may not.
    below = await api.get(
        "/api/supervision/statistics", headers=county, params={"region": "340522100"}
    )
    assert below.status_code == 200, below.text
    other = await api.get("/api/supervision/statistics", headers=county, params={"region": HERE})
    assert error_body(other, 403)["error"] == "forbidden"


async def test_the_pages_keep_counties_apart(api: httpx.AsyncClient, api_app: FastAPI) -> None:
    number, _ = await accepted_there(api)
    for who, expected in ((f"supervisor-{HERE}", 404), (f"supervisor-{THERE}", 200)):
        async with client_of(api_app) as browser:
            await sign_in(browser, who)
            page = await browser.get(f"/supervision/applications/{number}")
            assert page.status_code == expected, page.text
            dashboard = await browser.get("/supervision")
            assert dashboard.status_code == 200
            statistics = await browser.get("/supervision/statistics")
            assert statistics.status_code == 200
            # Of his own county by default.
            county = "含山县" if who.endswith(THERE) else "当涂县"
            assert f'<p class="muted" id="scope">{county}' in statistics.text
    async with client_of(api_app) as browser:
        await sign_in(browser, f"clerk-{HERE}")
        desk = await browser.get("/window")
        assert desk.status_code == 200 and number not in desk.text
