"""The catalogue and each matter's guide (办事指南). Public."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.deps import ServicesDep
from api.schemas import DepartmentRef, MatterGuide, MatterSummary, StepGuide
from api.services import intake
from definitions.catalogue import Catalogue
from domain.matter import MatterDefinition

router = APIRouter(prefix="/api/matters", tags=["catalogue"])


def summary(matter: MatterDefinition, catalogue: Catalogue) -> MatterSummary:
    return MatterSummary(
        code=matter.code,
        name=matter.name,
        version=matter.version,
        kind=matter.kind,
        promised_limit_days=matter.promised_limit_days,
        legal_limit_days=matter.legal_limit_days,
        lead_department=matter.lead_department,
        lead_department_name=catalogue.department_name(matter.lead_department),
        channels=list(matter.channels),
        materials_count=len(matter.materials),
        status=matter.status,
        status_label=matter.status.label,
        effective_from=matter.effective_from,
    )


def guide(matter: MatterDefinition, catalogue: Catalogue) -> MatterGuide:
    departments = dict.fromkeys(s.department for s in matter.steps)
    return MatterGuide(
        **dict(summary(matter, catalogue)),
        description=matter.description,
        legal_basis=matter.legal_basis,
        fee=matter.fee,
        applicant_types=list(matter.applicant_types),
        materials=list(matter.materials),
        form=list(matter.form),
        steps=[
            StepGuide(**dict(s), department_name=catalogue.department_name(s.department))
            for s in matter.steps
        ],
        departments=[DepartmentRef(code=d, name=catalogue.department_name(d)) for d in departments],
        supplement_pauses_clock=matter.supplement_pauses_clock,
        max_extension_days=matter.max_extension_days,
    )


@router.get("", response_model=list[MatterSummary])
async def list_matters(services: ServicesDep) -> list[MatterSummary]:
    catalogue = services.catalogue
    return [summary(m, catalogue) for m in sorted(catalogue.matters.values(), key=lambda m: m.code)]


@router.get("/{code}", response_model=MatterGuide)
async def get_matter(
    code: Annotated[str, Path(max_length=40)], services: ServicesDep
) -> MatterGuide:
    """办事指南 of the version in force (a suspended matter's too; a cancelled one is gone)."""
    matter = intake.matter_in_force(services.catalogue, code, await services.clock())
    return guide(matter, services.catalogue)
