"""The demo applicants of `tongban dev` (definitions/demo/identities.yaml): the claims the
local unified-identity provider asserts for them, and the licences the demo library holds."""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from definitions.source import DEFINITIONS_ROOT, load_model
from domain.fields import FieldValue
from domain.identifiers import credit_code_problem, id_number_problem
from domain.licences import LicenceRecord


class _Demo(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DemoLicence(_Demo):
    type: str
    number: str
    issuer: str
    issued_on: date
    valid_until: date | None = None
    fields: dict[str, FieldValue] = Field(default_factory=dict)


class DemoPerson(_Demo):
    sub: str
    name: str
    id_number: str
    phone_number: str = ""
    licences: list[DemoLicence] = Field(default_factory=list)

    @field_validator("id_number")
    @classmethod
    def _checked(cls, value: str) -> str:
        problem = id_number_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class DemoEnterprise(_Demo):
    sub: str
    name: str
    credit_code: str
    phone_number: str = ""
    operator_name: str = ""
    operator_id_number: str = ""
    licences: list[DemoLicence] = Field(default_factory=list)

    @field_validator("credit_code")
    @classmethod
    def _checked(cls, value: str) -> str:
        problem = credit_code_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class DemoIdentities(_Demo):
    people: list[DemoPerson] = Field(default_factory=list)
    enterprises: list[DemoEnterprise] = Field(default_factory=list)

    def claims(self) -> list[dict[str, Any]]:
        """What the provider asserts for each (`sub` plus the claims Tongban reads)."""
        people = [
            {"sub": p.sub, "name": p.name, "id_number": p.id_number, "phone_number": p.phone_number}
            for p in self.people
        ]
        enterprises = [
            {
                "sub": e.sub,
                "name": e.name,
                "credit_code": e.credit_code,
                "phone_number": e.phone_number,
                "operator_name": e.operator_name,
                "operator_id_number": e.operator_id_number,
            }
            for e in self.enterprises
        ]
        return people + enterprises

    def licences(self) -> list[LicenceRecord]:
        holders = [(p.id_number, p.name, p.licences) for p in self.people]
        holders += [(e.credit_code, e.name, e.licences) for e in self.enterprises]
        return [
            LicenceRecord(
                type=lic.type,
                number=lic.number,
                holder_id=holder_id,
                holder_name=name,
                issuer=lic.issuer,
                issued_on=lic.issued_on,
                valid_until=lic.valid_until,
                fields=lic.fields,
            )
            for holder_id, name, licences in holders
            for lic in licences
        ]


@cache
def demo_identities(path: Path = DEFINITIONS_ROOT / "demo" / "identities.yaml") -> DemoIdentities:
    return load_model(path, DemoIdentities)
