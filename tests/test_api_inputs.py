"""Bad input and refused actions: each gets the status a client can act on, names the field or
gives the reason, and leaves nothing behind. Errors are always {"error", "message", "details"}."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from simulation.idle import terminate_when_idle
from tests.api_helpers import (
    CLERK,
    SUPERVISOR,
    Json,
    application_count,
    application_numbers,
    approval,
    as_user,
    code_header,
    company,
    company_setup,
    decide,
    ensure_staff,
    error_body,
    idempotency_row,
    invalid_fields,
    issued_numbers,
    login,
    person,
    property_transfer,
    second_app,
    status,
    submit,
    task_for,
    utility_connection,
)
from tests.engine import running_worker
from tests.factories import credit_code, id_number


def bad_check_digit(value: str, alphabet: str = "0123456789X") -> str:
    return value[:-1] + next(c for c in alphabet if c != value[-1])


def without(body: Json, key: str) -> Json:
    return {k: v for k, v in body.items() if k != key}


def with_form(**changes: str | None) -> Json:
    body = company_setup()
    form = body["form"] | changes
    return body | {"form": {k: v for k, v in form.items() if v is not None}}


def with_materials(*materials: Json, drop: str = "") -> Json:
    body = company_setup()
    kept = [m for m in body["materials"] if m["code"] != drop]
    return body | {"materials": kept + list(materials)}


BAD_CREDIT_CODE = bad_check_digit(credit_code(), "0123456789ABCD")
COMPANY_FORM = company_setup()["form"]

# --- submissions -----------------------------------------------------------------------------

# (what is wrong, the body, the field the 422 must name, a word its reason must contain)
BAD_SUBMISSIONS: list[tuple[str, Callable[[], Json], str, str]] = [
    (
        "id number check digit",
        lambda: company_setup(applicant=person(id_number=bad_check_digit(id_number()))),
        "applicant.id_number",
        "校验位",
    ),
    (
        "id number birth date",
        lambda: company_setup(applicant=person(id_number="340503199002301234")),
        "applicant.id_number",
        "出生日期",
    ),
    (
        "id number born in the future",
        lambda: company_setup(applicant=person(id_number=id_number("20991231"))),
        "applicant.id_number",
        "出生日期",
    ),
    (
        "form id number born in the future",
        lambda: with_form(legal_representative_id=id_number("20991231")),
        "form.legal_representative_id",
        "出生日期",
    ),
    (
        "credit code check character",
        lambda: property_transfer(applicant=company(credit_code=BAD_CREDIT_CODE)),
        "applicant.credit_code",
        "校验位",
    ),
    (
        "both identifiers",
        lambda: property_transfer(applicant=person(credit_code=credit_code())),
        "applicant",
        "二者填一项",
    ),
    (
        "neither identifier",
        lambda: property_transfer(applicant=without(person(), "id_number")),
        "applicant",
        "二者填一项",
    ),
    (
        "bad phone",
        lambda: company_setup(applicant=person(phone="12345")),
        "applicant.phone",
        "格式不正确",
    ),
    (
        "missing name",
        lambda: company_setup(applicant=person(name="")),
        "applicant.name",
        "不能为空",
    ),
    (
        "paper material online",
        lambda: with_materials({"code": "seal_application", "source": "paper", "ref": ""}),
        "materials[4].source",
        "窗口",
    ),
    (
        "missing required form field",
        lambda: with_form(company_name=None),
        "form.company_name",
        "必填",
    ),
    (
        "bad select option",
        lambda: with_form(company_type="无限责任公司"),
        "form.company_type",
        "有限责任公司",
    ),
    (
        "negative number",
        lambda: with_form(registered_capital="-1"),
        "form.registered_capital",
        "负数",
    ),
    (
        "id number in the form",
        lambda: with_form(legal_representative_id=bad_check_digit(id_number())),
        "form.legal_representative_id",
        "校验位",
    ),
    ("unknown form field", lambda: with_form(favourite_colour="红"), "form.favourite_colour", ""),
    (
        "missing required material",
        lambda: with_materials(drop="articles"),
        "materials.articles",
        "公司章程",
    ),
    (
        "licence for a material without licence type",
        lambda: company_setup(
            materials=[
                {"code": "application_form", "source": "licence", "ref": "L-1"},
                *company_setup()["materials"][1:],
            ]
        ),
        "materials[0]",
        "电子证照",
    ),
    (
        "unknown material",
        lambda: with_materials({"code": "horoscope", "source": "upload", "ref": "f"}),
        "materials[4]",
        "horoscope",
    ),
    (
        "upload without file",
        lambda: with_materials({"code": "seal_application", "source": "upload", "ref": ""}),
        "materials[4]",
        "ref",
    ),
    (
        "sharing for a material sharing cannot provide",
        lambda: with_materials({"code": "seal_application", "source": "sharing"}),
        "materials[4]",
        "数据共享",
    ),
    (
        "express delivery without address",
        lambda: company_setup(delivery="express"),
        "delivery_address",
        "地址",
    ),
    ("window channel online", lambda: company_setup(channel="window"), "channel", "综合窗口"),
    (
        "channel the matter does not offer",
        lambda: utility_connection(channel="mobile"),
        "channel",
        "掌上",
    ),
    (
        "company applying for a person-only matter",
        lambda: company_setup(applicant=company()),
        "applicant",
        "个人",
    ),
    (
        "person applying for a company-only matter",
        lambda: utility_connection(applicant=person()),
        "applicant",
        "企业",
    ),
]


@pytest.mark.parametrize(
    ("build", "field", "reason_word"),
    [case[1:] for case in BAD_SUBMISSIONS],
    ids=[case[0] for case in BAD_SUBMISSIONS],
)
async def test_bad_submission_names_the_field_and_writes_nothing(
    api: httpx.AsyncClient,
    engine: AsyncEngine,
    build: Callable[[], Json],
    field: str,
    reason_word: str,
) -> None:
    before = await application_count(engine)
    key = f"bad-{uuid.uuid4()}"
    response = await api.post("/api/applications", json=build(), headers={"Idempotency-Key": key})
    fields = invalid_fields(response)
    assert field in fields, fields
    assert reason_word in fields[field]
    assert await application_count(engine) == before
    assert await idempotency_row(engine, key) is None


async def test_unknown_material_source_names_the_material(api: httpx.AsyncClient) -> None:
    body = with_materials({"code": "seal_application", "source": "carrier pigeon"})
    fields = invalid_fields(await api.post("/api/applications", json=body))
    # Pydantic spells the place "materials.4.source", the matter checks "materials[4]".
    assert [f for f in fields if f.startswith("materials") and "4" in f], fields


async def test_valid_bodies_of_the_table_are_accepted(api: httpx.AsyncClient) -> None:
    """The builders above start from bodies that are accepted as they are."""
    for body in (company_setup(), property_transfer(), utility_connection()):
        assert (await submit(api, body))["state"] == "accepted"
    # Both kinds may apply for this one; a company proves who it is by its own papers.
    body = property_transfer(applicant=company())
    body["materials"] = [
        {"code": "applicant_id", "source": "upload", "ref": "file-13"}
        if m["code"] == "applicant_id"
        else m
        for m in body["materials"]
    ]
    sent = body
    assert (await submit(api, sent))["matter_code"] == "property_transfer"


async def test_unknown_matter_is_404(api: httpx.AsyncClient, engine: AsyncEngine) -> None:
    before = await application_count(engine)
    response = await api.post("/api/applications", json=company_setup(matter_code="moon_landing"))
    assert error_body(response, 404)["error"] == "not_found"
    assert "moon_landing" in response.json()["message"]
    assert error_body(await api.get("/api/matters/moon_landing"), 404)["error"] == "not_found"
    window = await api.post(
        "/api/window/applications",
        headers=await as_user(api, CLERK),
        json=company_setup(matter_code="moon_landing", decision="refuse", reason="无此事项"),
    )
    error_body(window, 404)
    assert await application_count(engine) == before


async def test_malformed_bodies_are_422(api: httpx.AsyncClient) -> None:
    not_json = await api.post(
        "/api/applications", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert error_body(not_json, 422)["error"] == "invalid_input"
    missing = await api.post("/api/applications", json={"matter_code": "company_setup"})
    assert "applicant" in invalid_fields(missing)
    wrong_delivery = await api.post("/api/applications", json=company_setup(delivery="pigeon"))
    assert "delivery" in invalid_fields(wrong_delivery)


async def test_window_refusal_needs_a_reason(api: httpx.AsyncClient, engine: AsyncEngine) -> None:
    before = await application_count(engine)
    response = await api.post(
        "/api/window/applications",
        headers=await as_user(api, CLERK),
        json=company_setup(decision="refuse", reason="  "),
    )
    assert "reason" in invalid_fields(response)
    assert await application_count(engine) == before


async def test_window_acceptance_checks_like_the_public_endpoint(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/api/window/applications",
        headers=await as_user(api, CLERK),
        json=company_setup(applicant=person(id_number=bad_check_digit(id_number()))),
    )
    assert "applicant.id_number" in invalid_fields(response)


async def test_the_forms_problems_are_told_with_a_bad_identifiers(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """一次性告知: an ID number whose check digit is wrong is refused by the body's model,
    before the matter's checks run; the matter's form fields are checked all the same and
    told in the same answer, online and at the window, not in a second round."""
    before = await application_count(engine)
    body = company_setup(applicant=person(id_number=bad_check_digit(id_number())))
    body["form"] |= {"registered_capital": "一百万", "company_type": "合伙"}
    del body["form"]["address"]
    online = invalid_fields(await api.post("/api/applications", json=body))
    clerk = await as_user(api, CLERK)
    window = invalid_fields(await api.post("/api/window/applications", json=body, headers=clerk))
    for fields in (online, window):
        assert "校验位" in fields["applicant.id_number"]
        assert fields["form.registered_capital"] == "应为数字"
        assert fields["form.address"] == "必填"
        assert fields["form.company_type"].startswith("应为以下之一")
    # A refusal checks no form; a body naming no matter has none to check.
    refusal = body | {"decision": "refuse", "reason": "材料不齐全"}
    refused = invalid_fields(
        await api.post("/api/window/applications", json=refusal, headers=clerk)
    )
    assert not [f for f in refused if f.startswith("form.")]
    nowhere = invalid_fields(await api.post("/api/applications", json=body | {"matter_code": "x"}))
    assert "applicant.id_number" in nowhere and not [f for f in nowhere if f.startswith("form.")]
    assert await application_count(engine) == before


async def test_an_unparsable_body_is_422(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/api/applications", content=b"\x12\xff", headers={"Content-Type": "application/json"}
    )
    assert invalid_fields(response) == {"body": "无法解析请求内容"}


# (what is out of range, method, path, who, query, headers, body, the field the 422 names)
OUT_OF_RANGE: list[tuple[str, str, str, str | None, Json, Json, Json | None, str]] = [
    (
        "task id past the integer column",
        "GET",
        "/api/tasks/2147483648",
        "amr",
        {},
        {},
        None,
        "task_id",
    ),
    ("task id zero", "POST", "/api/tasks/0/claim", "amr", {}, {}, None, "task_id"),
    (
        "offset past the database's integer",
        "GET",
        "/api/tasks",
        "amr",
        {"offset": "9223372036854775808"},
        {},
        None,
        "offset",
    ),
    (
        "limit zero",
        "GET",
        "/api/supervision/applications",
        SUPERVISOR,
        {"limit": "0"},
        {},
        None,
        "limit",
    ),
    ("unknown card", "GET", "/api/tasks", "amr", {"sla_level": "purple"}, {}, None, "sla_level[0]"),
    (
        "department that is no code",
        "GET",
        "/api/supervision/applications",
        SUPERVISOR,
        {"department": "AMR; DROP"},
        {},
        None,
        "department",
    ),
    (
        "idempotency key too long",
        "POST",
        "/api/applications",
        None,
        {},
        {"Idempotency-Key": "k" * 201},
        company_setup(),
        "Idempotency-Key",
    ),
    (
        "form text too long",
        "POST",
        "/api/applications",
        None,
        {},
        {},
        with_form(business_scope="经" * 2001),
        "form.business_scope",
    ),
    (
        "form number too large",
        "POST",
        "/api/applications",
        None,
        {},
        {},
        company_setup(form=COMPANY_FORM | {"registered_capital": 1e300}),
        "form.registered_capital",
    ),
    (
        "too many form fields",
        "POST",
        "/api/applications",
        None,
        {},
        {},
        company_setup(form={f"f{i}": "x" for i in range(101)}),
        "form",
    ),
    ("password longer than any", "POST", "/api/auth/token", None, {}, {}, None, "password"),
]


@pytest.mark.parametrize(
    ("method", "path", "user", "query", "headers", "body", "field"),
    [case[1:] for case in OUT_OF_RANGE],
    ids=[case[0] for case in OUT_OF_RANGE],
)
async def test_out_of_range_input_is_422_never_500(
    api: httpx.AsyncClient,
    method: str,
    path: str,
    user: str | None,
    query: Json,
    headers: Json,
    body: Json | None,
    field: str,
) -> None:
    sent = headers | (await as_user(api, user) if user else {})
    if path == "/api/auth/token":
        response = await api.post(path, data={"username": "amr", "password": "x" * 1025})
    else:
        response = await api.request(method, path, params=query, headers=sent, json=body)
    assert field in invalid_fields(response)


# --- department decisions --------------------------------------------------------------------

# (what is wrong, the decision body given the amr task, the fields the 422 must name)
BAD_DECISIONS: list[tuple[str, Callable[[Json], Json], set[str]]] = [
    (
        "approve without result",
        lambda task: {"decision": "approve"},
        {"result.credit_code", "result.licence_no"},
    ),
    (
        "approve missing one result field",
        lambda task: {"decision": "approve", "result": {"licence_no": "L-1"}},
        {"result.credit_code"},
    ),
    (
        "approve with a bad credit code",
        lambda task: (
            approval(task) | {"result": approval(task)["result"] | {"credit_code": BAD_CREDIT_CODE}}
        ),
        {"result.credit_code"},
    ),
    (
        "approve with an unknown result field",
        lambda task: approval(task) | {"result": approval(task)["result"] | {"bribe": "100"}},
        {"result.bribe"},
    ),
    ("reject without reason", lambda task: {"decision": "reject"}, {"reason"}),
    ("reject with a blank reason", lambda task: {"decision": "reject", "reason": "  "}, {"reason"}),
    (
        "supplement without items",
        lambda task: {"decision": "request_supplement", "reason": "材料不全"},
        {"items"},
    ),
    (
        "supplement with blank items",
        lambda task: {"decision": "request_supplement", "items": [" "], "reason": "材料不全"},
        {"items"},
    ),
    (
        "supplement without reason",
        lambda task: {"decision": "request_supplement", "items": ["章程"]},
        {"reason"},
    ),
    ("unknown decision", lambda task: {"decision": "maybe"}, {"decision"}),
]


@pytest.mark.parametrize(
    ("build", "fields"),
    [case[1:] for case in BAD_DECISIONS],
    ids=[case[0] for case in BAD_DECISIONS],
)
async def test_bad_decision_names_the_field_and_changes_nothing(
    api: httpx.AsyncClient, build: Callable[[Json], Json], fields: set[str]
) -> None:
    receipt = await submit(api)
    task = await task_for(api, "amr", receipt["application_no"])
    response = await api.post(
        f"/api/tasks/{task['id']}/decision", headers=await as_user(api, "amr"), json=build(task)
    )
    assert set(invalid_fields(response)) == fields
    s = await status(api, receipt["application_no"], receipt["query_code"])
    assert s["state"] == "accepted" and s["steps"][0]["state"] == "open"


async def test_identifiers_in_results_are_stored_as_printed(api: httpx.AsyncClient) -> None:
    """A credit code typed in lower case is still the code printed on the licence (upper
    case), as the application form's identifiers are stored."""
    receipt = await submit(api)
    number = receipt["application_no"]
    code = credit_code()
    registration = {"credit_code": f" {code.lower()} ", "licence_no": "340500000012345"}
    approved = await decide(api, "amr", number, {"decision": "approve", "result": registration})
    assert approved.status_code == 200, approved.text
    for department in ("psb", "tax"):
        assert (await decide(api, department, number)).status_code == 200
    s = await status(api, number, receipt["query_code"])
    assert s["steps"][0]["result"]["credit_code"] == code


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"working_days": 0, "reason": "需实地核查"}, "working_days"),
        ({"working_days": 61, "reason": "需实地核查"}, "working_days"),
        ({"working_days": 1, "reason": ""}, "reason"),
        ({"reason": "需实地核查"}, "working_days"),
    ],
    ids=["zero days", "too many days", "no reason", "no days"],
)
async def test_bad_extension_names_the_field(
    api: httpx.AsyncClient, body: Json, field: str
) -> None:
    receipt = await submit(api)
    task = await task_for(api, "psb", receipt["application_no"])
    response = await api.post(
        f"/api/supervision/tasks/{task['id']}/extension",
        headers=await as_user(api, SUPERVISOR),
        json=body,
    )
    assert field in invalid_fields(response)
    assert (await task_for(api, "psb", receipt["application_no"]))["deadline"] == task["deadline"]


