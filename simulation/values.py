"""Made-up but valid values for what a scenario leaves out: the applicant, the form, the
results of an approval.

Identifiers carry their check characters, and text results (a licence number, say) carry the
run's token: the licences a grant issues are unique by number in the library.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain.application import Applicant
from domain.fields import FieldValue
from domain.identifiers import credit_code_check_char, id_number_check_char
from domain.matter import FieldSpec, FieldType, MatterDefinition

PHONE = "13800000000"


def id_number(serial: str = "123") -> str:
    first = f"34050319900307{serial[-3:]:0>3}"
    return first + id_number_check_char(first)


def other_person(token: str) -> str:
    """An ID number of the run's own for a person the form names (a buyer, a legal
    representative), born on another day than the applicant: a licence issued to that person
    (a property certificate in the buyer's name) is never the applicant's under a name that
    is not theirs, in a library other runs and tests share."""
    digits = "".join(c for c in token if c.isdigit()) or "0"
    first = f"34050319850101{digits[-3:]:0>3}"
    return first + id_number_check_char(first)


def credit_code(token: str) -> str:
    """A credit code of its own for `token` (digits only: valid in every position)."""
    digits = "".join(c for c in token if c.isdigit()) or "0"
    first = f"91340500MA{digits[-7:]:0>7}"
    return first + credit_code_check_char(first)


def applicant(matter: MatterDefinition, token: str) -> Applicant:
    """A person if the matter takes persons, else a company."""
    if "person" in matter.applicant_types:
        return Applicant(name="张三", id_number=id_number(), phone=PHONE)
    return Applicant(name="马鞍山模拟科技有限公司", credit_code=credit_code(token), phone=PHONE)


def _value(spec: FieldSpec, token: str, prefix: str) -> FieldValue:
    match spec.type:
        case FieldType.select:
            return spec.options[0]
        case FieldType.number:
            return 12
        case FieldType.date:
            return "2030-01-01"
        case FieldType.phone:
            return PHONE
        case FieldType.id_number:
            return other_person(token)
        case FieldType.credit_code:
            return credit_code(token)
    return f"{prefix}{spec.code}-{token}"


def form_values(specs: Sequence[FieldSpec], token: str) -> dict[str, Any]:
    return {s.code: _value(s, token, "") for s in specs}


def result_values(specs: Sequence[FieldSpec], token: str, step: str) -> dict[str, FieldValue]:
    return {s.code: _value(s, token, f"{step}-") for s in specs}
