"""Licences as the domain sees them: status, what may be shown, the content digest, and the
checks of a record against its type."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from definitions.catalogue import default_catalogue
from domain.licences import (
    HolderKind,
    LicenceRecord,
    LicenceStatus,
    clean_record,
    holder_problem,
    licence_digest,
    mask_id,
    mask_name,
    mask_phone,
    record_problems,
    status_on,
)
from tests.factories import credit_code, id_number

TODAY = date(2026, 11, 28)
ID_ENDING_IN_X = next(n for s in range(1000) if (n := id_number(serial=f"{s:03d}")).endswith("X"))


def realty(**changes: Any) -> LicenceRecord:
    values: dict[str, Any] = {
        "type": "realty_certificate",
        "number": "皖（2026）马鞍山市不动产权第0000001号",
        "holder_id": id_number(),
        "holder_name": "张三",
        "issuer": "马鞍山市不动产登记中心",
        "issued_on": date(2026, 3, 2),
        "valid_until": None,
        "fields": {
            "certificate_no": "皖（2026）马鞍山市不动产权第0000001号",
            "property_address": "安徽省马鞍山市雨山区湖南路1号3栋1201室",
            "unit_no": "340504001001GB00001F00010203",
            "floor_area": 89.5,
        },
    }
    return LicenceRecord.model_validate(values | changes)


def problems_of(record: LicenceRecord, today: date | None = TODAY) -> dict[str, str]:
    licence_type = default_catalogue().licence_type(record.type)
    return record_problems(record.model_dump(), licence_type, today=today)


# --- status ---------------------------------------------------------------------------------


def test_a_licence_is_valid_through_its_last_day_and_expired_after() -> None:
    last_day = date(2026, 11, 28)
    assert status_on(revoked=False, valid_until=last_day, today=last_day) is LicenceStatus.valid
    after = date(2026, 11, 29)
    assert status_on(revoked=False, valid_until=last_day, today=after) is LicenceStatus.expired
    assert status_on(revoked=False, valid_until=None, today=after) is LicenceStatus.valid


def test_revocation_wins_over_expiry() -> None:
    expired = date(2020, 1, 1)
    assert status_on(revoked=True, valid_until=expired, today=TODAY) is LicenceStatus.revoked
    assert status_on(revoked=True, valid_until=None, today=TODAY) is LicenceStatus.revoked


def test_labels_are_chinese() -> None:
    assert [s.label for s in LicenceStatus] == ["有效", "已注销", "已过期"]
    assert HolderKind.person.label == "自然人"
    assert HolderKind.organisation.id_label == "统一社会信用代码"


# --- what may be shown ----------------------------------------------------------------------


def test_a_persons_name_shows_only_its_first_character() -> None:
    assert mask_name("张三", HolderKind.person) == "张*"
    assert mask_name("欧阳娜娜", HolderKind.person) == "欧***"
    assert mask_name(" 李 ", HolderKind.person) == "*"
    assert mask_name("马鞍山示例有限公司", HolderKind.organisation) == "马鞍山示例有限公司"


def test_an_identifier_keeps_its_region_and_last_four() -> None:
    assert mask_id(ID_ENDING_IN_X) == ID_ENDING_IN_X[:6] + "*" * 8 + ID_ENDING_IN_X[-4:]
    assert mask_id("34050319900307123X") == "340503********123X"
    assert mask_id("91340500MA2N000012") == "913405********0012"
    assert mask_id("E1234567") == "E******7"
    assert mask_id("AB") == "**"


def test_a_phone_keeps_what_identifies_the_line_not_the_person() -> None:
    assert mask_phone("13800000000") == "138****0000"
    assert mask_phone("138-0000-0000") == "138****0000"
    assert mask_phone("0555-2345678") == "0555-*****78"
    assert mask_phone("01012345678") == "010******78"
    assert mask_phone("055512345678") == "0555******78"


# --- the content digest ---------------------------------------------------------------------


def test_the_digest_is_sha256_of_the_canonical_json_of_the_content() -> None:
    record = realty(holder_id=ID_ENDING_IN_X.lower(), valid_until=date(2046, 3, 2))
    content = record.model_dump(mode="json", exclude={"application_no"})
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert record.digest() == hashlib.sha256(canonical.encode()).hexdigest()
    assert licence_digest(record) == record.digest()


def test_the_digest_is_stable_and_ignores_the_application_and_field_order() -> None:
    record = realty(holder_id="34050319900307123x")
    # Pinned by applications: this value must never change for this content.
    assert record.digest() == "b999ff334133eced1d703645de3c0f38bfa02b41491b50144ab559ea03c0afe4"
    assert realty(holder_id="34050319900307123X", application_no="A1").digest() == record.digest()
    reordered = dict(reversed(list(record.fields.items())))
    assert realty(holder_id="34050319900307123X", fields=reordered).digest() == record.digest()
    for change in (
        {"holder_name": "张四"},
        {"valid_until": date(2046, 3, 2)},
        {"fields": record.fields | {"floor_area": 89.6}},
    ):
        assert realty(**change).digest() != realty().digest()


def test_cleaning_gives_one_digest_for_one_content() -> None:
    licence_type = default_catalogue().licence_type("realty_certificate")
    as_text = realty(fields=realty().fields | {"floor_area": " 89.5 ", "unit_no": " x "})
    as_number = realty(fields=realty().fields | {"floor_area": 89.5, "unit_no": "x"})
    assert clean_record(as_text, licence_type).digest() == as_number.digest()


def test_a_record_trims_its_texts_and_refuses_empty_ones() -> None:
    record = realty(number="  皖0001 ", holder_name=" 张三 ")
    assert (record.number, record.holder_name) == ("皖0001", "张三")
    with pytest.raises(ValidationError):
        realty(number="   ")
    with pytest.raises(ValidationError):
        realty(fields={"floor_area": [89.5]})


# --- checks ---------------------------------------------------------------------------------


def test_a_holder_is_checked_by_the_identifier_of_its_kind() -> None:
    assert holder_problem(HolderKind.person, id_number()) is None
    assert holder_problem(HolderKind.organisation, credit_code()) is None
    wrong = id_number()[:-1] + ("0" if id_number()[-1] != "0" else "1")
    assert "校验位" in (holder_problem(HolderKind.person, wrong) or "")
    assert "统一社会信用代码" in (holder_problem(HolderKind.organisation, id_number()) or "")
    assert "身份证" in (holder_problem(HolderKind.person, credit_code()) or "")


def test_a_good_record_has_no_problem() -> None:
    assert problems_of(realty()) == {}
    assert problems_of(realty(issued_on=TODAY)) == {}


def test_each_problem_of_a_record_is_named_by_its_key() -> None:
    record = realty(
        holder_id=credit_code(),
        issued_on=date(2026, 3, 2),
        valid_until=date(2026, 3, 1),
        fields={"certificate_no": "x", "floor_area": "很大", "colour": "红"},
    )
    problems = problems_of(record)
    assert set(problems) == {
        "holder_id",
        "valid_until",
        "fields.property_address",
        "fields.unit_no",
        "fields.floor_area",
        "fields.colour",
    }
    assert problems["fields.property_address"] == "必填"
    assert problems["fields.floor_area"] == "应为数字"
    assert problems["fields.colour"] == "未定义的字段"


def test_a_licence_cannot_be_issued_after_today() -> None:
    tomorrow = date(2026, 11, 29)
    assert set(problems_of(realty(issued_on=tomorrow))) == {"issued_on"}
    assert problems_of(realty(issued_on=tomorrow), today=None) == {}


def test_identifier_fields_are_checked_too() -> None:
    licence_type = default_catalogue().licence_type("business_licence")
    code = credit_code()
    fields = {
        "company_name": "马鞍山示例有限公司",
        "credit_code": code[:-1] + ("0" if code[-1] != "0" else "1"),
        "company_type": "有限责任公司",
        "legal_representative": "张三",
        "address": "安徽省马鞍山市雨山区湖南路1号",
        "business_scope": "技术服务",
    }
    record = {
        "type": "business_licence",
        "holder_id": code,
        "issued_on": date(2020, 1, 1),
        "valid_until": None,
        "fields": fields,
    }
    assert set(record_problems(record, licence_type, today=TODAY)) == {"fields.credit_code"}
    wrong_type = record | {"type": "seal_record"}
    assert "type" in record_problems(wrong_type, licence_type, today=TODAY)


def test_the_holder_s_own_identifier_among_the_fields_is_the_holder_s() -> None:
    """An ID card whose number is not its holder's is no ID card (an import took it)."""
    licence_type = default_catalogue().licence_type("resident_id_card")
    holder, other = id_number(), id_number(serial="456")
    record = {
        "type": "resident_id_card",
        "holder_id": holder,
        "issued_on": date(2020, 1, 1),
        "valid_until": date(2040, 1, 1),
        "fields": {"name": "张三", "id_number": other, "address": "马鞍山市花山区示例路1号"},
    }
    assert set(record_problems(record, licence_type, today=TODAY)) == {"fields.id_number"}
    same = record | {"fields": record["fields"] | {"id_number": holder.lower()}}  # type: ignore[operator]
    assert record_problems(same, licence_type, today=TODAY) == {}
