"""The statistics page for supervisors (/supervision/statistics): the seed's figures of a
region, level and period, each beside its definition, charts drawn on the server, and the
same figures as CSV and Excel."""

from __future__ import annotations

from datetime import date
from typing import Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import ServicesDep, SessionDep
from api.errors import ApiError, invalid
from api.pages.charts import bar_chart, column_chart
from api.pages.common import SupervisorPage, problem_text, render
from api.services import statistics, statistics_export
from api.services.accounts import StaffUser
from api.services.region_scope import statistics_region
from domain.ratings import RatingLevel
from domain.regions import RegionLevel
from domain.statistics import FIGURES, share

router = APIRouter(include_in_schema=False)

FORM_LABELS = {"from": "起始日期", "to": "截止日期", "region": "区域", "level": "层级"}
RATES = (
    "online_available_rate",
    "one_network_rate",
    "fully_online_rate",
    "one_window_rate",
    "at_most_one_visit_rate",
    "on_time_rate",
    "early_rate",
)


def _day(request: Request, name: str) -> date | None:
    text = request.query_params.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise invalid({name: "日期格式应为 YYYY-MM-DD"}) from exc


def _region(boss: StaffUser, asked: str | None) -> str | None:
    """The figures' region: by default the supervisor's own; 403 outside it."""
    try:
        return statistics_region(boss, asked)
    except LookupError:
        raise ApiError(403, "forbidden", "只能查看本地区的统计") from None


async def _report(
    request: Request, boss: StaffUser, services: ServicesDep, session: SessionDep
) -> statistics.Report:
    params = request.query_params
    level = params.get("level", "")
    if level and level not in RegionLevel.__members__:
        raise invalid({"level": "应为 city、county、township 或 village"})
    return await statistics.report(
        services=services,
        session=session,
        region=_region(boss, params.get("region") or None),
        level=RegionLevel(level) if level else None,
        start=_day(request, "from"),
        end=_day(request, "to"),
    )


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


@router.get("/supervision/statistics")
async def page(
    request: Request, boss: SupervisorPage, services: ServicesDep, session: SessionDep
) -> Response:
    regions = [(r.code, "　" * r.level.rank + r.name) for r in services.regions.all()]
    levels = [(lv.value, lv.label) for lv in RegionLevel]
    try:
        report = await _report(request, boss, services, session)
    except ApiError as exc:
        return render(
            request,
            "statistics.html",
            user=boss,
            report=None,
            regions=regions,
            levels=levels,
            form=dict(request.query_params),
            error_message=problem_text(
                exc, {"from": "起始日期", "to": "截止日期", "region": "区域"}
            ),
            status_code=exc.status,
        )
    figures = report.figures.model_dump()
    labels = {f.key: f.label for f in FIGURES}
    rates = bar_chart(
        [(labels[key], figures[key], percent(figures[key])) for key in RATES], maximum=1
    )
    counted = report.figures.ratings
    rated = sum(counted.values())
    ratings = bar_chart(
        [
            (
                level.label,
                counted[level],
                f"{counted[level]}（{percent(share(counted[level], rated))}）",
            )
            for level in RatingLevel
        ],
        maximum=max(counted.values(), default=0),
        label_width=90,
    )
    by_region = bar_chart(
        [(p.label, p.counts.applications, str(p.counts.applications)) for p in report.by_region],
        maximum=max((p.counts.applications for p in report.by_region), default=0),
    )
    by_period = column_chart([(p.label, p.counts.applications) for p in report.by_period])
    form = {
        "region": report.region.code,
        "level": report.level.value if report.level else "",
        "from": report.start.isoformat(),
        "to": report.end.isoformat(),
    }
    query = urlencode({k: v for k, v in form.items() if v})
    return render(
        request,
        "statistics.html",
        user=boss,
        report=report,
        figures=figures,
        definitions=FIGURES,
        percent=percent,
        rates_chart=rates,
        ratings_chart=ratings,
        region_chart=by_region,
        period_chart=by_period,
        regions=regions,
        levels=levels,
        form=form,
        exports={
            "csv": f"/supervision/statistics.csv?{query}",
            "xlsx": f"/supervision/statistics.xlsx?{query}",
        },
    )


async def _export(
    request: Request,
    boss: StaffUser,
    services: ServicesDep,
    session: SessionDep,
    kind: Literal["csv", "xlsx"],
) -> Response:
    return statistics_export.download(await _report(request, boss, services, session), kind)


@router.get("/supervision/statistics.csv")
async def export_csv(
    request: Request, boss: SupervisorPage, services: ServicesDep, session: SessionDep
) -> Response:
    return await _export(request, boss, services, session, "csv")


@router.get("/supervision/statistics.xlsx")
async def export_xlsx(
    request: Request, boss: SupervisorPage, services: ServicesDep, session: SessionDep
) -> Response:
    return await _export(request, boss, services, session, "xlsx")
