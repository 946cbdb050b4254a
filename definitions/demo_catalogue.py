"""A demonstration catalogue at a city's scale, built from the base matters of
definitions/demo/base_matters.yaml spread over the regions and levels of regions.yaml.

Every (base matter, 办理项, region) is a possible entry where the matter is decided (at the
levels its department or itself names) and, below those levels, where a township's or a
village's service point takes it in on the applicant's behalf (帮办代办). N of them are
drawn, the same N for the same seed. A base matter's limits and materials are drawn
once for it (its entries agree everywhere); whether an entry can be applied for online, and
its lifecycle, are drawn per entry. Everything built here is marked demo.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from definitions.checks import check_unique
from definitions.source import DEFINITIONS_ROOT, DefinitionError, DefinitionErrors, SourceFile
from domain.catalogue_entries import CatalogueEntry
from domain.matter import Code, Kind, MatterStatus
from domain.regions import Region, RegionLevel, RegionTree

BASE_MATTERS_FILE = DEFINITIONS_ROOT / "demo" / "base_matters.yaml"
DEFAULT_SEED = 340500
# The keyword of every entry a service point takes in on the applicant's behalf.
PROXY_KEYWORD = "帮办代办"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BaseMatter(_Strict):
    name: str = Field(min_length=2, max_length=60)
    keywords: list[str] = Field(default_factory=list)
    levels: list[RegionLevel] | None = Field(default=None, description="else the department's")
    variants: str | None = Field(default=None, description="else the department's")


class BaseDepartment(_Strict):
    code: Code
    name: str
    agency: str = Field(description="what a county calls it: 当涂县 + 市场监督管理局")
    levels: list[RegionLevel] = Field(min_length=1)
    variants: str
    matters: list[BaseMatter] = Field(min_length=1)


class BaseList(_Strict):
    variants: dict[str, list[str]] = Field(min_length=1, description="办理项 by kind")
    departments: list[BaseDepartment] = Field(min_length=1)


def _check(src: SourceFile, base: BaseList) -> list[DefinitionError]:
    errors = check_unique(src, ("departments",), [d.code for d in base.departments])
    names: dict[str, str] = {}
    for i, dept in enumerate(base.departments):
        if dept.variants not in base.variants:
            errors.append(
                src.error(("departments", i, "variants"), f"unknown variants {dept.variants!r}")
            )
        for j, matter in enumerate(dept.matters):
            loc = ("departments", i, "matters", j)
            if matter.variants is not None and matter.variants not in base.variants:
                errors.append(
                    src.error((*loc, "variants"), f"unknown variants {matter.variants!r}")
                )
            if matter.levels is not None and not matter.levels:
                errors.append(src.error((*loc, "levels"), "at least one level"))
            if matter.name in names:
                errors.append(
                    src.error((*loc, "name"), f"{matter.name} is also in {names[matter.name]}")
                )
            names.setdefault(matter.name, dept.code)
    return errors


def load_base_matters(path: Path = BASE_MATTERS_FILE) -> BaseList:
    src = SourceFile(path)
    base = src.parse(BaseList)
    errors = _check(src, base)
    if errors:
        raise DefinitionErrors(errors)
    return base


@cache
def default_base_matters() -> BaseList:
    return load_base_matters()


@dataclass(frozen=True)
class _Slot:
    """One possible entry: a base matter's 办理项 in one region."""

    department: BaseDepartment
    base_code: str
    matter: BaseMatter
    variant_index: int
    variant: str
    region: Region
    proxy: bool  # taken in on the applicant's behalf (代办), decided at a level above

    @property
    def name(self) -> str:
        return entry_name(self.matter.name, self.variant)


def entry_name(name: str, variant: str) -> str:
    """企业登记 + 设立登记 -> 企业设立登记; 食品经营许可 + 新办 -> 食品经营许可（新办）."""
    if not variant or name.endswith(variant):
        return name
    if variant == "申请" and name.endswith(("申请", "申领")):
        return name
    if len(variant) > 2 and name.endswith(variant[-2:]):
        return name[:-2] + variant
    return f"{name}（{variant}）"


def slots(base: BaseList, regions: RegionTree, skip_city_names: set[str]) -> list[_Slot]:
    """Every possible entry, in a fixed order. A name the city already lists by hand
    (`skip_city_names`) is not listed again by the city."""
    out = []
    for dept in base.departments:
        for m, matter in enumerate(dept.matters, start=1):
            levels = set(matter.levels or dept.levels)
            highest = min(level.rank for level in levels)
            variants = base.variants[matter.variants or dept.variants]
            base_code = f"{dept.code}_{m:03d}"
            for region in regions.all():
                if region.level.rank < highest:
                    continue
                proxy = region.level not in levels
                for v, variant in enumerate(variants, start=1):
                    slot = _Slot(dept, base_code, matter, v, variant, region, proxy)
                    if region.level is RegionLevel.city and slot.name in skip_city_names:
                        continue
                    out.append(slot)
    return out


