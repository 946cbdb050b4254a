"""A licence belongs to the application that issued it: another application of the same
number and content neither counts it as its own nor revokes it; a revoked one is never
reported issued again; a licence handed in for a material owed (容缺) is checked as at
submission; identifiers are ASCII digits only."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api_helpers import (
    CLERK,
    as_user,
    code_header,
    company_setup,
    invalid_fields,
    property_transfer,
    status,
    submit,
    task_for,
)
from tests.factories import id_number
from tests.test_api_pledges import tax_commitment
from tests.timeline import eventually


async def _licences(api: httpx.AsyncClient, receipt: dict[str, Any]) -> list[dict[str, Any]]:
    async def decided() -> list[dict[str, Any]]:
        seen = await status(api, receipt["application_no"], receipt["query_code"])
        assert seen["licences"], seen
        return list(seen["licences"])

    return await eventually(decided)


async def _verify(api: httpx.AsyncClient, receipt: dict[str, Any], passed: bool) -> None:
    task = await task_for(api, "tax", receipt["application_no"])
    verdict = {"passed": passed, "findings": "核查无误" if passed else "与承诺不符"}
    answer = await api.post(
        f"/api/tasks/{task['id']}/verification", headers=await as_user(api, "tax"), json=verdict
    )
    assert answer.status_code == 200, answer.text


async def test_another_application_of_the_same_licence_neither_owns_nor_revokes_it(
    api: httpx.AsyncClient,
) -> None:
    """清税证明 is numbered by the taxpayer: a second application the same day issues the
    same number. It is not the second's (refused), so undoing the second's decision leaves
    the first's licence valid."""
    body = tax_commitment()
    first, second = await submit(api, body), await submit(api, body)
    [mine], [theirs] = await _licences(api, first), await _licences(api, second)
    assert mine["number"] == theirs["number"]
    assert mine["issued"] and not theirs["issued"]
    await _verify(api, second, passed=False)

    async def revoked() -> None:
        seen = await status(api, second["application_no"], second["query_code"])
        assert seen["state"] == "revoked", seen["state"]

    await eventually(revoked)
    shown = await api.get(f"/api/licences/{mine['number']}/verify", params={"type": mine["type"]})
    assert shown.json()["status"] == "valid"


async def test_a_revoked_licence_is_not_reported_issued_to_a_new_application(
    api: httpx.AsyncClient,
) -> None:
    body = tax_commitment()
    first = await submit(api, body)
    await _licences(api, first)
    await _verify(api, first, passed=False)

    async def revoked() -> None:
        seen = await status(api, first["application_no"], first["query_code"])
        assert seen["revocation"] and seen["revocation"]["licences_revoked"], seen

    await eventually(revoked)
    [again] = await _licences(api, await submit(api, body))
    assert not again["issued"]


async def test_a_licence_handed_in_for_a_material_owed_is_checked_as_at_submission(
    api: httpx.AsyncClient,
) -> None:
    body = company_setup(tolerance={"missing": ["premises_proof"], "signed": True})
    body["materials"] = [m for m in body["materials"] if m["code"] != "premises_proof"]
    accepted = await api.post(
        "/api/window/applications", headers=await as_user(api, CLERK), json=body
    )
    assert accepted.status_code == 201, accepted.text
    number, code = accepted.json()["application_no"], accepted.json()["query_code"]
    url = f"/api/applications/{number}/missing-materials"
    for source, ref, why in (
        ("licence", "NO-SUCH-LICENCE-123", "没有编号为"),
        ("sharing", "共享交换平台", "须上传"),
    ):
        handed = {"materials": [{"code": "premises_proof", "source": source, "ref": ref}]}
        refused = await api.post(url, headers=code_header(code), json=handed)
        problems = invalid_fields(refused)
        assert why in (problems.get("materials[0].ref") or problems["materials[0].source"])


async def test_an_identifier_in_other_digits_is_refused_by_its_field(
    api: httpx.AsyncClient,
) -> None:
    """Fullwidth or superscript digits: a 422 naming the field (a superscript one was a 500;
    a fullwidth one was accepted, and the certificate issued to it found by no look-up)."""
    plain = id_number("19900101", "321")
    wide = "".join(chr(ord(c) + 0xFEE0) for c in plain[:17]) + plain[17]
    for buyer in (wide, "²" + plain[1:]):
        body = property_transfer()
        body["form"]["buyer_id"] = buyer
        refused = await api.post("/api/applications", json=body)
        assert "身份证号码" in invalid_fields(refused)["form.buyer_id"]
