"""The licence library through the API: verification, materials it replaces (免提交) and the
refusals of licences that cannot, staff look-ups on the audit trail, revocation."""

from __future__ import annotations

import io
import logging
import uuid
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.services.materials import _same_name
from observability.logs import PrivacyFilter
from store.models import AuditRow, MaterialRow
from tests.api_helpers import (
    CLERK,
    SUPERVISOR,
    approval,
    as_user,
    company,
    company_setup,
    decide,
    error_body,
    invalid_fields,
    person,
    property_transfer,
    status,
    submit,
    task_for,
    utility_connection,
)
from tests.conftest import client_of
from tests.factories import id_number
from tests.licence_helpers import (
    APPLICANT_ID,
    SELLER_ID,
    issue_licences,
    record,
    title_certificate,
    transfer_of_own_title,
)
from tests.page_helpers import sign_in

Json = dict[str, Any]


def without(body: Json, code: str) -> Json:
    return body | {"materials": [m for m in body["materials"] if m["code"] != code]}


def with_licence(body: Json, code: str, ref: str = "") -> Json:
    kept = without(body, code)["materials"]
    return body | {"materials": [*kept, {"code": code, "source": "licence", "ref": ref}]}


async def _materials(engine: AsyncEngine, number: str) -> dict[str, MaterialRow]:
    async with AsyncSession(engine) as session:
        rows = await session.scalars(
            select(MaterialRow).where(MaterialRow.application_no == number)
        )
        return {r.code: r for r in rows}


# --- verification (what a licence's QR code opens) ------------------------------------------


async def test_anyone_can_verify_a_licence_and_sees_a_persons_name_masked(
    api: httpx.AsyncClient,
) -> None:
    response = await api.get("/api/licences/ID-340503/verify")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {
        "number",
        "type",
        "type_name",
        "holder_name",
        "holder_kind",
        "issuer",
        "issued_on",
        "valid_until",
        "status",
    }
    assert (body["type"], body["type_name"], body["holder_name"], body["status"]) == (
        "resident_id_card",
        "居民身份证",
        "张*",
        "valid",
    )
    assert body["holder_kind"] == "person"
    company = (await api.get("/api/licences/L-1/verify")).json()
    assert company["holder_name"] == "马鞍山示例有限公司"  # an organisation's name is public
    assert company["holder_kind"] == "organisation"
    error_body(await api.get("/api/licences/NO-SUCH-LICENCE/verify"), 404)
    page = await api.get("/licences/ID-340503")
    assert page.status_code == 200 and "真实有效" in page.text and "张*" in page.text
    assert "姓名已部分隐藏" in page.text
    # A company's name is shown in full, and the page does not say otherwise.
    assert "姓名已部分隐藏" not in (await api.get("/licences/L-1")).text


# --- licences replace materials -------------------------------------------------------------


async def test_a_licence_the_applicant_holds_replaces_the_material_unasked(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    receipt = await submit(api, without(company_setup(), "investor_id"))
    materials = await _materials(engine, receipt["application_no"])
    investor = materials["investor_id"]
    assert (investor.source, investor.ref, investor.verified) == ("licence", "ID-340503", True)
    assert len(investor.digest) == 64
    # Named without a number, the same.
    receipt = await submit(api, with_licence(company_setup(), "investor_id"))
    assert (await _materials(engine, receipt["application_no"]))["investor_id"].ref == "ID-340503"
    # The department sees where it came from.
    task = await task_for(api, "amr", receipt["application_no"])
    detail = await api.get(f"/api/tasks/{task['id']}", headers=await as_user(api, "amr"))
    shown = {m["code"]: m for m in detail.json()["materials"]}["investor_id"]
    assert shown["source"] == "licence" and shown["ref"] == "ID-340503"


async def _refused(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], kind: str
) -> str:
    someone = id_number("19800101", "777")
    if kind == "unknown":
        ref = "NO-SUCH-ID"
    elif kind == "someone else's":
        other = record("resident_id_card", someone, "赵六", name="赵六", id_number=someone)
        await issue_licences(sessions, [other])
        ref = other.number
    else:
        licence = record(
            "resident_id_card",
            APPLICANT_ID,
            name="张三",
            id_number=APPLICANT_ID,
            valid_until=date(2021, 1, 1) if kind == "expired" else None,
        )
        await issue_licences(sessions, [licence])
        ref = licence.number
        if kind == "revoked":
            revoked = await api.post(
                f"/api/licences/resident_id_card/{ref}/revoke",
                headers=await as_user(api, SUPERVISOR),
                json={"reason": "证件遗失补办，原证注销"},
            )
            assert revoked.status_code == 200, revoked.text
    response = await api.post(
        "/api/applications", json=with_licence(company_setup(), "investor_id", ref)
    )
    return invalid_fields(response)["materials.investor_id"]


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("unknown", "没有编号"),
        ("revoked", "已注销"),
        ("expired", "已过期"),
        ("someone else's", "持有人不是本申请的申请人"),
    ],
)
async def test_a_licence_that_cannot_replace_the_material_is_refused_by_name(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], kind: str, words: str
) -> None:
    assert words in await _refused(api, sessions, kind)


