"""Electronic licences (电子证照): their types, one licence as issued, and what the library
may show of it (docs/domain.md, "Electronic licences").

A licence type is data (definitions/licences.yaml), like a matter. A licence record is one
certificate as an issuer printed it. Its content digest is what an application pins when a
licence replaces one of its materials, so that the licence it relied on can be proven later
even if the library changes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from json.encoder import encode_basestring as _quoted  # as json.dumps(ensure_ascii=False)
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from domain.fields import FieldValue, clean_fields, fields_problems
from domain.identifiers import credit_code_problem, id_number_problem
from domain.matter import Code, FieldSpec, Strict


class HolderKind(StrEnum):
    person = "person"  # identified by 居民身份证号码
    organisation = "organisation"  # identified by 统一社会信用代码

    @property
    def label(self) -> str:
        return {"person": "自然人", "organisation": "法人或其他组织"}[self.value]

    @property
    def id_label(self) -> str:
        return {"person": "居民身份证号码", "organisation": "统一社会信用代码"}[self.value]


class LicenceStatus(StrEnum):
    valid = "valid"
    revoked = "revoked"
    expired = "expired"

    @property
    def label(self) -> str:
        return {"valid": "有效", "revoked": "已注销", "expired": "已过期"}[self.value]


class LicenceType(Strict):
    code: Code
    name: str
    issuer: Code = Field(description="the department that issues it")
    holder: HolderKind
    fields: list[FieldSpec]
    validity_years: int | None = Field(default=None, ge=1, description="None: long-term (长期)")
    description: str = ""


class LicenceTypeList(Strict):
    licence_types: list[LicenceType] = Field(min_length=1)


# Longest text each field of a record may hold, as the library's columns allow.
TEXT_LIMITS = {"number": 64, "holder_id": 18, "holder_name": 200, "issuer": 100}


def _text(field: str) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=1, max_length=TEXT_LIMITS[field])


class LicenceRecord(BaseModel):
    """One licence as issued. Its `fields` follow its type's field specs."""

    model_config = ConfigDict(frozen=True)

    type: str
    number: Annotated[str, _text("number")]
    holder_id: Annotated[str, _text("holder_id")]
    holder_name: Annotated[str, _text("holder_name")]
    issuer: Annotated[str, _text("issuer")] = Field(description="the issuing authority as printed")
    issued_on: date
    valid_until: date | None
    fields: dict[str, FieldValue]
    application_no: str | None = Field(
        default=None, description="the application that produced it; None when imported"
    )

    @field_validator("holder_id")
    @classmethod
    def _capitals(cls, value: str) -> str:
        # Look-ups compare exactly: an ID number ending in x is the same person as in X.
        return value.upper()

    def digest(self) -> str:
        return licence_digest(self)


def licence_digest(record: LicenceRecord) -> str:
    """sha256 of the licence's content: every field but the application that produced it.

    Give it cleaned fields (`clean_record`): 100 and "100" are the same area but not the
    same digest."""
    return content_digest(
        type=record.type,
        number=record.number,
        holder_id=record.holder_id,
        holder_name=record.holder_name,
        issuer=record.issuer,
        issued_on=record.issued_on,
        valid_until=record.valid_until,
        fields_json=canonical_json(record.fields),
    )


