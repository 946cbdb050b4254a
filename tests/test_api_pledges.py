"""容缺受理 and 告知承诺制 through the API: the window accepts with a material missing only as
the matter allows and when the commitment is signed; the applicant hands it in online; a
matter without 告知承诺 refuses the choice; verification answers 409 where none runs."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api_helpers import (
    CLERK,
    as_user,
    code_header,
    company_setup,
    invalid_fields,
    submit,
    task_for,
)


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