async def test_a_required_material_with_neither_licence_nor_file_is_refused_by_name(
    api: httpx.AsyncClient,
) -> None:
    stranger = person(id_number=id_number("19700101", "555"))  # holds no licence
    body = without(company_setup(applicant=stranger), "investor_id")
    fields = invalid_fields(await api.post("/api/applications", json=body))
    assert "居民身份证" in fields["materials.investor_id"]
    fields = invalid_fields(await api.post("/api/applications", json=without(body, "articles")))
    assert "公司章程" in fields["materials.articles"]


async def test_only_verified_resolutions_count_as_not_asked(api: httpx.AsyncClient) -> None:
    boss = await as_user(api, SUPERVISOR)
    before = (await api.get("/api/supervision/overview", headers=boss)).json()
    await submit(api)  # one licence (the investor's ID), three uploads
    after = (await api.get("/api/supervision/overview", headers=boss)).json()
    assert after["materials_not_asked"] - before["materials_not_asked"] == 1
    assert after["materials_total"] - before["materials_total"] == 4


# --- staff look-ups, on the audit trail ------------------------------------------------------


async def _audit(engine: AsyncEngine, subject: str) -> list[AuditRow]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(AuditRow).where(AuditRow.subject == subject).order_by(AuditRow.id)
        )
        return list(rows.all())  # type: ignore[arg-type]


