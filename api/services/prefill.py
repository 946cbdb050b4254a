"""秒填: a signed-in applicant's form, filled from their identity and their licences.

A form field says where its value comes from (`prefill: identity.name`, `prefill:
licence.business_licence.company_name`); materials an electronic licence replaces are found
in the library and need not be uploaded. The applicant can still change every value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from api.services.licences import usable
from api.unified_login import Identity
from domain.matter import MatterDefinition
from domain.references import resolve
from store.models import LicenceRow


@dataclass
class Prefill:
    values: dict[str, str] = field(default_factory=dict)  # form inputs by their page names
    licences: dict[str, LicenceRow] = field(default_factory=dict)  # by material code


def _identity_value(identity: Identity, claim: str) -> str:
    return {
        "name": identity.name,
        "id": identity.id,
        "id_number": identity.id if identity.kind == "person" else identity.operator_id,
        "credit_code": identity.id if identity.kind == "company" else "",
        "phone": identity.phone,
        "operator_name": identity.operator_name,
        "operator_id": identity.operator_id,
    }.get(claim, "")


async def prefill(
    session: AsyncSession, *, matter: MatterDefinition, identity: Identity, today: date
) -> Prefill:
    out = Prefill(
        values={
            "applicant_kind": identity.kind,
            "applicant_name": identity.name,
            "identifier": identity.id,
            "phone": identity.phone,
        }
    )
    held: dict[str, LicenceRow | None] = {}

    async def licence(type_code: str, holder: str) -> LicenceRow | None:
        key = f"{type_code}|{holder}"
        if key not in held:
            held[key] = await usable(session, holder_id=holder, type=type_code, today=today)
        return held[key]

    for spec in matter.form:
        if not spec.prefill:
            continue
        head, _, rest = spec.prefill.partition(".")
        value: object = ""
        if head == "identity":
            value = _identity_value(identity, rest)
        elif head == "licence":
            type_code, _, name = rest.partition(".")
            row = await licence(type_code, identity.id)
            value = row.fields.get(name, "") if row else ""
        if value not in ("", None):
            out.values[f"form_{spec.code}"] = str(value)
    form = {k.removeprefix("form_"): v for k, v in out.values.items() if k.startswith("form_")}
    applicant = {"id": identity.id, "name": identity.name, "phone": identity.phone}
    for material in matter.materials:
        if material.licence_type:
            holder = resolve(material.holder, applicant=applicant, form=form, results={})
            row = await licence(material.licence_type, str(holder or "").upper())
            if row is not None:
                out.licences[material.code] = row
    return out
