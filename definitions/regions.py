"""Loading the regions and their service points (definitions/regions.yaml).

Schema first, then meaning, every problem collected with its file and line, as for matters:
the levels go city > county > township > village, each code extends its parent's, codes are
unique, and townships and villages (demonstration data here) are marked `demo: true`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from definitions.source import (
    DEFINITIONS_ROOT,
    DefinitionError,
    DefinitionErrors,
    Loc,
    SourceFile,
)
from domain.regions import Region, RegionFile, RegionLevel, RegionTree

REGIONS_FILE = DEFINITIONS_ROOT / "regions.yaml"

# What a region's name ends with at each level (a county-level division may be a 区 or a 县;
# a county-level city would be a 市).
_NAME_ENDINGS = {
    RegionLevel.city: ("市",),
    RegionLevel.county: ("区", "县", "市"),
    RegionLevel.township: ("镇", "乡", "街道"),
    RegionLevel.village: ("村", "社区"),
}


def _extends(parent: Region, child: Region) -> bool:
    """A county shares its city's first four digits; below that, a code extends its parent's."""
    if child.level is RegionLevel.county:
        return child.code[:4] == parent.code[:4] and child.code != parent.code
    return child.code.startswith(parent.code)


def _check(
    src: SourceFile, region: Region, loc: Loc, parent: Region | None, seen: dict[str, Loc]
) -> list[DefinitionError]:
    errors: list[DefinitionError] = []
    err = src.error
    if region.code in seen:
        line = src.line_of((*seen[region.code], "code"))
        errors.append(err((*loc, "code"), f"duplicate code {region.code!r} (first on line {line})"))
    else:
        seen[region.code] = loc
    expected = RegionLevel.city if parent is None else parent.level.below
    if region.level is not expected:
        where = "the top region" if parent is None else f"under a {parent.level.value}"
        wanted = "nothing" if expected is None else f"a {expected.value}"
        errors.append(err((*loc, "level"), f"{where} must be {wanted}, not a {region.level.value}"))
    if len(region.code) != region.level.code_length:
        errors.append(
            err(
                (*loc, "code"),
                f"a {region.level.value} code has {region.level.code_length} digits, "
                f"not {len(region.code)}",
            )
        )
    elif parent is not None and not _extends(parent, region):
        errors.append(
            err((*loc, "code"), f"{region.code} does not extend its parent's code {parent.code}")
        )
    if not region.name.endswith(_NAME_ENDINGS[region.level]):
        endings = "、".join(_NAME_ENDINGS[region.level])
        errors.append(
            err((*loc, "name"), f"a {region.level.value}'s name ends with {endings}: {region.name}")
        )
    if region.level in (RegionLevel.township, RegionLevel.village) and not region.demo:
        errors.append(
            err(
                (*loc, "demo"),
                f"{region.level.value}s here are demonstration data: mark them demo: true",
            )
        )
    for i, child in enumerate(region.children):
        errors += _check(src, child, (*loc, "children", i), region, seen)
    return errors


def load_regions(path: Path = REGIONS_FILE) -> RegionTree:
    """The regions in `path`; raise `DefinitionErrors` listing every problem."""
    src = SourceFile(path)
    parsed = src.parse(RegionFile)
    errors = _check(src, parsed.region, ("region",), None, {})
    if errors:
        raise DefinitionErrors(errors)
    return RegionTree(parsed.region)


@cache
def default_regions() -> RegionTree:
    """The shipped regions, loaded once per process."""
    return load_regions()
