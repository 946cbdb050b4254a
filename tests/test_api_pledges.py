"""容缺受理 and 告知承诺制 through the API: the window accepts with a material missing only as
the matter allows and when the commitment is signed; the applicant hands it in online; a
matter without 告知承诺 refuses the choice; verification answers 409 where none runs."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from api.services import supervision
from store.models import AuditRow, EventRow, RatingRow
from tests.api_helpers import (
    CLERK,
    SUPERVISOR,
    as_user,
    code_header,
    company,
    company_setup,
    hand_over,
    invalid_fields,
    status,
    submit,
    task_for,
    task_of,
)
from tests.factories import credit_code
from tests.timeline import eventually, skip_to


def _without_premises(**overrides: object) -> dict[str, Any]:
    body = company_setup(**overrides)
    body["materials"] = [m for m in body["materials"] if m["code"] != "premises_proof"]
    return body


async def test_the_window_accepts_with_the_premises_proof_missing_and_it_is_handed_in_online(
    api: httpx.AsyncClient,
) -> None:
    clerk = await as_user(api, CLERK)
    url = "/api/window/applications"
    unsigned = _without_premises(tolerance={"missing": ["premises_proof"], "signed": False})
    assert (
        "容缺承诺书"
        in invalid_fields(await api.post(url, headers=clerk, json=unsigned))["tolerance.signed"]
    )
    articles = _without_premises(tolerance={"missing": ["articles"], "signed": True})
    assert (
        "公司章程不能容缺"
        in invalid_fields(await api.post(url, headers=clerk, json=articles))["tolerance.missing"]
    )
    signed = _without_premises(tolerance={"missing": ["premises_proof"], "signed": True})
    accepted = await api.post(url, headers=clerk, json=signed)
    assert accepted.status_code == 201, accepted.text
    number, code = accepted.json()["application_no"], accepted.json()["query_code"]

    supply = f"/api/applications/{number}/missing-materials"
    paper = {"materials": [{"code": "premises_proof", "source": "paper"}]}
    refused = await api.post(supply, headers=code_header(code), json=paper)
    assert "纸质材料只能在窗口提交" in invalid_fields(refused)["materials[0].source"]
    upload = {"materials": [{"code": "premises_proof", "source": "upload", "ref": "file-9"}]}
    done = await api.post(supply, headers=code_header(code), json=upload)
    assert done.status_code == 200, done.text
    again = await api.post(supply, headers=code_header(code), json=upload)
    assert again.status_code == 409 and "没有待补齐的容缺材料" in again.json()["message"]


async def test_a_matter_without_the_commitment_refuses_it_and_verification_needs_one(
    api: httpx.AsyncClient,
) -> None:
    chosen = await api.post("/api/applications", json=company_setup(commitment_signed=True))
    assert "不适用告知承诺制" in invalid_fields(chosen)["commitment_signed"]
    number = (await submit(api))["application_no"]
    task = await task_for(api, "amr", number)
    verdict = {"passed": False, "findings": "与承诺不符"}
    answer = await api.post(
        f"/api/tasks/{task['id']}/verification", headers=await as_user(api, "amr"), json=verdict
    )
    assert answer.status_code == 409 and "没有进行中的承诺核查" in answer.json()["message"]
    clerk = await api.post(
        f"/api/tasks/{task['id']}/verification", headers=await as_user(api, CLERK), json=verdict
    )
    assert clerk.status_code == 403


def tax_commitment() -> dict[str, Any]:
    """清税注销（承诺制）, chosen with the commitment signed, by a taxpayer of its own (the
    certificate is numbered by the credit code: one clearance each)."""
    org = company(credit_code=credit_code(f"9134050{uuid.uuid4().int % 10**10:010d}"))
    return {
        "matter_code": "tax_deregistration_commitment",
        "applicant": org,
        "form": {
            "taxpayer_name": org["name"],
            "taxpayer_credit_code": org["credit_code"],
            "reason": "解散",
        },
        "materials": [
            {"code": "deregistration_form", "source": "upload", "ref": "upload:form.pdf"},
            {"code": "business_licence", "source": "upload", "ref": "upload:licence.pdf"},
        ],
        "commitment_signed": True,
    }


async def test_a_clearance_at_once_is_only_for_the_applicants_own_credit_code(
    api: httpx.AsyncClient,
) -> None:
    """Issued at once, without a person looking, a certificate for the credit code typed in
    the form would be another company's (and would block that company's own clearance)."""
    body = tax_commitment()
    other = credit_code(f"9134050{uuid.uuid4().int % 10**10:010d}")
    body["form"]["taxpayer_credit_code"] = other
    refused = await api.post("/api/applications", json=body)
    assert (
        invalid_fields(refused)["form.taxpayer_credit_code"] == "须为申请人本人的统一社会信用代码"
    )
    body["form"]["taxpayer_credit_code"] = other[:-1] + ("0" if other[-1] != "0" else "1")
    wrong_digit = invalid_fields(await api.post("/api/applications", json=body))
    assert "校验位错误" in wrong_digit["form.taxpayer_credit_code"]  # the first problem stays

    body["form"]["taxpayer_credit_code"] = body["applicant"]["credit_code"].lower()
    receipt = await submit(api, body)
    granted = await status(api, receipt["application_no"], receipt["query_code"])
    [licence] = granted["licences"]
    assert licence["issued"] and licence["number"] == body["applicant"]["credit_code"]


async def test_an_overdue_verification_is_overdue_work_in_the_inbox_and_the_figures(
    api: httpx.AsyncClient, env: WorkflowEnvironment
) -> None:
    """A step decided on a commitment is owed its verification (核查): once that is past its
    deadline the department's inbox shows it red, and the overview counts it overdue."""
    boss = await as_user(api, SUPERVISOR)

    async def tax_figures() -> dict[str, Any]:
        overview = (await api.get("/api/supervision/overview", headers=boss)).json()
        [tax] = [d for d in overview["departments"] if d["department"] == "tax"]
        return dict(tax)

    receipt = await submit(api, tax_commitment())
    number = receipt["application_no"]
    before = await tax_figures()
    # Six weeks: past the ten working days of any calendar.
    await skip_to(env, await env.get_current_time() + timedelta(weeks=6))
    tax = await as_user(api, "tax")

    async def red() -> None:
        task = await task_of(api, tax, number, sla_level="red")
        assert task["state"] == "verifying"

    await eventually(red)
    after = await tax_figures()
    assert after["overdue"] == before["overdue"] + 1
    assert after["open_by_card"]["red"] == before["open_by_card"].get("red", 0) + 1
    # The figure's drill-down lists it, granted as it is (no state asked: the work owed).
    listed = await api.get(
        "/api/supervision/applications",
        headers=boss,
        params={"department": "tax", "sla_level": "red", "limit": 500},
    )
    [row] = [a for a in listed.json() if a["application_no"] == number]
    assert row["state"] == "granted" and row["sla_level"] == "red"


