"""数据跑路, end to end on the time-skipping server: a company is set up, its business
licence is issued into the library, and the same company then deregisters its taxes without
uploading the business licence, its form prefilled from it."""

from __future__ import annotations

import uuid
from datetime import date

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.services.prefill import prefill
from api.unified_login import Identity
from definitions.catalogue import default_catalogue
from store.models import MaterialRow
from tests.api_helpers import (
    COMPANY_SETUP_FORM,
    as_user,
    code_header,
    company_setup,
    status,
    submit,
    task_for,
)
from tests.factories import credit_code
from tests.timeline import eventually


async def test_a_company_set_up_here_deregisters_its_taxes_without_bringing_its_licence(
    api: httpx.AsyncClient, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    unique = uuid.uuid4().hex[:8].upper()
    name = f"马鞍山数据跑路{unique}有限公司"
    code = credit_code(f"91340500MA{unique}")
    form = dict(COMPANY_SETUP_FORM) | {"company_name": name}
    setup = await submit(api, company_setup(form=form))
    number = setup["application_no"]
    results = {
        "amr": {"credit_code": code, "licence_no": f"BL-{unique}"},
        "psb": {"seal_record_no": f"SEAL-{unique}"},
        "tax": {"invoice_type": "数电发票（普通发票）"},
    }
    for department, result in results.items():
        task = await task_for(api, department, number)
        decided = await api.post(
            f"/api/tasks/{task['id']}/decision",
            headers=await as_user(api, department),
            json={"decision": "approve", "result": result},
        )
        assert decided.status_code == 200, decided.text

    async def licensed() -> dict[str, object]:
        seen = await status(api, number, setup["query_code"])
        assert seen["state"] == "granted"
        assert [(x["type"], x["issued"]) for x in seen["licences"]] == [
            ("business_licence", True),
            ("seal_record", True),
        ]
        return seen

    await eventually(licensed)
    verified = (await api.get(f"/api/licences/BL-{unique}/verify")).json()
    assert (verified["type_name"], verified["holder_name"], verified["status"]) == (
        "营业执照",
        name,
        "valid",
    )

    # The new company signs in and asks to deregister: 秒填 from its own licence.
    identity = Identity(sub="x", kind="company", name=name, id=code, phone="0555-2345678")
    matter = default_catalogue().matter("tax_deregistration")
    async with sessions() as session:
        filled = await prefill(session, matter=matter, identity=identity, today=date.today())
    assert filled.values["form_taxpayer_name"] == name
    assert filled.values["form_taxpayer_credit_code"] == code
    assert filled.licences["business_licence"].number == f"BL-{unique}"

    body = {
        "matter_code": "tax_deregistration",
        "applicant": {"name": name, "credit_code": code, "phone": "0555-2345678"},
        "form": {
            "taxpayer_name": filled.values["form_taxpayer_name"],
            "taxpayer_credit_code": filled.values["form_taxpayer_credit_code"],
            "reason": "解散",
        },
        # No business licence: the library has it. The agent's ID is brought on paper.
        "materials": [
            {"code": "deregistration_form", "source": "upload", "ref": "upload:form.pdf"},
            {"code": "agent_id", "source": "upload", "ref": "upload:agent.pdf"},
        ],
    }
    receipt = await submit(api, body)
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(MaterialRow).where(
                    MaterialRow.application_no == receipt["application_no"],
                    MaterialRow.code == "business_licence",
                )
            )
        ).one()
    assert (row.source, row.ref, row.verified) == ("licence", f"BL-{unique}", True)
    assert row.digest and len(row.digest) == 64
    seen = await api.get(
        f"/api/applications/{receipt['application_no']}", headers=code_header(receipt["query_code"])
    )
    assert seen.json()["state"] in ("accepted", "in_progress")
