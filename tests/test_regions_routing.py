"""市县乡村: where an application is accepted numbers it, its matter's implementation (实施清单)
says which level's departments handle it, and a village's agent accepts on behalf and
forwards to his county."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from definitions.catalogue import default_catalogue
from definitions.regions import default_regions
from domain.regions import RegionLevel
from domain.routing import branch_code, handling_region, localised
from tests.api_helpers import (
    CLERK,
    COMPANY_SETUP_DEPARTMENTS,
    SUPERVISOR,
    as_user,
    company_setup,
    error_body,
    inbox,
    invalid_fields,
    property_transfer,
    status,
    task_for,
)
from tests.conftest import client_of
from tests.page_helpers import sign_in

COUNTY, OTHER_COUNTY = "340521", "340522"  # 当涂县, 含山县
TOWNSHIP, VILLAGE = "340521100", "340521100201"  # 姑孰镇, 新桥村 (demonstration data)


async def accept_at(api: httpx.AsyncClient, clerk: str, body: dict[str, object]) -> httpx.Response:
    return await api.post("/api/window/applications", json=body, headers=await as_user(api, clerk))


# --- the rules, without the API ----------------------------------------------------------------


def test_branches_are_named_for_their_county() -> None:
    catalogue = default_catalogue()
    branch = catalogue.department(branch_code("amr", COUNTY))
    assert branch is not None and branch.name == "当涂县市场监管局"
    assert branch.region == COUNTY and branch.connector is None
    # A utility serves the whole city: no county has a branch of it.
    assert catalogue.department(branch_code("water", COUNTY)) is None
    # The city's list is what departments.yaml says, branches beside it.
    assert set(catalogue.departments).isdisjoint(catalogue.branches)


@pytest.mark.parametrize(
    ("accepting", "handling"),
    [
        ("340500", "340500"),  # the city's centre: the city's departments
        (COUNTY, COUNTY),  # a county's centre: its branches
        (TOWNSHIP, COUNTY),  # 代收代办 at a township, forwarded to its county
        (VILLAGE, COUNTY),  # and at a village
    ],
)
def test_company_setup_is_handled_at_the_nearest_level_above(accepting: str, handling: str) -> None:
    matter = default_catalogue().matter("company_setup")
    region = handling_region(matter, accepting, default_regions())
    assert region is not None and region.code == handling


def test_a_city_matter_is_not_accepted_below_the_city() -> None:
    """A matter without an implementation is handled and accepted at the city only."""
    matter = default_catalogue().matter("property_transfer")
    assert matter.implementation is None
    assert handling_region(matter, "340500", default_regions()) is not None
    for code in (COUNTY, TOWNSHIP, VILLAGE):
        assert handling_region(matter, code, default_regions()) is None


def test_localised_definition_names_the_countys_branches() -> None:
    catalogue = default_catalogue()
    matter = catalogue.matter("company_setup")
    county = default_regions().get(COUNTY)
    assert county is not None and county.level is RegionLevel.county
    local = localised(matter, county, catalogue.all_departments)
    assert [s.department for s in local.steps] == [
        branch_code(d, COUNTY) for d in COMPANY_SETUP_DEPARTMENTS
    ]
    assert local.lead_department == branch_code("amr", COUNTY)
    # Everything else is the city's definition, which the city pins unchanged.
    assert local.model_copy(update={"steps": matter.steps, "lead_department": "amr"}) == matter
    city = default_regions().root
    assert localised(matter, city, catalogue.all_departments) is matter


# --- through the API -------------------------------------------------------------------------


async def test_a_county_clerk_numbers_with_the_countys_code_and_its_branches_handle_it(
    api: httpx.AsyncClient,
) -> None:
    response = await accept_at(api, f"clerk-{COUNTY}", company_setup())
    assert response.status_code == 201, response.text
    receipt = response.json()
    number = receipt["application_no"]
    assert number.startswith(COUNTY)
    view = await status(api, number, receipt["query_code"])
    assert [s["department"] for s in view["steps"]] == [
        branch_code(d, COUNTY) for d in COMPANY_SETUP_DEPARTMENTS
    ]
    assert view["steps"][0]["department_name"] == "当涂县市场监管局"
    # The county's branch has the task; the city's department does not.
    task = await task_for(api, branch_code("amr", COUNTY), number)
    assert task["department"] == "amr_340521"
    city_amr = await inbox(api, await as_user(api, "amr"))
    assert number not in {t["application_no"] for t in city_amr}


async def test_the_city_clerk_still_numbers_with_the_citys_code(api: httpx.AsyncClient) -> None:
    response = await accept_at(api, CLERK, company_setup())
    assert response.status_code == 201, response.text
    number = response.json()["application_no"]
    assert number.startswith("340500")
    view = await status(api, number, response.json()["query_code"])
    assert [s["department"] for s in view["steps"]] == list(COMPANY_SETUP_DEPARTMENTS)


async def test_a_village_agent_accepts_on_behalf_and_forwards_to_the_county(
    api: httpx.AsyncClient,
) -> None:
    agent = f"agent-{VILLAGE}"
    response = await accept_at(api, agent, company_setup())
    assert response.status_code == 201, response.text
    number = response.json()["application_no"]
    # Numbered by the village's county (its first six digits), handled by its branches.
    assert number.startswith(COUNTY)
    task = await task_for(api, branch_code("psb", COUNTY), number)
    assert task["step_code"] == "seal"
    # He follows what he accepted; the county's supervisor and clerk see it too.
    for who in (agent, f"clerk-{COUNTY}"):
        followed = await api.get(
            f"/api/window/applications/{number}", headers=await as_user(api, who)
        )
        assert followed.status_code == 200, followed.text
        assert followed.json()["state"] == "accepted"
    listed = await api.get(
        "/api/supervision/applications",
        headers=await as_user(api, f"supervisor-{COUNTY}"),
        params={"limit": 500},
    )
    assert number in {a["application_no"] for a in listed.json()}
    # Another agent of the same county does not follow it: he follows his own.
    other = await api.get(
        f"/api/window/applications/{number}", headers=await as_user(api, f"agent-{TOWNSHIP}")
    )
    assert error_body(other, 404)["error"] == "not_found"


async def test_a_matter_not_accepted_on_behalf_is_refused_below_the_city(
    api: httpx.AsyncClient,
) -> None:
    for who in (f"agent-{VILLAGE}", f"clerk-{COUNTY}"):
        response = await accept_at(api, who, property_transfer())
        assert error_body(response, 409)["error"] == "conflict"
        assert "不在" in response.json()["message"]


async def test_the_countys_catalogue_lists_company_setup_by_its_branch(
    api: httpx.AsyncClient,
) -> None:
    response = await api.get(
        "/api/matters", params={"region": COUNTY, "level": "county", "q": "企业开办"}
    )
    assert response.status_code == 200, response.text
    [entry] = [m for m in response.json()["items"] if not m["demo"]]
    assert entry["code"] == f"company_setup_{COUNTY}"
    assert entry["agency"] == "当涂县市场监管局"
    assert entry["department"] == branch_code("amr", COUNTY)
    # Applied for under the matter's own definition and guide.
    assert entry["guide_url"] == "/matters/company_setup"


async def test_applied_for_online_at_a_county_its_window_accepts_it_for_its_branches(
    api: httpx.AsyncClient,
) -> None:
    """The catalogue lists company setup at 当涂县: applied for online there, it is numbered
    by the county, waits at the county's window (not the city's) and goes to its branches."""
    body = company_setup() | {"region_code": COUNTY}
    response = await api.post("/api/applications", json=body)
    assert response.status_code == 201, response.text
    number = response.json()["application_no"]
    assert number.startswith(COUNTY) and response.json()["state"] == "received"

    async def pending(clerk: str) -> set[str]:
        listed = await api.get("/api/window/pending", headers=await as_user(api, clerk))
        return {p["application_no"] for p in listed.json()}

    assert number in await pending(f"clerk-{COUNTY}")
    assert number not in await pending(f"clerk-{OTHER_COUNTY}")
    accepted = await api.post(
        f"/api/window/applications/{number}/accept", headers=await as_user(api, f"clerk-{COUNTY}")
    )
    assert accepted.status_code == 200, accepted.text
    task = await task_for(api, branch_code("amr", COUNTY), number)
    assert task["department"] == "amr_340521"

    # Only a county-level division's centre: not a township, nor a code that does not exist.
    for code in (TOWNSHIP, "349999", "34052x"):
        refused = await api.post("/api/applications", json=company_setup() | {"region_code": code})
        assert error_body(refused, 422)["details"][0]["field"] == "region_code", code
    # Nor a matter the county does not handle.
    refused = await api.post(
        "/api/applications", json=property_transfer() | {"region_code": COUNTY}
    )
    assert error_body(refused, 409)["error"] == "conflict"


async def test_the_countys_apply_button_applies_at_the_county(api: httpx.AsyncClient) -> None:
    home = await api.get("/", params={"region": COUNTY, "level": "county", "q": "企业开办"})
    link = f'href="/apply/company_setup?region={COUNTY}"'
    assert link in home.text, home.text
    form = await api.get(f"/apply/company_setup?region={COUNTY}")
    assert form.status_code == 200
    assert "办理地：马鞍山市当涂县政务服务中心" in form.text
    assert f'name="region" value="{COUNTY}"' in form.text
    assert (await api.get(f"/apply/company_setup?region={TOWNSHIP}")).status_code == 422


async def test_a_countys_returned_step_is_rerouted_only_within_the_county(
    api: httpx.AsyncClient, api_app: FastAPI
) -> None:
    """改派 stays at the level that handles the application: the county's window and
    supervisor give 当涂县's returned step to another of 当涂县's branches, never to the
    city's department or to another county's branch; their forms offer only those."""
    response = await accept_at(api, f"clerk-{COUNTY}", company_setup())
    assert response.status_code == 201, response.text
    number = response.json()["application_no"]
    tax = branch_code("tax", COUNTY)
    invoice = await task_for(api, tax, number)
    back = await api.post(
        f"/api/tasks/{invoice['id']}/return",
        headers=await as_user(api, tax),
        json={"reason": "发票申领应由市场监管局一并办理"},
    )
    assert back.status_code == 200, back.text

    review = f"/window/review/{number}"
    async with client_of(api_app) as browser:
        await sign_in(browser, f"clerk-{COUNTY}")
        html = (await browser.get(review)).text
    offered = set(re.findall(r'<option value="([a-z0-9_]+)"', html))
    assert branch_code("amr", COUNTY) in offered and "water" in offered  # no branch: the city's
    assert not offered & {"amr", "psb", branch_code("amr", OTHER_COUNTY), tax}

    url = f"/api/window/applications/{number}/steps/invoice/reroute"
    clerk = await as_user(api, f"clerk-{COUNTY}")
    for elsewhere in ("amr", branch_code("amr", OTHER_COUNTY)):
        refused = await api.post(url, headers=clerk, json={"department": elsewhere})
        assert invalid_fields(refused)["department"] == "只能改派给办理该件的当涂县部门"
    supervisor = await as_user(api, f"supervisor-{COUNTY}")
    refused = await api.post(
        f"/api/supervision/tasks/{invoice['id']}/reroute",
        headers=supervisor,
        json={"department": "amr"},
    )
    assert invalid_fields(refused)["department"] == "只能改派给办理该件的当涂县部门"
    moved = await api.post(
        url, headers=clerk, json={"department": branch_code("amr", COUNTY), "reason": "按职责"}
    )
    assert moved.status_code == 200, moved.text
    amr = await inbox(api, await as_user(api, branch_code("amr", COUNTY)))
    [task] = [t for t in amr if t["id"] == invoice["id"]]
    assert task["state"] == "open" and task["department"] == branch_code("amr", COUNTY)


async def test_an_application_an_agent_accepted_counts_in_his_township_s_statistics(
    api: httpx.AsyncClient,
) -> None:
    """Numbered by the county, it counts in the village whose agent accepted it, and so in
    its township and its county; not at the county's own level (本级)."""
    boss = await as_user(api, SUPERVISOR)
    scopes = [{"region": r} for r in (VILLAGE, TOWNSHIP, COUNTY)]
    scopes.append({"region": COUNTY, "level": "county"})

    async def applications() -> list[int]:
        counted = []
        for params in scopes:
            got = await api.get("/api/supervision/statistics", params=params, headers=boss)
            assert got.status_code == 200, got.text
            counted.append(int(got.json()["applications"]))
        return counted

    before = await applications()
    response = await accept_at(api, f"agent-{VILLAGE}", company_setup())
    assert response.status_code == 201, response.text
    assert [a - b for a, b in zip(await applications(), before, strict=True)] == [1, 1, 1, 0]
