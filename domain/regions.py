"""Regions (行政区划) and their service points: a city, its county-level divisions, townships
and villages, each with the place where people are served.

A region's code is its 行政区划代码: six digits for the city and its counties, nine for a
township (the county's six and three more), twelve for a village or community (the
township's nine and three more). A county's code shares the city's first four digits.
Application numbers begin with the six digits of the region that numbered them.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class RegionLevel(StrEnum):
    city = "city"  # 市级
    county = "county"  # 县级（县、区）
    township = "township"  # 乡镇级（乡、镇、街道）
    village = "village"  # 村级（村、社区）

    @property
    def label(self) -> str:
        return _LEVEL_LABELS[self]

    @property
    def rank(self) -> int:
        """0 for the city, down to 3 for a village."""
        return list(RegionLevel).index(self)

    @property
    def below(self) -> RegionLevel | None:
        """The level of this level's children (None for a village)."""
        levels = list(RegionLevel)
        return levels[self.rank + 1] if self.rank + 1 < len(levels) else None

    @property
    def code_length(self) -> int:
        return _CODE_LENGTHS[self]


_LEVEL_LABELS = {
    RegionLevel.city: "市级",
    RegionLevel.county: "县级",
    RegionLevel.township: "乡镇级",
    RegionLevel.village: "村级",
}
_CODE_LENGTHS = {
    RegionLevel.city: 6,
    RegionLevel.county: 6,
    RegionLevel.township: 9,
    RegionLevel.village: 12,
}
# Where people are served at each level, when a region does not name its own.
_SERVICE_POINTS = {
    RegionLevel.city: "政务服务中心",
    RegionLevel.county: "政务服务中心",
    RegionLevel.township: "为民服务中心",
    RegionLevel.village: "代办站",
}


class Region(BaseModel):
    # Codes are digits; written unquoted in YAML they arrive as numbers.
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    code: str = Field(pattern=r"^\d{6}(\d{3}){0,2}$", description="行政区划代码")
    name: str = Field(min_length=1, max_length=50)
    level: RegionLevel
    service_point: str = Field(
        default="", max_length=100, description="政务服务中心, 为民服务中心, 代办站"
    )
    demo: bool = Field(
        default=False, description="invented for the demonstration, not an official record"
    )
    children: list[Region] = Field(default_factory=list)

    @property
    def point_name(self) -> str:
        return self.service_point or f"{self.name}{_SERVICE_POINTS[self.level]}"


class RegionFile(BaseModel):
    """regions.yaml: one city and everything under it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    region: Region


class RegionTree:
    """The regions by code, with what lies under each one."""

    def __init__(self, root: Region) -> None:
        self.root = root
        self._by_code: dict[str, Region] = {}
        self._parent: dict[str, str] = {}
        for region, parent in _walk(root, None):
            self._by_code.setdefault(region.code, region)
            if parent is not None:
                self._parent.setdefault(region.code, parent.code)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def __len__(self) -> int:
        return len(self._by_code)

    def get(self, code: str) -> Region | None:
        return self._by_code.get(code)

    def all(self) -> list[Region]:
        """Every region, each before what lies under it."""
        return [region for region, _ in _walk(self.root, None)]

    def under(self, code: str) -> list[Region]:
        """The region and every region under it (empty for an unknown code)."""
        region = self._by_code.get(code)
        return [] if region is None else [r for r, _ in _walk(region, None)]

    def codes_under(self, code: str, level: RegionLevel | None = None) -> list[str]:
        return [r.code for r in self.under(code) if level is None or r.level is level]

    def path(self, code: str) -> list[Region]:
        """From the city down to the region (empty for an unknown code)."""
        out: list[Region] = []
        current: str | None = code if code in self._by_code else None
        while current is not None:
            out.append(self._by_code[current])
            current = self._parent.get(current)
        return out[::-1]

    def full_name(self, code: str) -> str:
        """马鞍山市当涂县姑孰镇: the names along the path."""
        return "".join(r.name for r in self.path(code)) or code

    def name(self, code: str) -> str:
        region = self._by_code.get(code)
        return region.name if region else code


def _walk(region: Region, parent: Region | None) -> Iterator[tuple[Region, Region | None]]:
    yield region, parent
    for child in region.children:
        yield from _walk(child, region)


def region_of_number(application_no: str) -> str | None:
    """The region that numbered an application: its first six digits (None if not digits)."""
    head = application_no[:6]
    return head if len(head) == 6 and head.isdigit() else None
