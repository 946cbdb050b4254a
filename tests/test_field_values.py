"""One field type, one JSON shape: a `number` is a JSON number in forms and results alike."""

from __future__ import annotations

import httpx
import pytest

from domain.fields import clean_fields, fields_problems
from domain.matter import FieldSpec, FieldType
from tests.api_helpers import (
    COMPANY_SETUP_FORM,
    as_user,
    company_setup,
    invalid_fields,
    status,
    submit,
    task_for,
)

AMOUNT = FieldSpec(code="amount", label="金额", type=FieldType.number)
NAME = FieldSpec(code="name", label="名称")


@pytest.mark.parametrize(
    ("value", "problem", "stored"),
    [
        (12, None, 12),
        (12.5, None, 12.5),
        ("12", None, 12),  # digits from an HTML form
        ("12.50", None, 12.5),
        (12.0, None, 12),
        (-1, "不能为负数", None),
        ("十二", "应为数字", None),
        (True, "应为数字", None),
        (float("nan"), "应为数字", None),
    ],
)
def test_a_number_field(value: object, problem: str | None, stored: object) -> None:
    assert fields_problems([AMOUNT], {"amount": value}).get("amount") == problem
    if problem is None:
        cleaned = clean_fields([AMOUNT], {"amount": value})["amount"]
        assert cleaned == stored and type(cleaned) is type(stored)


def test_a_text_field_takes_text_only() -> None:
    assert fields_problems([NAME], {"name": 12}) == {"name": "应为文字"}
    assert clean_fields([NAME], {"name": "  示例  "}) == {"name": "示例"}


async def test_the_api_takes_json_numbers_for_number_fields_everywhere(
    api: httpx.AsyncClient,
) -> None:
    form = dict(COMPANY_SETUP_FORM) | {"registered_capital": 100}
    receipt = await submit(api, company_setup(form=form))
    number = receipt["application_no"]
    task = await task_for(api, "tax", number)
    response = await api.post(
        f"/api/tasks/{task['id']}/decision",
        headers=await as_user(api, "tax"),
        json={
            "decision": "approve",
            "result": {"invoice_type": "数电发票（普通发票）", "monthly_quota": 10.5},
        },
    )
    assert response.status_code == 200, response.text
    detail = await api.get(f"/api/tasks/{task['id']}", headers=await as_user(api, "tax"))
    assert detail.json()["form"]["registered_capital"] == 100
    assert detail.json()["result"]["monthly_quota"] == 10.5
    seen = await status(api, number, receipt["query_code"])
    assert seen["state"] == "in_progress"


async def test_a_text_field_given_a_number_is_refused_by_name(api: httpx.AsyncClient) -> None:
    form = dict(COMPANY_SETUP_FORM) | {"company_name": 12345}
    response = await api.post("/api/applications", json=company_setup(form=form))
    assert invalid_fields(response) == {"form.company_name": "应为文字"}
