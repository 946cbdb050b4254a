"""Licences for tests: what the test applicants hold, and issuing more of them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from definitions.catalogue import default_catalogue
from domain.licences import LicenceRecord
from store import licences as library
from tests.api_helpers import property_transfer
from tests.factories import credit_code, id_number

APPLICANT_ID = id_number()  # the person of tests/api_helpers.person()
SELLER_ID = id_number("19750101", "456")  # the seller of api_helpers.property_transfer()
COMPANY_ID = credit_code()  # the company of api_helpers.company()


def record(
    type: str,
    holder_id: str,
    holder_name: str = "张三",
    *,
    number: str | None = None,
    valid_until: date | None = None,
    issued_on: date = date(2020, 1, 2),
    **fields: Any,
) -> LicenceRecord:
    return LicenceRecord(
        type=type,
        number=number or f"T-{type}-{uuid.uuid4().hex[:10]}",
        holder_id=holder_id,
        holder_name=holder_name,
        issuer="测试发证机关",
        issued_on=issued_on,
        valid_until=valid_until,
        fields=fields,
    )


def test_applicants_licences() -> list[LicenceRecord]:
    return [
        record(
            "resident_id_card",
            APPLICANT_ID,
            number="ID-340503",
            name="张三",
            id_number=APPLICANT_ID,
            address="马鞍山市花山区示例路1号",
            valid_until=date(2040, 1, 2),
        ),
        title_certificate("皖(2020)马鞍山市不动产权第1号"),
        record(
            "business_licence",
            COMPANY_ID,
            "马鞍山示例有限公司",
            number="L-1",
            company_name="马鞍山示例有限公司",
            credit_code=COMPANY_ID,
            company_type="有限责任公司",
            legal_representative="张三",
            registered_capital=100,
            address="马鞍山市雨山区示例路1号",
            business_scope="软件开发",
        ),
        record(
            "planning_permit",
            COMPANY_ID,
            "马鞍山示例有限公司",
            number="建字第340500202600001号",
            project_name="示例厂房",
            project_address="马鞍山市经开区示例路2号",
        ),
    ]


UNIT_NO = "340503001001GB00001F00010001"  # the unit of api_helpers.property_transfer()


def title_certificate(
    number: str | None = None,
    unit_no: str = UNIT_NO,
    issued_on: date = date(2020, 1, 2),
    holder_id: str = SELLER_ID,
) -> LicenceRecord:
    """The seller's certificate of api_helpers.property_transfer() (or of another unit of
    his), under a number of its own: a transfer granted revokes the one it cites (换发)."""
    number = number or f"皖(2026)马鞍山市不动产权第{uuid.uuid4().int % 10**9:09d}号"
    return record(
        "realty_certificate",
        holder_id,
        "王五",
        number=number,
        issued_on=issued_on,
        certificate_no=number,
        property_address="马鞍山市花山区示例小区1栋101室",
        unit_no=unit_no,
        floor_area=89.5,
    )


async def transfer_of_own_title(
    sessions: async_sessionmaker[AsyncSession],
) -> tuple[dict[str, Any], str]:
    """A property transfer of a unit of its own, citing the seller's certificate of it, and
    its number: one that is granted leaves the shared certificate of the other tests valid."""
    unit = f"340503001001GB00001F{uuid.uuid4().int % 10**8:08d}"
    title = title_certificate(unit_no=unit)
    await issue_licences(sessions, [title])
    body = property_transfer()
    body["form"] = body["form"] | {"unit_no": unit}
    body["materials"] = [
        m | {"ref": title.number} if m["code"] == "title_certificate" else m
        for m in body["materials"]
    ]
    return body, title.number


async def issue_licences(
    sessions: async_sessionmaker[AsyncSession], records: Sequence[LicenceRecord]
) -> None:
    types = default_catalogue().licence_types
    async with sessions() as session, session.begin():
        await library.issue(
            session,
            records=list(records),
            holder_kinds={r.type: types[r.type].holder for r in records},
            now=datetime.now(UTC),
        )
