"""Each role's journey through the HTTP API, against the real engine (time-skipping server,
a worker, the read model on SQLite)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.security import query_code_digest
from tests.api_helpers import (
    CLERK,
    COMPANY_SETUP_DEPARTMENTS,
    SUPERVISOR,
    TEST_SECRET,
    Json,
    approval,
    approve_all,
    as_user,
    code_header,
    company_setup,
    decide,
    inbox,
    property_transfer,
    status,
    submit,
    task_for,
    task_of,
)
from tests.engine import start, start_on_a_plain_monday
from tests.factories import application
from tests.licence_helpers import transfer_of_own_title
from tests.timeline import at, eventually, next_plain_monday, plain_calendar, skip_to


def when(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def supervised(api: httpx.AsyncClient, **params: Any) -> list[Json]:
    """Every page of the city's list: the session's database holds more than one page of
    open applications by the time later tests run, so one page would miss some."""
    headers = await as_user(api, SUPERVISOR)
    found: list[Json] = []
    while True:
        response = await api.get(
            "/api/supervision/applications",
            headers=headers,
            params={**params, "limit": 500, "offset": len(found)},
        )
        assert response.status_code == 200, response.text
        page = list(response.json())
        found += page
        if len(page) < 500:
            return found


async def supervised_numbers(api: httpx.AsyncClient, **params: Any) -> set[str]:
    return {a["application_no"] for a in await supervised(api, **params)}


async def overview(api: httpx.AsyncClient) -> Json:
    response = await api.get("/api/supervision/overview", headers=await as_user(api, SUPERVISOR))
    assert response.status_code == 200, response.text
    return dict(response.json())


def department(figures: Json, code: str) -> Json:
    [found] = [d for d in figures["departments"] if d["department"] == code]
    return dict(found)


async def timeline(api: httpx.AsyncClient, number: str) -> list[Json]:
    response = await api.get(
        f"/api/supervision/applications/{number}/timeline",
        headers=await as_user(api, SUPERVISOR),
    )
    assert response.status_code == 200, response.text
    return list(response.json())


# --- health ----------------------------------------------------------------------------------


async def test_health_and_readiness(api: httpx.AsyncClient) -> None:
    live = await api.get("/healthz")
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    ready = await api.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": True, "temporal": True}}


# --- applicants ------------------------------------------------------------------------------


async def test_applicant_reads_the_catalogue_and_a_matter_guide(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/matters")
    assert response.status_code == 200
    matters = response.json()["items"]
    # The hand-made matters come first, the city's, each with its guide.
    assert [m["code"] for m in matters[:5]] == [
        "company_setup",
        "property_transfer",
        "tax_deregistration",
        "tax_deregistration_commitment",
        "utility_connection",
    ]
    assert all(not m["demo"] and m["guide_url"] for m in matters[:5])
    [setup] = [m for m in matters if m["code"] == "company_setup"]
    assert setup["promised_limit_days"] == 3 and setup["legal_limit_days"] == 15
    assert setup["lead_department_name"] == "市场监管局"
    assert (setup["region_code"], setup["level"]) == ("340500", "city")

    response = await api.get("/api/matters/company_setup")
    assert response.status_code == 200
    guide = response.json()
    assert guide["name"] == "企业开办"
    assert (guide["promised_limit_days"], guide["legal_limit_days"]) == (3, 15)
    assert guide["channels"] == ["online", "mobile", "window"]
    assert guide["applicant_types"] == ["person"]
    materials = {m["code"]: m for m in guide["materials"]}
    assert list(materials) == [
        "application_form",
        "articles",
        "investor_id",
        "premises_proof",
        "seal_application",
    ]
    assert materials["seal_application"]["required"] is False
    assert materials["investor_id"]["licence_type"] == "resident_id_card"
    assert guide["departments"] == [
        {"code": "amr", "name": "市场监管局"},
        {"code": "psb", "name": "公安局"},
        {"code": "tax", "name": "税务局"},
    ]
    assert [(s["code"], s["limit_days"]) for s in guide["steps"]] == [
        ("registration", 3),
        ("seal", 2),
        ("invoice", 2),
    ]
    company_type = next(f for f in guide["form"] if f["code"] == "company_type")
    assert "有限责任公司" in company_type["options"]
    assert guide["max_extension_days"] == 5


async def test_applicant_submits_and_polls_the_status(api: httpx.AsyncClient) -> None:
    response = await api.post("/api/applications", json=company_setup())
    assert response.status_code == 201, response.text
    receipt = response.json()
    number, code = receipt["application_no"], receipt["query_code"]
    assert number.isdigit() and number.startswith("340500")
    assert len(code) >= 8
    assert receipt["state"] == "received" and receipt["matter_name"] == "企业开办"
    assert receipt["status_url"] == f"/status/{number}"
    # Submitted online: received (收件), no clock yet, nothing in any department's inbox.
    assert receipt["promised_deadline"] is None and receipt["accepted_at"] is None
    assert when(receipt["acceptance_due"]) > when(receipt["received_at"])
    waiting = await status(api, number, code)
    assert waiting["state_label"] == "待受理" and waiting["next_action"]["code"] == "wait"
    assert {step["state"] for step in waiting["steps"]} == {"waiting"}
    assert number not in {t["application_no"] for t in await inbox(api, await as_user(api, "amr"))}

    # The window sees it among the online applications to accept, and accepts it.
    clerk = await as_user(api, CLERK)
    pending = (await api.get("/api/window/pending", headers=clerk)).json()
    assert number in {p["application_no"] for p in pending}
    accepted = await api.post(f"/api/window/applications/{number}/accept", headers=clerk)
    assert accepted.status_code == 200, accepted.text
    assert number not in {
        p["application_no"] for p in (await api.get("/api/window/pending", headers=clerk)).json()
    }

    s = await status(api, number, code)
    assert s["application_no"] == number
    assert s["state"] == "accepted" and s["state_label"] == "已受理"
    assert s["sla_level"] == "green"
    assert s["channel"] == "online"
    assert s["applicant_name"] == "张三"
    assert when(s["promised_deadline"]) == when(accepted.json()["promised_deadline"])
    assert when(s["promised_deadline"]) > when(s["accepted_at"]) >= when(s["received_at"])
    steps = {step["code"]: step for step in s["steps"]}
    assert list(steps) == ["registration", "seal", "invoice"]
    assert [step["department_name"] for step in s["steps"]] == ["市场监管局", "公安局", "税务局"]
    for step in s["steps"]:
        assert step["state"] == "open" and step["sla_level"] == "green"
        assert when(step["deadline"]) <= when(s["promised_deadline"])
    # Two working days for the seal and the invoice, three for the registration.
    assert when(steps["seal"]["deadline"]) < when(steps["registration"]["deadline"])
    assert s["correction"] is None
    assert s["next_action"]["code"] == "wait"
    # The code is read out over the phone: case and surrounding spaces do not matter.
    assert (await status(api, number, f" {code.lower()} "))["application_no"] == number


@pytest.mark.parametrize(
    ("delivery", "next_action"),
    [
        ({"delivery": "pickup"}, "collect_result"),
        ({"delivery": "express", "delivery_address": "马鞍山市雨山区示例路1号"}, "receive_express"),
    ],
)
async def test_three_approvals_grant_the_application_with_its_results(
    api: httpx.AsyncClient, delivery: Json, next_action: str
) -> None:
    receipt = await submit(api, company_setup(**delivery))
    number = receipt["application_no"]
    amr = await as_user(api, "amr")
    registration = await task_of(api, amr, number)
    claimed = await api.post(f"/api/tasks/{registration['id']}/claim", headers=amr)
    assert claimed.status_code == 200, claimed.text
    assert (await status(api, number, receipt["query_code"]))["state"] == "in_progress"

    result = approval(registration)["result"] | {"licence_no": "340500000012345"}
    approved = await decide(api, "amr", number, {"decision": "approve", "result": result})
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "approved"
    s = await status(api, number, receipt["query_code"])
    assert s["state"] == "in_progress"
    assert s["steps"][0]["result"] == {}  # results are shown once the whole matter is done

    await approve_all(api, number, ("psb", "tax"))
    s = await status(api, number, receipt["query_code"])
    assert s["state"] == "granted" and s["state_label"] == "已办结（准予）"
    assert s["completed_at"] is not None
    assert [step["state"] for step in s["steps"]] == ["approved"] * 3
    assert s["steps"][0]["result"] == result
    assert s["steps"][2]["result"]["invoice_type"] == "数电发票（普通发票）"
    assert s["next_action"]["code"] == next_action
    for code in COMPANY_SETUP_DEPARTMENTS:  # done: out of every inbox
        assert number not in {
            t["application_no"] for t in await inbox(api, await as_user(api, code))
        }


async def test_two_departments_requests_reach_the_applicant_as_one_notice(
    api: httpx.AsyncClient,
) -> None:
    receipt = await submit(api)
    number, code = receipt["application_no"], receipt["query_code"]
    asked = await decide(
        api,
        "amr",
        number,
        {"decision": "request_supplement", "items": ["住所使用证明"], "reason": "租赁合同未签字"},
    )
    assert asked.status_code == 200, asked.text
    assert asked.json()["state"] == "correction" and asked.json()["paused"] is True
    asked = await decide(
        api,
        "psb",
        number,
        {
            "decision": "request_supplement",
            "items": ["印章刻制申请表", "住所使用证明"],
            "reason": "未填写印章样式",
        },
    )
    assert asked.status_code == 200, asked.text

    s = await status(api, number, code)
    assert s["state"] == "correction" and s["paused"] is True
    notice = s["correction"]
    assert notice["notice_no"] == 1
    assert notice["items"] == ["住所使用证明", "印章刻制申请表"]  # merged, each item once
    assert notice["reasons"] == [
        {"step_code": "registration", "reason": "租赁合同未签字"},
        {"step_code": "seal", "reason": "未填写印章样式"},
    ]
    assert s["next_action"]["code"] == "supply_correction"
    assert (
        "住所使用证明" in s["next_action"]["text"] and "印章刻制申请表" in s["next_action"]["text"]
    )
    tax_task = await task_for(api, "tax", number)
    assert tax_task["state"] == "open"  # the department that asked nothing goes on

    supplied = await api.post(
        f"/api/applications/{number}/supplements",
        headers=code_header(code),
        json={
            "items": [
                {"item": "住所使用证明", "ref": "file-31"},
                {"item": "印章刻制申请表", "ref": "file-32"},
            ],
            "note": "已补签",
        },
    )
    assert supplied.status_code == 200, supplied.text
    s = supplied.json()
    assert s["state"] == "in_progress" and s["paused"] is False
    assert s["correction"] is None
    assert s["next_action"]["code"] == "wait"
    assert {step["code"]: step["state"] for step in s["steps"]} == {
        "registration": "claimed",
        "seal": "claimed",
        "invoice": "open",
    }
    detail = await api.get(
        f"/api/tasks/{(await task_for(api, 'amr', number))['id']}",
        headers=await as_user(api, "amr"),
    )
    [answered] = detail.json()["corrections"]
    assert answered["answered_at"] is not None


async def test_applicant_withdraws_an_application(api: httpx.AsyncClient) -> None:
    kept = await submit(api)
    receipt = await submit(api)
    number, code = receipt["application_no"], receipt["query_code"]
    response = await api.post(
        f"/api/applications/{number}/withdraw",
        headers=code_header(code),
        json={"reason": "名称已被占用"},
    )
    assert response.status_code == 200, response.text
    s = response.json()
    assert s["state"] == "withdrawn" and s["outcome_reason"] == "名称已被占用"
    assert [step["state"] for step in s["steps"]] == ["cancelled"] * 3
    assert s["next_action"]["code"] == "none"
    assert (await status(api, number, code))["state"] == "withdrawn"
    psb_inbox = {t["application_no"] for t in await inbox(api, await as_user(api, "psb"))}
    assert number not in psb_inbox and kept["application_no"] in psb_inbox


# --- the window ------------------------------------------------------------------------------


async def test_clerk_accepts_at_the_window_and_the_channel_is_recorded(
    api: httpx.AsyncClient,
) -> None:
    clerk = await as_user(api, CLERK)
    before = (await overview(api))["by_channel"].get("window", 0)
    response = await api.post(
        "/api/window/applications", headers=clerk, json=company_setup(channel="online")
    )
    assert response.status_code == 201, response.text
    receipt = response.json()
    number = receipt["application_no"]
    assert receipt["state"] == "accepted" and len(receipt["query_code"]) >= 8
    assert (await status(api, number, receipt["query_code"]))["channel"] == "window"
    [listed] = [a for a in await supervised(api) if a["application_no"] == number]
    assert listed["channel"] == "window"
    assert (await overview(api))["by_channel"]["window"] == before + 1
    accepted = (await timeline(api, number))[0]
    assert (accepted["kind"], accepted["actor"], accepted["actor_role"]) == (
        "accepted",
        "综合窗口受理员",
        "clerk",
    )
    assert (await task_for(api, "amr", number))["state"] == "open"


async def test_clerk_refuses_at_the_window_with_a_reason(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/api/window/applications",
        headers=await as_user(api, CLERK),
        json=company_setup(decision="refuse", reason="经营范围涉及前置许可，须先取得许可证"),
    )
    assert response.status_code == 200, response.text
    refused = response.json()
    number = refused["application_no"]
    assert refused["state"] == "not_accepted"
    assert refused["reason"] == "经营范围涉及前置许可，须先取得许可证"
    assert len(refused["query_code"]) >= 8

    s = await status(api, number, refused["query_code"])
    assert s["state"] == "not_accepted" and s["state_label"] == "不予受理"
    assert s["outcome_reason"] == "经营范围涉及前置许可，须先取得许可证"
    assert s["promised_deadline"] is None
    assert s["next_action"]["code"] == "none"
    for code in COMPANY_SETUP_DEPARTMENTS:
        tasks = await inbox(api, await as_user(api, code))
        assert number not in {t["application_no"] for t in tasks}
    everything = await inbox(api, await as_user(api, SUPERVISOR))
    assert number not in {t["application_no"] for t in everything}
    [event] = await timeline(api, number)
    assert (event["kind"], event["actor"], event["payload"]["reason"]) == (
        "not_accepted",
        "综合窗口受理员",
        "经营范围涉及前置许可，须先取得许可证",
    )
    assert number in await supervised_numbers(api, state="not_accepted")


# --- department staff ------------------------------------------------------------------------


async def test_inbox_holds_only_the_departments_tasks_soonest_deadline_first(
    api: httpx.AsyncClient,
) -> None:
    setup = await submit(api)
    transfer = await submit(api, property_transfer())
    tax = await as_user(api, "tax")
    tasks = await inbox(api, tax)
    assert tasks and {t["department"] for t in tasks} == {"tax"}
    deadlines = [when(t["deadline"]) for t in tasks]
    assert deadlines == sorted(deadlines)
    mine = {t["application_no"]: t for t in tasks}
    invoice, deed_tax = mine[setup["application_no"]], mine[transfer["application_no"]]
    # deed tax: one working day; invoice: two.
    assert tasks.index(deed_tax) < tasks.index(invoice)
    for task in (invoice, deed_tax):
        assert {
            "id",
            "application_no",
            "matter_code",
            "step_code",
            "department",
            "state",
            "sla_level",
            "deadline",
            "result_fields",
        } <= set(task)
        assert task["state"] == "open" and task["sla_level"] == "green"
    assert (invoice["matter_code"], invoice["step_code"]) == ("company_setup", "invoice")
    assert [f["code"] for f in invoice["result_fields"]] == ["invoice_type", "monthly_quota"]
    assert (deed_tax["matter_code"], deed_tax["step_code"]) == ("property_transfer", "deed_tax")
    amr_numbers = {t["application_no"] for t in await inbox(api, await as_user(api, "amr"))}
    assert setup["application_no"] in amr_numbers
    assert transfer["application_no"] not in amr_numbers


async def test_task_detail_shows_applicant_form_and_materials(api: httpx.AsyncClient) -> None:
    receipt = await submit(api, property_transfer())
    task = await task_for(api, "housing", receipt["application_no"])
    response = await api.get(f"/api/tasks/{task['id']}", headers=await as_user(api, "housing"))
    assert response.status_code == 200, response.text
    detail = response.json()
    assert detail["step_code"] == "contract_filing" and detail["step_name"] == "存量房合同备案"
    assert detail["applicant"]["name"] == "张三" and detail["applicant"]["kind"] == "person"
    assert detail["form"]["property_address"] == "马鞍山市花山区示例小区1栋101室"
    materials = {m["code"]: m for m in detail["materials"]}
    assert materials["title_certificate"]["source"] == "licence"
    assert materials["title_certificate"]["ref"] == "皖(2020)马鞍山市不动产权第1号"
    # Fetched by data sharing, never asked of the applicant.
    assert materials["marital_status"]["source"] == "sharing"
    assert detail["corrections"] == [] and detail["extension_days"] == 0
    assert [f["code"] for f in detail["result_fields"]] == ["filing_no"]


async def test_staff_claims_and_releases_a_task(api: httpx.AsyncClient) -> None:
    receipt = await submit(api)
    amr = await as_user(api, "amr")
    task = await task_of(api, amr, receipt["application_no"])
    claimed = await api.post(f"/api/tasks/{task['id']}/claim", headers=amr)
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["state"] == "claimed"
    assert claimed.json()["claimed_by"] == "市场监管局审批员"
    assert (await task_of(api, amr, receipt["application_no"]))["state"] == "claimed"

    released = await api.post(f"/api/tasks/{task['id']}/release", headers=amr)
    assert released.status_code == 200, released.text
    assert released.json()["state"] == "open" and released.json()["claimed_by"] is None
    assert (await task_of(api, amr, receipt["application_no"]))["claimed_by"] is None


async def test_one_reasoned_rejection_refuses_the_application(api: httpx.AsyncClient) -> None:
    receipt = await submit(api)
    number = receipt["application_no"]
    assert (await decide(api, "amr", number)).status_code == 200
    response = await decide(
        api, "tax", number, {"decision": "reject", "reason": "申请人存在欠税，须先结清"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "rejected"

    s = await status(api, number, receipt["query_code"])
    assert s["state"] == "refused" and s["outcome_reason"] == "申请人存在欠税，须先结清"
    assert {step["code"]: step["state"] for step in s["steps"]} == {
        "registration": "approved",
        "seal": "cancelled",
        "invoice": "rejected",
    }
    assert s["steps"][2]["reason"] == "申请人存在欠税，须先结清"
    assert s["next_action"]["code"] == "none"
    psb = {t["application_no"] for t in await inbox(api, await as_user(api, "psb"))}
    assert number not in psb


async def test_property_registration_opens_only_after_housing_and_tax_approve(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    receipt = await submit(api, (await transfer_of_own_title(sessions))[0])
    number, code = receipt["application_no"], receipt["query_code"]
    realty = await as_user(api, "realty")

    async def in_realty_inbox() -> bool:
        return number in {t["application_no"] for t in await inbox(api, realty)}

    steps = {s["code"]: s for s in (await status(api, number, code))["steps"]}
    assert steps["registration"]["state"] == "waiting" and steps["registration"]["deadline"] is None
    assert not await in_realty_inbox()

    assert (await decide(api, "housing", number)).status_code == 200
    assert not await in_realty_inbox()
    assert (await decide(api, "tax", number)).status_code == 200
    assert await in_realty_inbox()
    task = await task_for(api, "realty", number)
    assert task["step_code"] == "registration" and task["state"] == "open"
    assert task["deadline"] is not None

    assert (await decide(api, "realty", number)).status_code == 200
    s = await status(api, number, code)
    assert s["state"] == "granted"
    assert set(s["steps"][2]["result"]) == {"certificate_no"}


# --- supervisors -----------------------------------------------------------------------------


async def test_supervisor_filters_the_applications(api: httpx.AsyncClient) -> None:
    setup = (await submit(api))["application_no"]
    transfer = (await submit(api, property_transfer()))["application_no"]
    gone = await submit(api)
    withdrawn = await api.post(
        f"/api/applications/{gone['application_no']}/withdraw",
        headers=code_header(gone["query_code"]),
        json={},
    )
    assert withdrawn.status_code == 200, withdrawn.text
    gone_no = gone["application_no"]

    by_matter = await supervised(api, matter="property_transfer")
    assert {a["matter_code"] for a in by_matter} == {"property_transfer"}
    assert transfer in {a["application_no"] for a in by_matter}

    realty = await supervised_numbers(api, department="realty")
    assert transfer in realty and setup not in realty
    psb = await supervised_numbers(api, department="psb")
    assert setup in psb and transfer not in psb

    # Unless asked otherwise: the open states, and those granted on a commitment that is
    # still being verified.
    open_now = await supervised(api)
    assert gone_no not in {a["application_no"] for a in open_now}
    states = {"received", "accepted", "in_progress", "correction", "granted"}
    assert {a["state"] for a in open_now} <= states
    ended = await supervised(api, state="withdrawn")
    assert gone_no in {a["application_no"] for a in ended}
    assert {a["state"] for a in ended} == {"withdrawn"}
    both = await supervised_numbers(api, state=["withdrawn", "accepted"])
    assert {gone_no, setup} <= both

    green = await supervised(api, sla_level="green")
    assert setup in {a["application_no"] for a in green}
    assert {a["sla_level"] for a in green} == {"green"}
    assert setup not in await supervised_numbers(api, sla_level=["red", "serious"])

    [row] = [a for a in green if a["application_no"] == setup]
    assert row["applicant_name"] == "张三" and row["state_label"] == "已受理"
    assert row["overdue_steps"] == [] and row["temporal_url"].endswith(f"/workflows/{setup}")


async def test_supervisor_reads_the_timeline_in_order_with_actors(api: httpx.AsyncClient) -> None:
    receipt = await submit(api)
    number, code = receipt["application_no"], receipt["query_code"]
    amr = await as_user(api, "amr")
    task = await task_of(api, amr, number)
    assert (await api.post(f"/api/tasks/{task['id']}/claim", headers=amr)).status_code == 200
    assert (await decide(api, "amr", number)).status_code == 200
    asked = await decide(
        api,
        "psb",
        number,
        {"decision": "request_supplement", "items": ["印章样式"], "reason": "缺印章样式"},
    )
    assert asked.status_code == 200
    supplied = await api.post(
        f"/api/applications/{number}/supplements",
        headers=code_header(code),
        json={"items": [{"item": "印章样式", "ref": "file-9"}]},
    )
    assert supplied.status_code == 200, supplied.text

    events = await timeline(api, number)
    assert [(e["kind"], e["step_code"]) for e in events] == [
        ("received", None),
        ("accepted", None),
        ("step_opened", "registration"),
        ("step_opened", "seal"),
        ("step_opened", "invoice"),
        ("claimed", "registration"),
        ("approved", "registration"),
        ("correction_requested", "seal"),
        ("correction_supplied", None),
    ]
    assert [e["seq"] for e in events] == sorted({e["seq"] for e in events})
    assert [when(e["at"]) for e in events] == sorted(when(e["at"]) for e in events)
    actors = [(e["actor"], e["actor_role"]) for e in events]
    assert actors[0] == ("张三", "applicant")
    assert actors[1] == ("综合窗口受理员", "clerk")
    assert actors[2] == ("系统", "system")
    assert actors[5] == actors[6] == ("市场监管局审批员", "staff")
    assert actors[7] == ("公安局审批员", "staff")
    assert actors[8] == ("张三", "applicant")
    assert events[6]["payload"]["result"]["licence_no"] == "licence_no-1"
    assert events[7]["payload"]["items"] == ["印章样式"]


async def test_overview_counts_open_work_and_on_time_decisions(api: httpx.AsyncClient) -> None:
    before = await overview(api)
    receipt = await submit(api)
    after_submit = await overview(api)
    assert after_submit["open_by_sla"]["green"] == before["open_by_sla"]["green"] + 1
    for code in COMPANY_SETUP_DEPARTMENTS:
        assert department(after_submit, code)["open"] == department(before, code)["open"] + 1
    assert department(after_submit, "realty")["open"] == department(before, "realty")["open"]

    assert (await decide(api, "amr", receipt["application_no"])).status_code == 200
    after = await overview(api)
    amr_before, amr = department(after_submit, "amr"), department(after, "amr")
    assert amr["open"] == amr_before["open"] - 1
    assert amr["completed"] == amr_before["completed"] + 1
    assert amr["on_time"] == amr_before["on_time"] + 1  # decided well before its deadline
    assert amr["on_time_rate"] == round(amr["on_time"] / amr["completed"], 4)
    assert amr["department_name"] == "市场监管局"
    assert after["materials_total"] == before["materials_total"] + 4
    assert after["materials_not_asked"] == before["materials_not_asked"] + 1  # a licence


async def test_cards_rise_from_yellow_to_red_in_inboxes_and_supervision(
    api: httpx.AsyncClient, env: WorkflowEnvironment, worker: Worker
) -> None:
    """On a plain calendar placed at a chosen Monday (engine-started: the API fixes the
    calendar itself); the supervisor reads the cards through the API."""
    monday = next_plain_monday(await env.get_current_time())
    await skip_to(env, at(monday, 10))
    app = application(
        "company_setup",
        now=at(monday, 10),
        calendar=plain_calendar(monday),
        query_code_digest=query_code_digest(TEST_SECRET.encode(), "ABCDEFGHJK"),
    )
    await start(env, worker.task_queue, app)
    number = app.application_no
    psb = await as_user(api, "psb")
    start_figures = await overview(api)

    # seal: two working days, yellow once 80% is used (Wednesday 12:36).
    await skip_to(env, at(monday + timedelta(days=2), 12, 40))

    async def yellow() -> None:
        assert number in {t["application_no"] for t in await inbox(api, psb, sla_level="yellow")}
        assert number in await supervised_numbers(api, sla_level="yellow")

    await eventually(yellow)
    s = await status(api, number, "ABCDEFGHJK")
    assert s["sla_level"] == "yellow"
    assert {step["code"]: step["sla_level"] for step in s["steps"]}["seal"] == "yellow"
    assert (await overview(api))["open_by_sla"]["yellow"] == start_figures["open_by_sla"][
        "yellow"
    ] + 1

    # Over the seal's deadline (Wednesday 17:30): red, overdue in the psb figures.
    await skip_to(env, at(monday + timedelta(days=2), 17, 31))

    async def red() -> None:
        rows = await supervised(api, sla_level="red", matter="company_setup", department="psb")
        assert {(r["matter_code"], r["sla_level"]) for r in rows} == {("company_setup", "red")}
        [row] = [r for r in rows if r["application_no"] == number]
        assert "seal" in row["overdue_steps"]

    await eventually(red)
    assert (await task_of(api, psb, number, sla_level="red"))["step_code"] == "seal"
    figures = await overview(api)
    assert department(figures, "psb")["overdue"] == department(start_figures, "psb")["overdue"] + 1
    assert figures["open_by_sla"]["red"] == start_figures["open_by_sla"]["red"] + 1


async def test_inbox_counts_down_the_working_days_left(
    api: httpx.AsyncClient, env: WorkflowEnvironment, worker: Worker
) -> None:
    """Staff read how many working days a task has left; a day later it must show less."""
    _, app, monday = await start_on_a_plain_monday(env, worker.task_queue, "company_setup")
    psb = await as_user(api, "psb")
    first = await task_of(api, psb, app.application_no)
    assert first["working_days_left"] > 2  # two working days from Monday 10:00

    # Tuesday 16:00, before any card: about 1.2 working days remain until Wednesday 17:30.
    await skip_to(env, at(monday + timedelta(days=1), 16))
    later = await task_of(api, psb, app.application_no)
    assert later["working_days_left"] < 1.5, (first["working_days_left"], later)


async def test_supervisor_extends_a_task_before_its_deadline_but_not_after(
    api: httpx.AsyncClient, env: WorkflowEnvironment
) -> None:
    receipt = await submit(api)
    number = receipt["application_no"]
    supervisor = await as_user(api, SUPERVISOR)
    seal = await task_for(api, "psb", number)
    promised = when((await status(api, number, receipt["query_code"]))["promised_deadline"])
    response = await api.post(
        f"/api/supervision/tasks/{seal['id']}/extension",
        headers=supervisor,
        json={"working_days": 2, "reason": "需公安部门实地核查"},
    )
    assert response.status_code == 200, response.text
    extended = response.json()
    assert when(extended["deadline"]) > when(seal["deadline"])
    assert (await task_for(api, "psb", number))["deadline"] == extended["deadline"]
    assert when((await status(api, number, receipt["query_code"]))["promised_deadline"]) > promised
    event = (await timeline(api, number))[-1]
    assert (event["kind"], event["actor"], event["payload"]["working_days"]) == (
        "extended",
        "电子监察员",
        2,
    )
    before = await overview(api)

    # Through the API the real calendar applies: six weeks are past any deadline, even the
    # legal one (15 working days).
    await skip_to(env, await env.get_current_time() + timedelta(weeks=6))

    async def serious() -> None:
        [row] = [
            a for a in await supervised(api, sla_level="serious") if a["application_no"] == number
        ]
        assert row["overdue_steps"] == ["invoice", "registration", "seal"]

    await eventually(serious)
    late = await api.post(
        f"/api/supervision/tasks/{seal['id']}/extension",
        headers=supervisor,
        json={"working_days": 1, "reason": "逾期后申请延期"},
    )
    body = late.json()
    assert late.status_code == 409, late.text
    assert body["error"] == "conflict" and "已超过办理期限" in body["message"]

    figures = await overview(api)
    assert figures["open_by_sla"]["serious"] == before["open_by_sla"]["serious"] + 1
    for code in COMPANY_SETUP_DEPARTMENTS:
        assert department(figures, code)["overdue"] == department(before, code)["overdue"] + 1

    # Finishing late: done, but neither the steps nor the matter count as on time.
    await approve_all(api, number, COMPANY_SETUP_DEPARTMENTS)
    done = await overview(api)
    for code in COMPANY_SETUP_DEPARTMENTS:
        now_dept, was = department(done, code), department(figures, code)
        assert (now_dept["completed"], now_dept["on_time"]) == (
            was["completed"] + 1,
            was["on_time"],
        )
    assert (done["completed"], done["completed_on_time"]) == (
        figures["completed"] + 1,
        figures["completed_on_time"],
    )
    s = await status(api, number, receipt["query_code"])
    assert s["state"] == "granted" and s["sla_level"] == "serious"  # a card never goes down


async def test_the_window_refuses_an_online_application_and_records_corrections_brought_in(
    api: httpx.AsyncClient,
) -> None:
    clerk = await as_user(api, CLERK)
    # An online application the window refuses (不予受理): the applicant is told why.
    refused = await submit(api, accept=False)
    response = await api.post(
        f"/api/window/applications/{refused['application_no']}/refuse",
        headers=clerk,
        json={"reason": "申请事项不属于本中心办理范围"},
    )
    assert response.status_code == 200, response.text
    seen = await status(api, refused["application_no"], refused["query_code"])
    assert seen["state"] == "not_accepted"
    assert seen["outcome_reason"] == "申请事项不属于本中心办理范围"

    # Another one: the applicant brings the missing material to the window in person.
    receipt = await submit(api)
    number = receipt["application_no"]
    asked = await decide(
        api,
        "psb",
        number,
        {"decision": "request_supplement", "items": ["印章样式"], "reason": "缺少印章样式"},
    )
    assert asked.status_code == 200
    brought = await api.post(
        f"/api/window/applications/{number}/supplements",
        headers=clerk,
        json={"items": [{"item": "印章样式", "source": "paper", "note": "窗口收取原件"}]},
    )
    assert brought.status_code == 200, brought.text
    assert brought.json()["state"] == "in_progress" and brought.json()["correction"] is None
    event = (await timeline(api, number))[-1]
    assert (event["kind"], event["actor_role"]) == ("correction_supplied", "clerk")


async def test_the_api_reference_is_served_without_any_cdn(api: httpx.AsyncClient) -> None:
    page = await api.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text and "/static/swagger-ui/swagger-ui-bundle.js" in page.text
    script = await api.get("/static/swagger-ui/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.content) > 100_000
    assert (await api.get("/openapi.json")).json()["info"]["title"] == "Tongban 通办"


async def test_a_department_requests_an_extension_and_the_supervisor_approves(
    api: httpx.AsyncClient,
) -> None:
    receipt = await submit(api)
    number = receipt["application_no"]
    seal = await task_for(api, "psb", number)
    psb, supervisor = await as_user(api, "psb"), await as_user(api, SUPERVISOR)
    asked = await api.post(
        f"/api/tasks/{seal['id']}/extension-request",
        headers=psb,
        json={"working_days": 2, "reason": "需实地核查"},
    )
    assert asked.status_code == 200, asked.text
    assert asked.json()["extension_request"]["working_days"] == 2
    pending = (await api.get("/api/supervision/extension-requests", headers=supervisor)).json()
    assert seal["id"] in {t["id"] for t in pending}
    # Another department cannot ask for this task, nor can the supervisor list be read by staff.
    foreign = await api.post(
        f"/api/tasks/{seal['id']}/extension-request",
        headers=await as_user(api, "amr"),
        json={"working_days": 1, "reason": "代为申请"},
    )
    assert foreign.status_code == 403
    assert (await api.get("/api/supervision/extension-requests", headers=psb)).status_code == 403

    granted = await api.post(
        f"/api/supervision/tasks/{seal['id']}/extension",
        headers=supervisor,
        json={"working_days": 2, "reason": "同意实地核查"},
    )
    assert granted.status_code == 200, granted.text
    assert granted.json()["extension_request"] is None
    assert when(granted.json()["deadline"]) > when(seal["deadline"])
    pending = (await api.get("/api/supervision/extension-requests", headers=supervisor)).json()
    assert seal["id"] not in {t["id"] for t in pending}
    refused = await api.post(
        f"/api/supervision/tasks/{seal['id']}/extension/refuse",
        headers=supervisor,
        json={"reason": "没有待审批的申请"},
    )
    assert refused.status_code == 409