async def test_supplements_need_items(api: httpx.AsyncClient) -> None:
    receipt = await submit(api)
    response = await api.post(
        f"/api/applications/{receipt['application_no']}/supplements",
        headers=code_header(receipt["query_code"]),
        json={"items": []},
    )
    assert "items" in invalid_fields(response)


# --- actions the workflow refuses: 409 with the reason ---------------------------------------


def conflict_message(response: httpx.Response) -> str:
    body = error_body(response, 409)
    assert body["error"] == "conflict"
    return str(body["message"])


async def test_claiming_a_task_claimed_by_someone_else(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await ensure_staff(sessions, "amr2", "amr")
    colleague = await login(api, "amr2")
    receipt = await submit(api)
    task = await task_for(api, "amr", receipt["application_no"])
    assert (await api.post(f"/api/tasks/{task['id']}/claim", headers=colleague)).status_code == 200

    amr = await as_user(api, "amr")
    claim = await api.post(f"/api/tasks/{task['id']}/claim", headers=amr)
    assert "amr第二审批员" in conflict_message(claim) and "签收" in claim.json()["message"]
    release = await api.post(f"/api/tasks/{task['id']}/release", headers=amr)
    assert "只有签收人或监督管理人员可以退回" in conflict_message(release)
    decision = await api.post(f"/api/tasks/{task['id']}/decision", headers=amr, json=approval(task))
    assert "amr第二审批员" in conflict_message(decision)
    again = await api.post(f"/api/tasks/{task['id']}/claim", headers=colleague)
    assert conflict_message(again) == "您已签收该环节"
    s = await status(api, receipt["application_no"], receipt["query_code"])
    assert s["steps"][0]["state"] == "claimed"


async def test_releasing_an_unclaimed_task(api: httpx.AsyncClient) -> None:
    receipt = await submit(api)
    task = await task_for(api, "amr", receipt["application_no"])
    response = await api.post(f"/api/tasks/{task['id']}/release", headers=await as_user(api, "amr"))
    assert "未被签收" in conflict_message(response)


async def test_approving_twice(api: httpx.AsyncClient) -> None:
    receipt = await submit(api)
    task = await task_for(api, "amr", receipt["application_no"])
    amr = await as_user(api, "amr")
    url = f"/api/tasks/{task['id']}/decision"
    assert (await api.post(url, headers=amr, json=approval(task))).status_code == 200
    twice = await api.post(url, headers=amr, json=approval(task))
    assert "已通过" in conflict_message(twice)
    reject = await api.post(url, headers=amr, json={"decision": "reject", "reason": "改主意了"})
    assert "已通过" in conflict_message(reject)


async def test_acting_on_a_closed_application(api: httpx.AsyncClient) -> None:
    receipt = await submit(api)
    number, code = receipt["application_no"], receipt["query_code"]
    psb_task = await task_for(api, "psb", number)
    refused = await decide(api, "tax", number, {"decision": "reject", "reason": "存在欠税"})
    assert refused.status_code == 200
    late = await api.post(
        f"/api/tasks/{psb_task['id']}/decision",
        headers=await as_user(api, "psb"),
        json=approval(psb_task),
    )
    assert "不予许可" in conflict_message(late)
    withdraw = await api.post(
        f"/api/applications/{number}/withdraw", headers=code_header(code), json={}
    )
    assert "不能再办理" in conflict_message(withdraw)
    extension = await api.post(
        f"/api/supervision/tasks/{psb_task['id']}/extension",
        headers=await as_user(api, SUPERVISOR),
        json={"working_days": 1, "reason": "需实地核查"},
    )
    assert "不能再办理" in conflict_message(extension)


async def test_withdrawing_twice(api: httpx.AsyncClient) -> None:
    receipt = await submit(api)
    url = f"/api/applications/{receipt['application_no']}/withdraw"
    headers = code_header(receipt["query_code"])
    assert (await api.post(url, headers=headers, json={})).status_code == 200
    assert "已撤回" in conflict_message(await api.post(url, headers=headers, json={}))


async def test_supplying_without_or_against_the_notice(api: httpx.AsyncClient) -> None:
    receipt = await submit(api)
    number, code = receipt["application_no"], receipt["query_code"]
    url = f"/api/applications/{number}/supplements"
    nothing_asked = await api.post(
        url, headers=code_header(code), json={"items": [{"item": "章程"}]}
    )
    assert "没有需要补正" in conflict_message(nothing_asked)

    asked = await decide(
        api,
        "amr",
        number,
        {"decision": "request_supplement", "items": ["章程", "住所证明"], "reason": "未签字"},
    )
    assert asked.status_code == 200
    # An answer that does not match the notice is bad input, named as such.
    partial = await api.post(url, headers=code_header(code), json={"items": [{"item": "章程"}]})
    assert "还缺：住所证明" in invalid_fields(partial)["items"]
    extra = await api.post(
        url,
        headers=code_header(code),
        json={"items": [{"item": "章程"}, {"item": "住所证明"}, {"item": "自拍"}]},
    )
    assert "自拍" in invalid_fields(extra)["items"]
    assert (await status(api, number, code))["state"] == "correction"


async def test_extension_beyond_the_matters_cap(api: httpx.AsyncClient) -> None:
    receipt = await submit(api)
    task = await task_for(api, "psb", receipt["application_no"])
    url = f"/api/supervision/tasks/{task['id']}/extension"
    supervisor = await as_user(api, SUPERVISOR)
    too_long = await api.post(url, headers=supervisor, json={"working_days": 6, "reason": "核查"})
    assert "最多5个工作日" in conflict_message(too_long)
    ok = await api.post(url, headers=supervisor, json={"working_days": 4, "reason": "核查"})
    assert ok.status_code == 200
    rest = await api.post(url, headers=supervisor, json={"working_days": 2, "reason": "再核查"})
    assert "尚可延期1个" in conflict_message(rest)


async def test_extending_a_step_still_waiting(api: httpx.AsyncClient) -> None:
    receipt = await submit(api, property_transfer())
    supervisor = await as_user(api, SUPERVISOR)
    waiting = await api.get(
        "/api/tasks",
        headers=supervisor,
        params={
            "state": "waiting",
            "department": "realty",
            "application_no": receipt["application_no"],
        },
    )
    [task] = [t for t in waiting.json() if t["application_no"] == receipt["application_no"]]
    response = await api.post(
        f"/api/supervision/tasks/{task['id']}/extension",
        headers=supervisor,
        json={"working_days": 1, "reason": "需实地核查"},
    )
    assert "等待前置环节" in conflict_message(response)


# --- unknown things: 404 ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "user", "body"),
    [
        ("GET", "/api/tasks/987654321", "amr", None),
        ("POST", "/api/tasks/987654321/claim", "amr", None),
        ("POST", "/api/tasks/987654321/release", "amr", None),
        ("POST", "/api/tasks/987654321/decision", "amr", {"decision": "reject", "reason": "无"}),
        ("GET", "/api/tasks/987654321", SUPERVISOR, None),
        (
            "POST",
            "/api/supervision/tasks/987654321/extension",
            SUPERVISOR,
            {"working_days": 1, "reason": "需核查"},
        ),
        ("GET", "/api/supervision/applications/34050019990101000001/timeline", SUPERVISOR, None),
        ("GET", "/api/no/such/route", None, None),
    ],
)
async def test_unknown_things_are_404(
    api: httpx.AsyncClient, method: str, path: str, user: str | None, body: Json | None
) -> None:
    headers = await as_user(api, user) if user else {}
    response = await api.request(method, path, headers=headers, json=body)
    assert error_body(response, 404)["error"] == "not_found"


