"""The catalogue and each matter's guide (办事指南). Public."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import ServicesDep, SessionDep
from api.openapi import answers
from api.schemas import DepartmentRef, MatterGuide, MatterPage, MatterSummary, StepGuide
from api.services import catalogue_entries, intake
from definitions.catalogue import Catalogue
from domain.matter import MatterDefinition
from domain.regions import RegionLevel

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
        tolerated_missing=matter.tolerated_missing,
        commitment=matter.commitment,
    )


@router.get("", response_model=MatterPage)
@answers(422)
async def list_matters(
    services: ServicesDep,
    session: SessionDep,
    q: Annotated[
        str, Query(max_length=50, description="name, full pinyin, initials or keyword")
    ] = "",
    region: Annotated[
        str | None,
        Query(
            pattern=r"^\d{6}(\d{3}){0,2}$",
            max_length=12,
            description="行政区划代码: the region and every region under it",
        ),
    ] = None,
    level: Annotated[
        RegionLevel | None, Query(description="city, county, township, village")
    ] = None,
    department: Annotated[str | None, Query(max_length=40)] = None,
    include_inactive: Annotated[
        bool, Query(description="also suspended (暂停) and cancelled (取消) entries")
    ] = False,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> MatterPage:
    """The catalogue (事项目录), searched: 企业开办 is found by 开办, `qiye`, `qykb` or 开公司.
    Hand-made matters first, then by level (the city first), region and code; with `q`, the
    very name first, then names, pinyin and initials that begin with it."""
    return await catalogue_entries.search(
        services=services,
        session=session,
        q=q,
        region=region,
        level=level,
        department=department,
        include_inactive=include_inactive,
        page=page,
        page_size=page_size,
    )


@router.get("/{code}", response_model=MatterGuide)
@answers(404)
async def get_matter(
    code: Annotated[str, Path(max_length=40)], services: ServicesDep
) -> MatterGuide:
    """办事指南 of the version in force (a suspended matter's too; a cancelled one is gone)."""
    matter = intake.matter_in_force(services.catalogue, code, await services.clock())
    return guide(matter, services.catalogue)
