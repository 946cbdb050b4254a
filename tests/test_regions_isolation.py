"""Regions kept apart: a county's supervisor and clerk see and act on their county's
applications only (404 for another county's, as for a number that does not exist; 403 where
their role may not act at all), the city's see every one."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.routing import branch_code
from store.models import EventRow, RatingRow
from tests.api_helpers import (
    SUPERVISOR,
    Json,
    approval,
    as_user,
    company_setup,
    decide,
    error_body,
    status,
    task_for,
)
from tests.conftest import client_of
from tests.page_helpers import flashes, post_form, sign_in
from tests.timeline import eventually

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

    async def listed(who: str, path: str, **params: str) -> set[str]:
        response = await api.get(
            path, headers=await as_user(api, who), params={"limit": 500, **params}
        )
        assert response.status_code == 200, response.text
        return {row["application_no"] for row in response.json()}

    # Those of 含山县's 市场监管局 (the city's list holds every test's, more than a page).
    theirs = {"department": branch_code("amr", THERE)}
    for path in ("/api/supervision/applications", "/api/tasks"):
        assert number not in await listed(f"supervisor-{HERE}", path)
        assert number in await listed(f"supervisor-{THERE}", path, **theirs)
        assert number in await listed(SUPERVISOR, path, **theirs)
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


async def test_another_countys_reviews_messages_and_events_stay_out_of_reach(
    api: httpx.AsyncClient, api_app: FastAPI, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """当涂县's supervisor cannot follow up 含山县's bad review (page or API), and neither
    he nor 当涂县's window reads 含山县's window and supervisor messages or its events."""
    async with sessions() as session:
        start = await session.scalar(select(func.max(EventRow.feed_position))) or 0
    number, task = await accepted_there(api)
    back = await api.post(
        f"/api/tasks/{task['id']}/return",
        headers=await as_user(api, branch_code("amr", THERE)),
        json={"reason": "不属于本部门职责范围"},
    )
    assert back.status_code == 200, back.text
    async with sessions() as session, session.begin():
        session.add(
            RatingRow(
                application_no=number, level="dissatisfied", reason="办理太慢",
                rated_at=datetime.now(UTC),
            )
        )  # fmt: skip

    async with client_of(api_app) as browser:
        await sign_in(browser, f"supervisor-{HERE}")
        action = f"/supervision/reviews/{number}/follow-up"
        after = await post_form(browser, "/supervision", action, {"note": "越权回访"})
        assert flashes(after.text) == [f"没有办件 {number}"]
    far = await api.post(
        f"/api/supervision/reviews/{number}/follow-up",
        headers=await as_user(api, f"supervisor-{HERE}"),
        json={"note": "越权回访"},
    )
    assert error_body(far, 404)["error"] == "not_found"
    async with sessions() as session:
        rating = await session.get(RatingRow, number)
        assert rating is not None and rating.followed_up_at is None

    async def in_inbox(who: str) -> bool:
        headers = await as_user(api, who)
        inbox = (await api.get("/api/inbox", headers=headers, params={"limit": 200})).json()
        return any(m["application_no"] == number for m in inbox["messages"])

    async def in_events(who: str) -> bool:
        headers = await as_user(api, who)
        events = await api.get(
            "/api/events", headers=headers, params={"after": start, "limit": 500}
        )
        assert events.status_code == 200, events.text
        return number in {e["data"]["application_no"] for e in events.json()["events"]}

    for who, sees in ((HERE, False), (THERE, True)):
        assert await in_inbox(f"supervisor-{who}") is sees
        assert await in_inbox(f"clerk-{who}") is sees
        assert await in_events(f"supervisor-{who}") is sees
    assert await in_inbox(SUPERVISOR) and await in_events(SUPERVISOR)


async def test_another_countys_licences_are_not_revoked_or_cited(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/api/window/applications",
        json=company_setup(),
        headers=await as_user(api, f"clerk-{THERE}"),
    )
    assert response.status_code == 201, response.text
    number, code = response.json()["application_no"], response.json()["query_code"]
    for department in ("amr", "psb", "tax"):
        task = await task_for(api, branch_code(department, THERE), number)
        body = approval(task)
        # Numbers of their own: the licences of other tests hold the helper's.
        for field in ("licence_no", "seal_record_no"):
            if field in body["result"]:
                body["result"][field] = f"HS-{uuid.uuid4().hex[:12]}"
        decided = await decide(api, branch_code(department, THERE), number, body)
        assert decided.status_code == 200, decided.text

    async def issued() -> Json:
        seen = await status(api, number, code)
        assert seen["licences"] and all(x["issued"] for x in seen["licences"]), seen
        return seen

    licence = (await eventually(issued))["licences"][0]
    url = f"/api/licences/{licence['type']}/{licence['number']}/revoke"
    body = {"reason": "越权注销"}
    here = await api.post(url, headers=await as_user(api, f"supervisor-{HERE}"), json=body)
    assert error_body(here, 404)["message"] == "没有该电子证照"
    # Citing 含山县's application as the reason for a look-up, from 当涂县's window.
    cited = await api.get(
        "/api/licences",
        headers=await as_user(api, f"clerk-{HERE}"),
        params={"holder_id": company_setup()["applicant"]["id_number"], "application_no": number},
    )
    assert error_body(cited, 422)["details"] == [
        {"field": "application_no", "reason": f"没有办件 {number}"}
    ]
    there = await api.post(url, headers=await as_user(api, f"supervisor-{THERE}"), json=body)
    assert there.status_code == 200, there.text
    assert there.json()["issuer"] == "含山县市场监管局"  # the county's branch issued it


async def test_below_the_city_a_licence_look_up_needs_an_application_and_its_holder(
    api: httpx.AsyncClient,
) -> None:
    """A county's (or a village's) staff read licences only of the people of an application
    they see; with a reason alone, only the city's may read anyone's (minimum necessary)."""
    number, _ = await accepted_there(api)
    applicant = company_setup()["applicant"]["id_number"]
    stranger = "34050319850612001X"  # the demo applicant 张三, of no application here
    ask = {"reason": "核查"}
    for who in (f"clerk-{THERE}", f"supervisor-{THERE}", f"agent-{HERE}100201"):
        headers = await as_user(api, who)
        alone = await api.get(
            "/api/licences", headers=headers, params=ask | {"holder_id": applicant}
        )
        assert "application_no" in {d["field"] for d in error_body(alone, 422)["details"]}
    headers = await as_user(api, f"supervisor-{THERE}")
    theirs = {"holder_id": applicant, "application_no": number}
    assert (await api.get("/api/licences", headers=headers, params=theirs)).status_code == 200
    other = await api.get("/api/licences", headers=headers, params=theirs | {"holder_id": stranger})
    error_body(other, 403)
    city = await api.get(
        "/api/licences",
        headers=await as_user(api, SUPERVISOR),
        params=ask | {"holder_id": stranger},
    )
    assert city.status_code == 200
