"""The seed's statistics for supervisors: the figures, and the same as CSV and Excel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from api.container import Services
from api.deps import ServicesDep, SessionDep, Supervisor
from api.errors import forbidden
from api.schemas import Day, StatisticsFigures
from api.services import statistics, statistics_export
from api.services.region_scope import statistics_region
from domain.regions import RegionLevel

router = APIRouter(prefix="/api/supervision/statistics", tags=["supervision"])


@dataclass
class Scope:
    """Which applications and which catalogue: a region and what lies under it, a level, the
    days of receipt from `from` to `to` (both included)."""

    region: str | None
    level: RegionLevel | None
    start: date | None
    end: date | None

    async def report(self, services: Services, session: AsyncSession) -> statistics.Report:
        return await statistics.report(
            services=services,
            session=session,
            region=self.region,
            level=self.level,
            start=self.start,
            end=self.end,
        )


def scope(
    user: Supervisor,
    region: Annotated[
        str | None,
        Query(
            pattern=r"^\d{6}(\d{3}){0,2}$",
            max_length=12,
            description="行政区划代码 (default: the caller's region; the city for the city's)",
        ),
    ] = None,
    level: Annotated[RegionLevel | None, Query(description="only regions of this level")] = None,
    start: Annotated[
        Day | None, Query(alias="from", description="first day (default: 1 January)")
    ] = None,
    end: Annotated[Day | None, Query(alias="to", description="last day (default: today)")] = None,
) -> Scope:
    try:
        own = statistics_region(user, region)
    except LookupError:
        raise forbidden("只能查看本地区的统计") from None
    return Scope(own, level, start, end)


ScopeDep = Annotated[Scope, Depends(scope)]


@router.get("", response_model=StatisticsFigures)
async def figures(
    _user: Supervisor, query: ScopeDep, services: ServicesDep, session: SessionDep
) -> StatisticsFigures:
    """网上可办率, 一网通办率, 全程网办率, 一窗受理率, 最多跑一次率, 平均承诺时限, 平均申请材料数,
    按时办结率, 提前办结率 and 好差评, each as docs/domain.md defines it."""
    return (await query.report(services, session)).figures


@router.get(
    ".csv",
    response_class=Response,
    responses={200: {"content": {statistics_export.CSV_TYPE: {}}, "description": "CSV"}},
)
async def figures_csv(
    _user: Supervisor, query: ScopeDep, services: ServicesDep, session: SessionDep
) -> Response:
    """The same figures as CSV (UTF-8 with a byte-order mark), with their definitions."""
    return statistics_export.download(await query.report(services, session), "csv")


@router.get(
    ".xlsx",
    response_class=Response,
    responses={200: {"content": {statistics_export.XLSX_TYPE: {}}, "description": "Excel"}},
)
async def figures_xlsx(
    _user: Supervisor, query: ScopeDep, services: ServicesDep, session: SessionDep
) -> Response:
    """The same figures as an Excel workbook, with their definitions."""
    return statistics_export.download(await query.report(services, session), "xlsx")
