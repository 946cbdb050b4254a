"""告知承诺制 through the pages, as people use them: the applicant applies online choosing the
commitment (本人承诺), the window accepts, the decision and the certificate come at once; the
tax bureau's officer finds the commitment broken on the task page; the applicant's status
page, the licence's verify page and the supervisor's page show the decision revoked.
And 容缺受理 at the window: the clerk ticks the material missing and the signed commitment;
the receipt carries the 容缺受理通知书."""

from __future__ import annotations

import re
import uuid

import httpx
from fastapi import FastAPI

from tests.api_helpers import CLERK, COMPANY_SETUP_FORM, SUPERVISOR, company, task_for
from tests.conftest import client_of
from tests.factories import credit_code, id_number
from tests.page_helpers import csrf, flashes, post_form, sign_in
from tests.timeline import eventually

PDF = ("form.pdf", b"%PDF-1.4 test", "application/pdf")


async def test_a_commitment_through_the_pages_granted_then_revoked(
    api: httpx.AsyncClient, api_app: FastAPI
) -> None:
    applicant = api
    page = "/apply/tax_deregistration_commitment"
    form = await applicant.get(page)
    assert "告知承诺制" in form.text and "本人承诺" in form.text
    assert "已结清应纳税款" in form.text and 'name="commitment_signed"' in form.text
    org = company(credit_code=credit_code(f"9134050{uuid.uuid4().int % 10**10:010d}"))
    data = {
        "csrf": await csrf(applicant, page),
        "idempotency_key": uuid.uuid4().hex,
        "applicant_kind": "company",
        "applicant_name": org["name"],
        "identifier": org["credit_code"],
        "phone": org["phone"],
        "form_taxpayer_name": org["name"],
        "form_taxpayer_credit_code": org["credit_code"],
        "form_reason": "解散",
        "delivery": "pickup",
        "commitment_signed": "1",
    }
    files = {"file_deregistration_form": PDF, "file_business_licence": PDF}
    sent = await applicant.post(page, data=data, files=files)
    assert sent.status_code == 303, sent.text
    number = sent.headers["location"].rsplit("/", 1)[1]

    async with (
        client_of(api_app) as clerk,
        client_of(api_app) as officer,
        client_of(api_app) as supervisor,
    ):
        await sign_in(clerk, CLERK)
        review = f"/window/review/{number}"
        accepted = await post_form(clerk, review, review, {"decision": "accept"})
        assert any("已受理" in f for f in flashes(accepted.text)), flashes(accepted.text)

        status = (await applicant.get(f"/status/{number}")).text
        assert "准予" in status or "办结" in status
        assert "告知承诺制" in status and "核查中" in status
        receipt = (await applicant.get(f"/receipt/{number}")).text
        assert "告知承诺制" in receipt and "核查期限" in receipt

        task = await task_for(applicant, "tax", number)
        await sign_in(officer, "tax")
        task_page = f"/workbench/tasks/{task['id']}"
        shown = (await officer.get(task_page)).text
        assert "承诺核查中" in shown and "核查期限" in shown and "核查不符，撤销许可" in shown
        done = await post_form(
            officer,
            task_page,
            f"{task_page}/verification-failed",
            {"findings": "经核查尚有未缴销的发票"},
        )
        assert any("许可决定已撤销" in f for f in flashes(done.text)), flashes(done.text)

        async def revoked() -> str:
            text = (await applicant.get(f"/status/{number}")).text
            assert "已撤销" in text and "已注销" in text, text
            return text

        status = await eventually(revoked)
        assert "经核查尚有未缴销的发票" in status and "核查不符" in status
        link = re.search(r'href="(/licences/[^"]+)"', status)
        assert link, status
        verify = (await applicant.get(link.group(1).replace("&amp;", "&"))).text
        assert "该证照已注销" in verify

        await sign_in(supervisor, SUPERVISOR)
        supervision = (await supervisor.get(f"/supervision/applications/{number}")).text
        assert "承诺核查（告知承诺制）" in supervision and "核查不符" in supervision
        assert "许可决定撤销" in supervision and "已注销" in supervision


async def test_the_window_accepts_with_a_material_missing_and_prints_the_notice(
    api_app: FastAPI,
) -> None:
    async with client_of(api_app) as clerk:
        await sign_in(clerk, CLERK)
        page = "/window/accept/company_setup"
        form = (await clerk.get(page)).text
        assert "申请人已签署容缺承诺书" in form and 'name="missing_premises_proof"' in form
        values = {
            "applicant_kind": "person",
            "applicant_name": "张三",
            "identifier": id_number(),
            "phone": "13912345678",
            "form_company_name": "马鞍山通办科技有限公司",
            "form_company_type": "有限责任公司",
            "form_registered_capital": "100",
            "form_address": "马鞍山市雨山区示例路1号",
            "form_legal_representative": "张三",
            "form_business_scope": "软件开发",
            "delivery": "pickup",
            "missing_premises_proof": "1",
        }
        values["form_legal_representative_id"] = COMPANY_SETUP_FORM["legal_representative_id"]
        definition = api_app.state.services.catalogue.matter("company_setup")
        for m in definition.materials:
            if m.code != "premises_proof" and not m.shared:
                values[f"paper_{m.code}"] = "1"
        unsigned = await clerk.post(
            page, data={**values, "csrf": await csrf(clerk, page), "decision": "accept"}
        )
        assert unsigned.status_code == 422
        refusal = re.search(r'id="tolerance.signed-error">([^<]+)<', unsigned.text)
        assert refusal and "容缺承诺书" in refusal.group(1), unsigned.text  # by its field
        signed = await clerk.post(
            page,
            data={
                **values,
                "tolerance_signed": "1",
                "csrf": await csrf(clerk, page),
                "decision": "accept",
            },
        )
        assert signed.status_code == 303, signed.text
        receipt = (await clerk.get(signed.headers["location"])).text
        assert "容缺受理通知书" in receipt and "住所" in receipt
        assert "窗口登记容缺材料补齐" in receipt
        number = signed.headers["location"].rsplit("/", 1)[1]
        review = f"/window/review/{number}"
        shown = (await clerk.get(review)).text
        assert "窗口收取容缺材料" in shown
        owed = re.search(r'name="(owed_[a-z_]+)"', shown)
        assert owed, shown
        after = await post_form(clerk, review, f"{review}/missing-materials", {owed.group(1): "1"})
        assert any("容缺材料已收取" in f for f in flashes(after.text)), flashes(after.text)
        assert "全部补齐" in after.text