async def test_staff_look_ups_need_a_reason_and_are_recorded(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    holder = id_number("19660606", "606")
    clerk = await as_user(api, CLERK)
    refused = await api.get("/api/licences", headers=clerk, params={"holder_id": holder})
    assert "reason" in invalid_fields(refused)
    found = await api.get(
        "/api/licences", headers=clerk, params={"holder_id": holder, "reason": "窗口核验身份"}
    )
    assert found.status_code == 200 and found.json() == []
    [entry] = await _audit(engine, holder)
    assert (entry.action, entry.actor_name) == ("licence.lookup", "综合窗口受理员")
    assert entry.detail["reason"] == "窗口核验身份"
    assert (await api.get("/api/licences", params={"holder_id": holder})).status_code == 401


async def test_a_department_looks_up_only_the_applicants_of_its_own_applications(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    number = (await submit(api))["application_no"]
    amr, realty = await as_user(api, "amr"), await as_user(api, "realty")
    ask = {"holder_id": APPLICANT_ID, "application_no": number}
    assert "application_no" in invalid_fields(
        await api.get("/api/licences", headers=amr, params={"holder_id": APPLICANT_ID})
    )
    error_body(await api.get("/api/licences", headers=realty, params=ask), 403)
    stranger = {"holder_id": id_number("19700101", "555"), "application_no": number}
    error_body(await api.get("/api/licences", headers=amr, params=stranger), 403)
    found = await api.get("/api/licences", headers=amr, params=ask)
    assert found.status_code == 200, found.text
    assert "ID-340503" in {x["number"] for x in found.json()}
    entries = [e for e in await _audit(engine, APPLICANT_ID) if e.application_no == number]
    assert [e.actor_role for e in entries] == ["staff"]


async def _grant_transfer(api: httpx.AsyncClient, receipt: Json) -> Json:
    """Approved by the three departments, the new certificate numbered by the application;
    the applicant's status after."""
    number = receipt["application_no"]
    for department in ("housing", "tax"):
        assert (await decide(api, department, number)).status_code == 200
    task = await task_for(api, "realty", number)
    new = {"certificate_no": f"皖(2026)马鞍山市不动产权第{number}号"}
    decided = await decide(api, "realty", number, approval(task) | {"result": new})
    assert decided.status_code == 200, decided.text
    return await status(api, number, receipt["query_code"])


async def test_a_transfer_replaces_the_sellers_certificate_which_cannot_be_sold_again(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    """换发: the buyer's certificate issued revokes the seller's in the same transaction; a
    second transfer citing it is refused, and one accepted before the first was granted
    gets no certificate (supervisors are told) rather than a second valid one."""
    body, title = await transfer_of_own_title(sessions)
    twice = await submit(api, body)  # accepted while the seller's is still valid
    granted = await _grant_transfer(api, await submit(api, body))
    [buyers] = granted["licences"]
    assert buyers["issued"] and buyers["number"].endswith(f"{granted['application_no']}号")
    assert buyers["replaced"] == title
    sellers = (await api.get(f"/api/licences/{title}/verify")).json()
    assert sellers["status"] == "revoked"
    [entry] = [
        e
        for e in await _audit(engine, SELLER_ID)
        if e.action == "licence.supersede" and e.application_no == granted["application_no"]
    ]
    assert entry.detail["number"] == title

    again = await api.post("/api/applications", json=body)
    assert "已注销" in invalid_fields(again)["materials.title_certificate"]
    # Nor as a copy, nor left out: the library says the unit's certificate was replaced.
    copy = {"code": "title_certificate", "source": "upload", "ref": "file-14"}
    copied = body | {"materials": [*without(body, "title_certificate")["materials"], copy]}
    for refused in (copied, without(body, "title_certificate")):
        problem = invalid_fields(await api.post("/api/applications", json=refused))
        assert f"{title} 已注销：已换发" in problem["materials.title_certificate"]

    [none] = (await _grant_transfer(api, twice))["licences"]
    assert not none["issued"] and "已于" in none["problem"] and none["replaced"] is None
    left = f"皖(2026)马鞍山市不动产权第{twice['application_no']}号"
    assert (await api.get(f"/api/licences/{left}/verify")).status_code == 404  # not left behind


async def test_the_sellers_certificate_is_the_one_of_the_unit_transferred(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    """`matches`: of the seller's certificates, the one whose 不动产单元号 is the form's. One
    of another unit is refused; left out, or handed in as a copy, the right one is pinned
    (not his newest), so the grant replaces the certificate of the unit sold."""
    body, _ = await transfer_of_own_title(sessions)
    seller = id_number("19560505", "565")  # a seller of his own: his newest is known
    unit = f"340503001001GB00001F{uuid.uuid4().int % 10**8:08d}"
    sold = title_certificate(unit_no=unit, issued_on=date(2015, 3, 2), holder_id=seller)
    other = unit[:-1] + "X"
    newer = title_certificate(unit_no=other, issued_on=date(2022, 3, 2), holder_id=seller)
    await issue_licences(sessions, [sold, newer])
    body["form"] |= {"seller_id": seller, "unit_no": unit}

    def citing(source: str, ref: str = "") -> Json:
        title = {"code": "title_certificate", "source": source, "ref": ref}
        return body | {"materials": [*without(body, "title_certificate")["materials"], title]}

    refused = await api.post("/api/applications", json=citing("licence", newer.number))
    problem = invalid_fields(refused)["materials.title_certificate"]
    assert f"登记的不是申请表所填的 {unit}" in problem
    for given in (without(body, "title_certificate"), citing("upload", "file-13")):
        number = (await submit(api, given, accept=False))["application_no"]
        title = (await _materials(engine, number))["title_certificate"]
        assert (title.source, title.ref, title.verified) == ("licence", sold.number, True)


async def test_the_window_does_not_accept_on_a_licence_revoked_since_submission(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The licences an application pinned are checked again when the window accepts it:
    days may pass between, and the seller's certificate may be revoked meanwhile."""
    body, title = await transfer_of_own_title(sessions)
    receipt = await submit(api, body, accept=False)
    number = receipt["application_no"]
    boss = await as_user(api, SUPERVISOR)
    revoked = await api.post(
        f"/api/licences/realty_certificate/{title}/revoke", headers=boss,
        json={"reason": "查封登记，予以注销"},
    )  # fmt: skip
    assert revoked.status_code == 200, revoked.text
    clerk = await as_user(api, CLERK)
    refused = await api.post(f"/api/window/applications/{number}/accept", headers=clerk, json={})
    message = error_body(refused, 409)["message"]
    assert f"不动产权证书 {title} 已注销：查封登记，予以注销" in message
    assert "不予受理" in message  # a correction cannot pin another licence
    assert (await status(api, number, receipt["query_code"]))["state"] == "received"


async def test_only_supervisors_revoke_and_a_revocation_is_recorded_once(
    api: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    licence = record("resident_id_card", APPLICANT_ID, name="张三", id_number=APPLICANT_ID)
    await issue_licences(sessions, [licence])
    path = f"/api/licences/resident_id_card/{licence.number}/revoke"
    reason = {"reason": "信息有误，予以注销"}
    error_body(await api.post(path, headers=await as_user(api, CLERK), json=reason), 403)
    boss = await as_user(api, SUPERVISOR)
    first = await api.post(path, headers=boss, json=reason)
    assert first.status_code == 200 and first.json()["status"] == "revoked"
    error_body(await api.post(path, headers=boss, json=reason), 409)
    verified = await api.get(f"/api/licences/{licence.number}/verify")
    assert verified.json()["status"] == "revoked"


async def test_a_department_opens_the_licence_a_material_came_from_on_the_record(
    api: httpx.AsyncClient, api_app: FastAPI, engine: AsyncEngine
) -> None:
    number = (await submit(api))["application_no"]
    task = await task_for(api, "amr", number)
    async with client_of(api_app) as browser:
        await sign_in(browser, "amr")
        page = await browser.get(f"/workbench/tasks/{task['id']}")
        assert f"/workbench/tasks/{task['id']}/licences/investor_id" in page.text
        opened = await browser.get(f"/workbench/tasks/{task['id']}/licences/investor_id")
    assert opened.status_code == 200
    assert "居民身份证" in opened.text and "与申请时调取的一致" in opened.text
    entries = [e for e in await _audit(engine, APPLICANT_ID) if e.application_no == number]
    assert [e.action for e in entries] == ["licence.view"]


def test_logs_never_show_an_identifier_or_a_mobile_number_unmasked() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(PrivacyFilter())
    log = logging.getLogger("tongban.test.privacy")
    log.addHandler(handler)
    try:
        log.warning("GET /api/licences?holder_id=%s 200", APPLICANT_ID)
        log.warning("sms to 13905550001 for 91340500MA2TB0001W, application 34050020261128000001")
    finally:
        log.removeHandler(handler)
    text = out.getvalue()
    assert APPLICANT_ID not in text and "13905550001" not in text
    assert "91340500MA2TB0001W" not in text
    assert "139****0001" in text and "34050020261128000001" in text  # numbers stay readable


async def test_a_licence_found_for_the_applicant_must_be_in_the_applicant_s_name(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """A company's credit code typed with another company's name: its business licence (and
    its planning permit) are not taken as the applicant's papers. The name on record is not
    shown."""
    body = utility_connection(applicant=company(name="马鞍山长江建设有限公司"))
    response = await api.post("/api/applications", json=body)
    assert invalid_fields(response) == {
        "applicant.name": "与营业执照登记的名称不一致，请核对申请人名称和证件号码"
    }
    assert "马鞍山示例有限公司" not in response.text
    # The same, found by the credit code alone (not named): refused too.
    unnamed = without(without(body, "business_licence"), "site_plan")
    assert "applicant.name" in invalid_fields(await api.post("/api/applications", json=unnamed))
    # Spaces, the width of letters and brackets, the form of a 间隔号 are no difference.
    same = utility_connection(applicant=company(name=" 马鞍山示例有限公司 "))
    assert (await api.post("/api/applications", json=same)).status_code == 201


async def test_guessing_the_name_that_goes_with_an_identifier_is_throttled(
    api: httpx.AsyncClient, api_app: FastAPI
) -> None:
    """A refusal for a name that is not the licence's tells a guess is wrong: anonymous
    submissions refused so are counted per identifier and client, and then refused (429)."""
    allowed = api_app.state.services.submissions.allowed
    body = utility_connection(applicant=company(name="猜测的名称有限公司"))
    for _ in range(allowed):
        assert (await api.post("/api/applications", json=body)).status_code == 422
    refused = await api.post("/api/applications", json=body)
    assert error_body(refused, 429)["error"] and int(refused.headers["Retry-After"]) > 0
    # Even with the right name, for a while: nothing is learnt from the answer.
    right = utility_connection(applicant=company())
    assert (await api.post("/api/applications", json=right)).status_code == 429


async def test_guessing_whose_a_certificate_is_is_throttled(
    api: httpx.AsyncClient, api_app: FastAPI
) -> None:
    """A refusal about a licence held or not tells whose a certificate is, or whether an ID
    number owns property: anonymous submissions refused so are counted as failed guesses
    too, even while another problem (the price) keeps any from being stored."""
    allowed = api_app.state.services.submissions.allowed
    form = property_transfer()["form"] | {"price": "abc"}
    for n in range(allowed):
        guess = form | {"seller_id": id_number("19600101", f"{n:03d}")}
        refused = await api.post("/api/applications", json=property_transfer(form=guess))
        assert "materials.title_certificate" in invalid_fields(refused)
    right = await api.post("/api/applications", json=property_transfer(form=form))
    assert error_body(right, 429)["error"] == "too_many_requests"


@pytest.mark.parametrize(
    ("typed", "on_record"),
    [
        ("阿卜杜•热合曼", "阿卜杜·热合曼"),  # the 间隔号 as a phone keyboard types it
        ("ＡＢＣ科技（有限合伙）", "ABC科技(有限合伙)"),  # full width
        ("abc 科技", "ABC科技"),  # case and spaces
    ],
)
def test_a_name_is_the_same_whatever_the_keyboard(typed: str, on_record: str) -> None:
    assert _same_name(typed, on_record)
    assert not _same_name("张三", "张四")