def canonical_json(value: Any) -> str:
    """The one JSON text of `value`: keys sorted, no spaces, Chinese as itself."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def content_digest(
    *,
    type: str,
    number: str,
    holder_id: str,
    holder_name: str,
    issuer: str,
    issued_on: date,
    valid_until: date | None,
    fields_json: str,
) -> str:
    """`licence_digest` from the parts, the fields already as `canonical_json` (the import
    stores that same text, so it is made once per licence).

    The document is written out key by key, in sorted order, with the string quoting that
    `canonical_json` itself uses: the same text, in half the time of a second json.dumps."""
    until = f'"{valid_until.isoformat()}"' if valid_until else "null"
    document = (
        f'{{"fields":{fields_json},"holder_id":{_quoted(holder_id)},'
        f'"holder_name":{_quoted(holder_name)},"issued_on":"{issued_on.isoformat()}",'
        f'"issuer":{_quoted(issuer)},"number":{_quoted(number)},"type":{_quoted(type)},'
        f'"valid_until":{until}}}'
    )
    return hashlib.sha256(document.encode()).hexdigest()


def clean_record(record: LicenceRecord, licence_type: LicenceType) -> LicenceRecord:
    """The record with its fields as stored (`domain.fields.clean_fields`)."""
    return record.model_copy(update={"fields": clean_fields(licence_type.fields, record.fields)})


def status_on(*, revoked: bool, valid_until: date | None, today: date) -> LicenceStatus:
    """A revoked licence stays revoked after its expiry: revocation is what a reader must see."""
    if revoked:
        return LicenceStatus.revoked
    if valid_until is not None and valid_until < today:
        return LicenceStatus.expired
    return LicenceStatus.valid


def holder_problem(kind: HolderKind, holder_id: str) -> str | None:
    if kind is HolderKind.person:
        return id_number_problem(holder_id)
    return credit_code_problem(holder_id)


# The field that, where a licence type has it, is its holder's own identifier.
_HOLDER_FIELD = {HolderKind.person: "id_number", HolderKind.organisation: "credit_code"}


def record_problems(
    record_fields: Mapping[str, Any], licence_type: LicenceType, *, today: date | None
) -> dict[str, str]:
    """Every problem of a record against its type, by key (`fields.<code>` for its fields).

    `record_fields` is a record's content with typed values (dates as dates), such as
    `LicenceRecord.model_dump()`. With `today`, a licence cannot be issued in the future nor
    an ID number be born there."""
    problems: dict[str, str] = {}
    if record_fields.get("type") != licence_type.code:
        problems["type"] = f"证照类型应为{licence_type.code}"
    holder_id = record_fields.get("holder_id")
    if not isinstance(holder_id, str) or not holder_id:
        problems["holder_id"] = "必填"
    else:
        problem = holder_problem(licence_type.holder, holder_id)
        if problem:
            problems["holder_id"] = problem
    issued_on, valid_until = record_fields.get("issued_on"), record_fields.get("valid_until")
    if isinstance(issued_on, date):
        if today is not None and issued_on > today:
            problems["issued_on"] = "签发日期不能晚于今天"
        if isinstance(valid_until, date) and valid_until < issued_on:
            problems["valid_until"] = "有效期截止日期早于签发日期"
    values = record_fields.get("fields")
    if not isinstance(values, Mapping):
        problems["fields"] = "应为字段名到值的对象"
    else:
        for code, problem in fields_problems(licence_type.fields, values, today=today).items():
            problems[f"fields.{code}"] = problem
        # The holder's own identifier among the fields (an ID card's number, a business
        # licence's credit code) is the holder's: a licence that says otherwise is not one.
        own = _HOLDER_FIELD[licence_type.holder]
        value = values.get(own)
        if isinstance(holder_id, str) and value and str(value).strip().upper() != holder_id:
            problems[f"fields.{own}"] = "与持证人证件号码不一致"
    return problems


# --- what may be shown (个人信息保护法: minimum necessary) --------------------------------------


def _keep_ends(value: str, head: int, tail: int) -> str:
    hidden = len(value) - head - tail
    if hidden <= 0:
        return "*" * len(value)
    return value[:head] + "*" * hidden + value[len(value) - tail :]


def mask_name(name: str, kind: HolderKind) -> str:
    """A person's name shows its first character; an organisation's name is public."""
    name = name.strip()
    if kind is HolderKind.organisation:
        return name
    return _keep_ends(name, 1, 0) if len(name) > 1 else "*" * len(name)


def mask_id(value: str) -> str:
    """An 18-character ID number or credit code keeps its region (first 6) and last 4."""
    value = value.strip()
    if len(value) >= 18:
        return _keep_ends(value, 6, 4)
    return _keep_ends(value, 1, 1)


def mask_phone(value: str) -> str:
    """A mobile keeps its first 3 and last 4 digits; a landline its area code and last 2."""
    value = value.strip()
    digits = value.replace("-", "").replace(" ", "")
    if len(digits) == 11 and digits.isdigit() and digits.startswith("1"):
        return _keep_ends(digits, 3, 4)
    if digits.startswith("0") and digits.isdigit() and len(digits) >= 10:
        area, sep, local = value.partition("-")
        if not sep:
            # 010 and 02x are the only three-digit area codes; every other one has four.
            cut = 3 if digits[1] in "12" else 4
            area, local = digits[:cut], digits[cut:]
        return area + sep + _keep_ends(local, 0, 2)
    return _keep_ends(value, 1, 1)