# Legal limits (working days) and the share of 即办件 by the kind of 办理项.
_LEGAL_DAYS = {
    "licence": 20,
    "registration": 15,
    "filing": 5,
    "certificate": 15,
    "benefit": 20,
    "review": 20,
    "service": 5,
    "single": 10,
}
_IMMEDIATE_SHARE = {
    "licence": 0.1,
    "registration": 0.3,
    "filing": 0.5,
    "certificate": 0.3,
    "benefit": 0.2,
    "review": 0.1,
    "service": 0.6,
    "single": 0.4,
}
# The share of entries that can be applied for online falls towards the villages.
_ONLINE_SHARE = {
    RegionLevel.city: 0.97,
    RegionLevel.county: 0.95,
    RegionLevel.township: 0.88,
    RegionLevel.village: 0.75,
}


@dataclass(frozen=True)
class _Terms:
    kind: Kind
    legal: int
    promised: int
    materials: int
    asked: int


def _terms(seed: int, slot: _Slot, variants: str) -> _Terms:
    rng = random.Random(f"{seed}/{slot.base_code}")  # the same for every region
    legal = _LEGAL_DAYS.get(variants, 15)
    immediate = rng.random() < _IMMEDIATE_SHARE.get(variants, 0.3)
    promised = 0 if immediate else max(1, round(legal * rng.uniform(0.15, 0.5)))
    materials = rng.randint(1, 7)
    return _Terms(
        kind=Kind.immediate if immediate else Kind.promised,
        legal=legal,
        promised=promised,
        materials=materials,
        asked=max(0, materials - rng.randint(0, 2)),
    )


def _lifecycle(rng: random.Random) -> tuple[MatterStatus, int, date]:
    roll = rng.random()
    listed = date(2019, 1, 1) + timedelta(days=rng.randint(0, 2000))
    if roll < 0.015:
        return MatterStatus.suspended, 2, date(2025, 1, 1) + timedelta(days=rng.randint(0, 600))
    if roll < 0.025:
        return MatterStatus.cancelled, 2, date(2025, 1, 1) + timedelta(days=rng.randint(0, 600))
    if roll < 0.12:
        return MatterStatus.changed, 2, listed + timedelta(days=rng.randint(30, 600))
    return MatterStatus.added, 1, listed


def generate(
    base: BaseList,
    regions: RegionTree,
    *,
    count: int,
    seed: int = DEFAULT_SEED,
    skip_city_names: set[str] | None = None,
) -> list[CatalogueEntry]:
    """`count` demo entries drawn from every possible one; the same for the same seed."""
    space = slots(base, regions, skip_city_names or set())
    if count < 0 or count > len(space):
        raise ValueError(f"between 0 and {len(space)} entries can be built from these lists")
    chosen = sorted(random.Random(seed).sample(range(len(space)), count))
    rng = random.Random(seed + 1)
    terms: dict[str, _Terms] = {}
    entries = []
    for i in chosen:
        slot = space[i]
        variants = slot.matter.variants or slot.department.variants
        t = terms.get(slot.base_code) or terms.setdefault(
            slot.base_code, _terms(seed, slot, variants)
        )
        status, version, since = _lifecycle(rng)
        region = slot.region
        agency = (
            f"{region.name}{slot.department.agency}"
            if region.level in (RegionLevel.city, RegionLevel.county)
            else region.point_name
        )
        keywords = tuple(slot.matter.keywords)
        if slot.proxy:
            agency, keywords = f"{agency}（代收代办）", (*keywords, PROXY_KEYWORD)
        entries.append(
            CatalogueEntry(
                code=f"{slot.base_code}_{slot.variant_index}_{region.code}",
                name=slot.name,
                base_code=slot.base_code,
                region_code=region.code,
                level=region.level,
                department=slot.department.code,
                department_name=slot.department.name,
                agency=agency,
                keywords=keywords,
                kind=t.kind,
                promised_limit_days=t.promised,
                legal_limit_days=t.legal,
                online=rng.random() < _ONLINE_SHARE[region.level],
                materials_count=t.materials,
                materials_asked=t.asked,
                status=status,
                version=version,
                effective_from=since,
                demo=True,
            )
        )
    return entries
