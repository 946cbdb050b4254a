"""Where an application is handled: the level its 实施清单 names nearest above the region
that accepted it, and that region's branches of the departments.

A matter without an implementation is handled and accepted at the city only, exactly as
the hand-made matters always were; the definition pinned for a city application is the
catalogue's own, unchanged. For a county the definition is localised before it is pinned:
its steps name the county's branches (amr_340521) and its promise is the county's, so the
workflow needs to know nothing of levels.
"""

from __future__ import annotations

from collections.abc import Mapping

from domain.matter import Department, Implementation, LevelImplementation, MatterDefinition
from domain.regions import Region, RegionLevel, RegionTree

CITY_ONLY = Implementation(levels=[LevelImplementation(level=RegionLevel.city)])


def branch_code(department: str, region: str) -> str:
    """amr_340521: the county's branch of a department (a department code, as staff hold)."""
    return f"{department}_{region}"


def branches(departments: Mapping[str, Department], tree: RegionTree) -> dict[str, Department]:
    """Every county's branches of the departments that have them, named as people know them:
    当涂县 + 市场监管局. The city's departments carry no city prefix, so neither do they."""
    return {
        branch_code(dept.code, county.code): Department(
            code=branch_code(dept.code, county.code),
            name=f"{county.name}{dept.name}",
            head_title=dept.head_title,
            region=county.code,
            # A county's branch has no system of its own here: its tasks are in its inbox.
        )
        for county in tree.all()
        if county.level is RegionLevel.county
        for dept in departments.values()
        if dept.branches
    }


def implementation_of(matter: MatterDefinition) -> Implementation:
    return matter.implementation or CITY_ONLY


def handling_region(matter: MatterDefinition, accepting: str, tree: RegionTree) -> Region | None:
    """The region whose departments handle what `accepting` accepts: the nearest region on
    the way up (itself included) at a level the matter is handled at. None when the matter
    may not be accepted there: neither handled nor accepted on behalf at its level."""
    impl = implementation_of(matter)
    path = tree.path(accepting)
    if not path:
        return None
    handled = {line.level for line in impl.levels}
    if path[-1].level not in handled and path[-1].level not in impl.accepted_at:
        return None
    return next((region for region in reversed(path) if region.level in handled), None)


def department_at(
    matter: MatterDefinition, department: str, region: Region, known: Mapping[str, Department]
) -> str:
    """Who handles `department`'s steps in `region`: the implementation's choice, else the
    region's branch, else (no branch there) the department itself."""
    if region.level is RegionLevel.city:
        return department
    line = implementation_of(matter).at(region.level)
    if line is not None and department in line.departments:
        return line.departments[department]
    branch = branch_code(department, region.code)
    return branch if branch in known else department


def localised(
    matter: MatterDefinition, region: Region, known: Mapping[str, Department]
) -> MatterDefinition:
    """The definition as `region` handles it: its departments and its promised limit."""
    if region.level is RegionLevel.city:
        return matter
    line = implementation_of(matter).at(region.level)
    promised = line.promised_limit_days if line is not None else None
    return matter.model_copy(
        update={
            "lead_department": department_at(matter, matter.lead_department, region, known),
            "promised_limit_days": (matter.promised_limit_days if promised is None else promised),
            "steps": [
                s.model_copy(
                    update={"department": department_at(matter, s.department, region, known)}
                )
                for s in matter.steps
            ],
        }
    )