async def test_wrong_method_is_405_with_the_error_shape(api: httpx.AsyncClient) -> None:
    response = await api.delete("/api/matters")
    assert error_body(response, 405)["error"] == "method_not_allowed"


async def test_unknown_task_id_in_the_path_must_be_a_number(api: httpx.AsyncClient) -> None:
    response = await api.get("/api/tasks/abc", headers=await as_user(api, "amr"))
    assert "task_id" in invalid_fields(response)


# --- idempotent submission -------------------------------------------------------------------


async def test_retrying_with_the_same_key_returns_the_same_application(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    before = await application_numbers(engine)
    body = company_setup()
    key = f"retry-{uuid.uuid4()}"
    first = await submit(api, body, idempotency_key=key)
    second = await submit(api, body, idempotency_key=key)
    assert (second["application_no"], second["query_code"]) == (
        first["application_no"],
        first["query_code"],
    )
    assert await application_numbers(engine) - before == {first["application_no"]}
    assert (await status(api, first["application_no"], second["query_code"]))["state"] == "accepted"
    # The code is derived again, not kept: a copy of the database holds none.
    row = await idempotency_row(engine, key)
    assert row is not None and first["query_code"] not in str(tuple(row))

    other = await api.post(
        "/api/applications",
        json=company_setup(form=body["form"] | {"company_name": "另一家公司"}),
        headers={"Idempotency-Key": key},
    )
    assert "Idempotency-Key" in invalid_fields(other)
    assert await application_numbers(engine) - before == {first["application_no"]}

    # Without a key, the same body is a second application.
    third = await submit(api, body)
    assert third["application_no"] != first["application_no"]


async def test_a_retry_after_a_closed_application_still_returns_it(
    api: httpx.AsyncClient,
) -> None:
    body, key = company_setup(), f"retry-{uuid.uuid4()}"
    first = await submit(api, body, idempotency_key=key)
    withdrawn = await api.post(
        f"/api/applications/{first['application_no']}/withdraw",
        headers=code_header(first["query_code"]),
        json={},
    )
    assert withdrawn.status_code == 200
    again = await api.post("/api/applications", json=body, headers={"Idempotency-Key": key})
    assert again.status_code == 201, again.text
    assert again.json()["application_no"] == first["application_no"]
    assert again.json()["state"] == "withdrawn"


async def test_a_retried_window_refusal_is_recorded_once(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """The clerk's screen retries a refusal with the same Idempotency-Key (a double click, a
    lost answer): one refusal on record, one number, not two."""
    before = await application_numbers(engine)
    body = company_setup(decision="refuse", reason="材料明显不符合法定形式")
    key = f"refuse-{uuid.uuid4()}"
    clerk = await as_user(api, CLERK)
    answers = [
        await api.post(
            "/api/window/applications", json=body, headers=clerk | {"Idempotency-Key": key}
        )
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [200, 200]
    numbers = {a.json()["application_no"] for a in answers}
    assert len(numbers) == 1, numbers
    assert await application_numbers(engine) - before == numbers


# --- the engine out of reach: 503, nothing half-written --------------------------------------


async def test_unreachable_engine_is_503_and_leaves_nothing(
    api: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    existing = await submit(api)
    before = await application_numbers(engine)
    key = f"down-{uuid.uuid4()}"
    body = company_setup()
    async with second_app(
        engine,
        data_dir=tmp_path,
        temporal_address="127.0.0.1:1",
        temporal_task_queue=f"nowhere-{uuid.uuid4()}",
        action_timeout_seconds=0.5,
    ) as (_, down):
        response = await down.post("/api/applications", json=body, headers={"Idempotency-Key": key})
        assert error_body(response, 503)["error"] == "engine_unavailable"
        assert int(response.headers["Retry-After"]) > 0
        assert await application_numbers(engine) == before
        assert await idempotency_row(engine, key) is None

        # Reads go on: the catalogue, an applicant's status; readiness says why not ready.
        assert (await down.get("/api/matters")).status_code == 200
        polled = await down.get(
            f"/api/applications/{existing['application_no']}",
            headers=code_header(existing["query_code"]),
        )
        assert polled.status_code == 200 and polled.json()["state"] == "accepted"
        ready = await down.get("/readyz")
        assert ready.status_code == 503 and "Retry-After" in ready.headers
        assert ready.json()["checks"] == {"database": True, "temporal": False}

        # An action needs the engine too.
        withdraw = await down.post(
            f"/api/applications/{existing['application_no']}/withdraw",
            headers=code_header(existing["query_code"]),
            json={},
        )
        assert error_body(withdraw, 503)["error"] == "engine_unavailable"
        assert "Retry-After" in withdraw.headers

    # Once the engine is back, the same retry goes through.
    retried = await submit(api, body, idempotency_key=key)
    assert await application_numbers(engine) - before == {retried["application_no"]}


async def test_a_retry_after_a_busy_engine_does_not_duplicate_the_application(
    api: httpx.AsyncClient,
    env: WorkflowEnvironment,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    """The engine took the submission but did not answer in time (its workers were away):
    the 503 says "重复提交不会重复办理", so the retry with the same key must find that
    application, not start a second one that nobody holds a query code for."""
    queue = f"busy-{uuid.uuid4()}"
    issued_before = await issued_numbers(engine)
    body, key = company_setup(), f"busy-{uuid.uuid4()}"
    config: dict[str, Any] = {"data_dir": tmp_path, "temporal_task_queue": queue}
    try:
        async with second_app(
            engine, temporal_client=env.client, action_timeout_seconds=0.5, **config
        ) as (_, busy):
            response = await busy.post(
                "/api/applications", json=body, headers={"Idempotency-Key": key}
            )
            assert error_body(response, 503)["error"] == "engine_unavailable"
            assert "重复提交不会重复办理" in response.json()["message"]
            assert response.headers["Retry-After"] == "10"

        # The workers are back; the applicant retries as told.
        async with running_worker(env, sessions, queue):
            try:
                async with second_app(
                    engine, temporal_client=env.client, action_timeout_seconds=10, **config
                ) as (_, recovered):
                    retried = await recovered.post(
                        "/api/applications", json=body, headers={"Idempotency-Key": key}
                    )
                assert retried.status_code == 201, retried.text
                issued = await issued_numbers(engine) - issued_before
                started = sorted([no for no in issued if await _workflow_exists(env, no)])
                assert started == [retried.json()["application_no"]]
            finally:
                await _terminate(env, await issued_numbers(engine) - issued_before)
    finally:
        await _terminate(env, await issued_numbers(engine) - issued_before)


async def _workflow_exists(env: WorkflowEnvironment, workflow_id: str) -> bool:
    try:
        await env.client.get_workflow_handle(workflow_id).describe()
    except RPCError:
        return False
    return True


async def _terminate(env: WorkflowEnvironment, workflow_ids: set[str]) -> None:
    for workflow_id in workflow_ids:
        with contextlib.suppress(RPCError):
            await terminate_when_idle(env.client.get_workflow_handle(workflow_id))


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "field"),
    [
        ("GET", "/api/applications/340500%00", {}, "application_no"),
        ("GET", "/api/licences/L-1/verify", {"params": {"type": "a\x00"}}, "type"),
        (
            "POST",
            "/api/applications",
            {"json": company_setup(applicant=person(name="张\x00三"))},
            "applicant.name",
        ),
        ("POST", "/api/auth/token", {"data": {"username": "amr\x00", "password": "x"}}, "username"),
    ],
    ids=["path", "query", "json body", "form body"],
)
async def test_a_nul_character_is_refused_before_anything_reads_it(
    api: httpx.AsyncClient, engine: AsyncEngine, method: str, path: str, kwargs: Json, field: str
) -> None:
    """PostgreSQL cannot store NUL: refused up front (422), never a 500 or a stuck workflow."""
    before = await application_count(engine)
    response = await api.request(method, path, **kwargs)
    assert invalid_fields(response) == {field: "含有不允许的控制字符（NUL）"}
    assert await application_count(engine) == before


async def test_a_nul_in_a_page_form_is_refused_too(api: httpx.AsyncClient) -> None:
    from tests.page_helpers import csrf

    token = await csrf(api, "/status")
    response = await api.post("/status", data={"number": "1\x00", "code": "X", "csrf": token})
    assert response.status_code == 422 and "NUL" in response.text


@pytest.mark.parametrize("path", ["/licences/L-1?type=a%00", "/?q=%00", "/workbench?state=%00"])
async def test_a_nul_in_a_page_query_is_refused_too(api: httpx.AsyncClient, path: str) -> None:
    """Pages read their query strings themselves: every parameter is checked, so none can
    reach PostgreSQL with a NUL (a 500 there)."""
    response = await api.get(path)
    assert response.status_code == 422 and "NUL" in response.text
