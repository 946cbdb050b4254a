"""The seed's statistics for supervisors: the figures of a region (and what lies under it),
a level and a period, with the breakdowns the page draws.

Past days come from the daily aggregates; today, days never refreshed and days an
application has changed on since are computed from the applications (store.statistics).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from api.container import Services
from api.errors import invalid
from api.schemas import StatisticsFigures
from api.services.catalogue_entries import OFFERED
from domain.ratings import RatingLevel
from domain.regions import Region, RegionLevel
from domain.statistics import CatalogueCounts, Counts, mean, share
from store import statistics as store

# A period longer than this is refused: nobody reads ten years of days at once.
LONGEST_PERIOD_DAYS = 3660
# Up to two months the page charts days; beyond, months.
DAYS_CHARTED_BY_DAY = 62


@dataclass
class Part:
    """One bar of a breakdown: a region or a stretch of the period, and its counts."""

    label: str
    counts: Counts


@dataclass
class Report:
    region: Region
    level: RegionLevel | None
    start: date
    end: date
    counts: Counts
    catalogue: CatalogueCounts
    figures: StatisticsFigures
    by_region: list[Part] = field(default_factory=list)
    by_period: list[Part] = field(default_factory=list)

    @property
    def scope(self) -> str:
        level = f"（{self.level.label}）" if self.level else "（含下辖区域）"
        return f"{self.region.name}{level}"


def figures_of(counts: Counts, catalogue: CatalogueCounts) -> StatisticsFigures:
    """Each figure as docs/domain.md defines it."""
    return StatisticsFigures(
        applications=counts.applications,
        online_available_rate=share(catalogue.online, catalogue.entries),
        one_network_rate=share(counts.online, counts.applications),
        fully_online_rate=share(counts.fully_online, counts.applications),
        one_window_rate=share(counts.one_window, counts.acceptance_decided),
        at_most_one_visit_rate=share(counts.at_most_one_visit, counts.applications),
        average_promised_days=mean(catalogue.promised_days, catalogue.entries),
        average_materials=mean(catalogue.materials_asked, catalogue.entries),
        on_time_rate=share(counts.on_time, counts.completed),
        early_rate=share(counts.early, counts.completed),
        ratings={RatingLevel(k): v for k, v in counts.ratings().items()},
    )


def _scope(
    services: Services, region: str | None, start: date | None, end: date | None, today: date
) -> tuple[Region, date, date]:
    tree = services.regions
    found = tree.get(region) if region else tree.root
    problems = {}
    if found is None:
        problems["region"] = f"没有行政区划 {region}"
    start = start or date(today.year, 1, 1)
    end = end or today
    if start > end:
        problems["from"] = "起始日期不能晚于截止日期"
    elif (end - start).days > LONGEST_PERIOD_DAYS:
        problems["to"] = "统计期最长十年"
    if problems or found is None:
        raise invalid(problems)
    return found, start, end


async def report(
    *,
    services: Services,
    session: AsyncSession,
    region: str | None,
    level: RegionLevel | None,
    start: date | None,
    end: date | None,
) -> Report:
    """The figures of `region` (default: the city) and everything under it, at `level` if
    given, for the applications received from `start` (default: the first of January) to
    `end` (default: today), both included."""
    today = await services.today()
    scope, start, end = _scope(services, region, start, end, today)
    tree = services.regions
    codes = tree.codes_under(scope.code, level)
    live = sorted(await store.days_to_compute(session, start, end, today))

    async def counted(by: store.By) -> dict[Any, Counts]:
        """Fresh days from the aggregates, the others from the applications."""
        found = await store.stored_counts(session, start, end, codes, live, by)
        for key, counts in (await store.live_counts(session, live, codes, by)).items():
            found[key] = found.get(key, Counts()) + counts
        return found

    per_region, per_day = await counted("region"), await counted("day")
    counts = sum(per_region.values(), Counts())
    catalogue = await store.catalogue_counts(
        session, codes, level.value if level else None, OFFERED
    )

    def summed(under: set[str]) -> Counts:
        return sum((c for code, c in per_region.items() if code in under), Counts())

    if scope.children:
        own = {scope.code} if level in (None, scope.level) else set()
        by_region = [Part(f"{scope.name}本级", summed(own))]
        by_region += [
            Part(child.name, summed(set(tree.codes_under(child.code, level))))
            for child in scope.children
        ]
    else:
        by_region = [Part(scope.name, counts)]

    daily = (end - start).days < DAYS_CHARTED_BY_DAY
    by_period: dict[str, Counts] = {label: Counts() for label in _stretches(start, end, daily)}
    for day, c in per_day.items():
        label = f"{day:%m-%d}" if daily else f"{day:%Y-%m}"
        by_period[label] = by_period.get(label, Counts()) + c
    return Report(
        region=scope,
        level=level,
        start=start,
        end=end,
        counts=counts,
        catalogue=catalogue,
        figures=figures_of(counts, catalogue),
        by_region=by_region,
        by_period=[Part(label, c) for label, c in by_period.items()],
    )


def _stretches(start: date, end: date, daily: bool) -> list[str]:
    """The labels of every day (or month) of the period, in order."""
    days = (start + timedelta(days=i) for i in range((end - start).days + 1))
    labels = (f"{d:%m-%d}" if daily else f"{d:%Y-%m}" for d in days)
    return list(dict.fromkeys(labels))
