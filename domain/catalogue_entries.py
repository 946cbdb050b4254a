"""An entry of the catalogue (事项目录): one matter as one region lists it, at one level.

The hand-made matters (definitions/matters) are entries of the city, with a definition to
apply under; one whose implementation (实施清单) has it handled at county level is an entry
of each county as well, listed by the county's branch (当涂县市场监管局) with its promise.

At a city's scale most entries are demonstration data built from a list of base
matters (`tongban catalogue generate`): they are marked `demo` and have no definition.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from domain.matter import Channel, Department, Kind, MatterDefinition, MatterStatus
from domain.regions import Region, RegionLevel
from domain.routing import implementation_of, localised


class CatalogueEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str = Field(max_length=60)
    name: str = Field(max_length=200)
    base_code: str = Field(max_length=40, description="the matter of the base list it lists")
    region_code: str
    level: RegionLevel
    department: str = Field(max_length=40)
    department_name: str
    agency: str = Field(
        description="who handles it there: 当涂县市场监督管理局, 姑孰镇为民服务中心"
    )
    keywords: tuple[str, ...] = ()
    kind: Kind
    promised_limit_days: int = Field(ge=0)
    legal_limit_days: int = Field(ge=0)
    online: bool = Field(description="can be applied for online or on a phone (网上可办)")
    materials_count: int = Field(ge=0, description="materials listed")
    materials_asked: int = Field(ge=0, description="required ones not obtained by data sharing")
    status: MatterStatus
    version: int = Field(ge=1)
    effective_from: date
    demo: bool

    @property
    def sort_key(self) -> str:
        """The catalogue's order: hand-made first, then by level (city first), region, code."""
        return f"{int(self.demo)}{self.level.rank}{self.region_code:0<12}{self.code}"


def entry_of_matter(
    matter: MatterDefinition, region: Region, department_name: str, code: str | None = None
) -> CatalogueEntry:
    """A hand-made matter's entry: the city's (or a county's, its definition localised),
    with the version given."""
    # A county's branch is named with the county already (当涂县市场监管局).
    agency = department_name if department_name.startswith(region.name) else None
    return CatalogueEntry(
        code=code or matter.code,
        name=matter.name,
        base_code=matter.code,
        region_code=region.code,
        level=region.level,
        department=matter.lead_department,
        department_name=department_name,
        agency=agency or f"{region.name}{department_name}",
        keywords=tuple(matter.keywords),
        kind=matter.kind,
        promised_limit_days=matter.promised_limit_days,
        legal_limit_days=matter.legal_limit_days,
        online=bool({Channel.online, Channel.mobile} & set(matter.channels)),
        materials_count=len(matter.materials),
        materials_asked=sum(1 for m in matter.materials if m.required and not m.shared),
        status=matter.status,
        version=matter.version,
        effective_from=matter.effective_from,
        demo=False,
    )


def hand_made_entries(
    matters: Iterable[MatterDefinition],
    city: Region,
    department_name: Callable[[str], str],
    counties: Sequence[Region] = (),
    departments: Mapping[str, Department] | None = None,
) -> list[CatalogueEntry]:
    """The entries of the hand-made matters' versions given (those in force, usually): the
    city's, and for a matter handled at county level one per county in `counties` (coded
    company_setup_340521), by the branches among `departments`."""
    entries = []
    for matter in matters:
        entries.append(entry_of_matter(matter, city, department_name(matter.lead_department)))
        if implementation_of(matter).at(RegionLevel.county) is None:
            continue
        for county in counties:
            local = localised(matter, county, departments or {})
            name = department_name(local.lead_department)
            entries.append(entry_of_matter(local, county, name, f"{matter.code}_{county.code}"))
    return entries