async def test_a_commitment_is_granted_at_once_then_fails_its_verification_and_is_revoked(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    guide = (await api.get("/api/matters/tax_deregistration_commitment")).json()
    assert "已结清应纳税款" in guide["commitment"]["text"]
    assert guide["commitment"]["verification_days"] == 10

    body = tax_commitment()
    receipt = await submit(api, body)  # online, then the window accepts
    number, code = receipt["application_no"], receipt["query_code"]
    granted = await status(api, number, code)
    assert granted["state"] == "granted" and granted["on_commitment"] is True
    [pending] = granted["verifications"]
    assert (pending["step_code"], pending["outcome"], pending["outcome_label"]) == (
        "clearance",
        "pending",
        "核查中",
    )
    assert pending["due"] and pending["sla_level"] == "green"
    [licence] = granted["licences"]
    assert licence["issued"] and not licence["revoked"]

    task = await task_for(api, "tax", number)
    assert task["state"] == "verifying" and task["verification"]["outcome"] == "pending"
    assert task["verification"]["due"] == pending["due"]
    verdict = {"passed": False, "findings": "经核查尚有未缴销的发票"}
    answer = await api.post(
        f"/api/tasks/{task['id']}/verification", headers=await as_user(api, "tax"), json=verdict
    )
    assert answer.status_code == 200, answer.text
    verified = answer.json()
    assert verified["verification"]["outcome"] == "failed"
    assert verified["verification"]["findings"] == "经核查尚有未缴销的发票"
    assert verified["revocation"]["state"] == "revoked"

    async def revoked() -> dict[str, Any]:
        seen = await status(api, number, code)
        assert seen["revocation"] and seen["revocation"]["licences_revoked"], seen
        return seen

    done = await eventually(revoked)
    assert (done["state"], done["state_label"]) == ("revoked", "已撤销")
    assert done["revocation"]["reason"] == "清税核查发现与承诺不符：经核查尚有未缴销的发票"
    assert [x["number"] for x in done["revocation"]["licences"]] == [licence["number"]]
    assert done["licences"][0]["revoked"] is True
    assert done["verifications"][0]["outcome"] == "failed"

    shown = await api.get(
        f"/api/licences/{licence['number']}/verify", params={"type": licence["type"]}
    )
    assert shown.status_code == 200 and shown.json()["status"] == "revoked"
    # Revoked by the workflow: on the audit trail as a staff member's revocation is.
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(AuditRow).where(
                    AuditRow.application_no == number, AuditRow.action == "licence.revoke"
                )
            )
        ).all()
    [entry] = rows
    assert (entry.actor_role, entry.subject) == ("system", body["applicant"]["credit_code"])
    assert entry.detail["number"] == licence["number"]
    assert entry.detail["reason"] == done["revocation"]["reason"]
    assert entry.detail["decided_by"] == done["revocation"]["by"] != "系统"


async def test_a_rating_while_the_commitment_is_verified_keeps_its_place_on_the_trail(
    api: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """The workflow watches a decision on a commitment until it is verified, numbering its
    own events. A rating and its follow-up written beside it took the number the workflow
    gave its next event, which the projection then wrote over them: they are recorded by the
    workflow while it watches, each once, and their rows say what the trail says."""
    receipt = await submit(api, tax_commitment())
    number, code = receipt["application_no"], receipt["query_code"]
    await hand_over(api, number)
    rating = {"level": "dissatisfied", "reason": "材料要求没有一次说清"}
    rated = await api.post(
        f"/api/applications/{number}/rating", headers=code_header(code), json=rating
    )
    assert rated.status_code == 200, rated.text
    again = await api.post(
        f"/api/applications/{number}/rating", headers=code_header(code), json=rating
    )
    assert again.status_code == 409
    boss = await as_user(api, SUPERVISOR)
    followed = await api.post(
        f"/api/supervision/reviews/{number}/follow-up", headers=boss, json={"note": "已电话回访"}
    )
    assert followed.status_code == 204, followed.text

    task = await task_for(api, "tax", number)
    verdict = {"passed": True, "findings": "已结清"}
    answer = await api.post(
        f"/api/tasks/{task['id']}/verification", headers=await as_user(api, "tax"), json=verdict
    )
    assert answer.status_code == 200, answer.text

    async with engine.connect() as conn:
        trail = (
            await conn.execute(
                select(EventRow.seq, EventRow.kind, EventRow.payload)
                .where(EventRow.application_no == number)
                .order_by(EventRow.seq)
            )
        ).all()
        row = (
            await conn.execute(select(RatingRow).where(RatingRow.application_no == number))
        ).one()
    kinds = [kind for _, kind, _ in trail]
    assert [s for s, _, _ in trail] == list(range(1, len(trail) + 1))
    for kind in ("rated", "review_followed_up", "verification_passed"):
        assert kinds.count(kind) == 1, kinds
    assert (
        kinds.index("rated")
        < kinds.index("review_followed_up")
        < kinds.index("verification_passed")
    )
    [payload] = [p for _, kind, p in trail if kind == "rated"]
    assert payload["reason"] == row.reason == rating["reason"]
    assert row.follow_up_note == "已电话回访"


@pytest.mark.parametrize("by_number", [True, False], ids=["by_number", "by_subquery"])
async def test_a_grant_still_being_verified_is_listed_until_it_is_verified(
    api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, by_number: bool
) -> None:
    """Unless states are asked for, the list holds the open applications and those still
    being verified: named by number, or past a few thousand by a subquery."""
    if not by_number:
        monkeypatch.setattr(supervision, "_NUMBERS_AT_MOST", 0)
    boss = await as_user(api, SUPERVISOR)

    async def listed() -> set[str]:
        params: dict[str, str | int] = {"matter": "tax_deregistration_commitment", "limit": 500}
        rows = await api.get("/api/supervision/applications", headers=boss, params=params)
        assert rows.status_code == 200, rows.text
        return {a["application_no"] for a in rows.json()}

    number = (await submit(api, tax_commitment()))["application_no"]
    assert number in await listed()
    task = await task_for(api, "tax", number)
    verdict = {"passed": True, "findings": "已结清"}
    answer = await api.post(
        f"/api/tasks/{task['id']}/verification", headers=await as_user(api, "tax"), json=verdict
    )
    assert answer.status_code == 200, answer.text
    assert number not in await listed()
