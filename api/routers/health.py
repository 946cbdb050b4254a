"""Liveness and readiness for process supervisors and load balancers; metrics for
Prometheus (docs/observability.md)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from api.deps import ServicesDep, SessionDep
from api.openapi import answers
from api.schemas import Readiness
from observability.metrics import ApiMetrics

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "the database or Temporal is down"}},
)
@answers(503)
async def readyz(services: ServicesDep) -> JSONResponse:
    checks = {"database": False, "temporal": False}
    try:
        async with services.sessions() as session:
            await session.execute(text("SELECT 1"))
        checks["database"] = True
    except Exception:
        pass
    checks["temporal"] = await services.engine.healthy()
    ready = all(checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status_code=200 if ready else 503,
        headers=None if ready else {"Retry-After": "5"},
    )


# No login: Prometheus scrapes without credentials. The figures are counts, with no personal
# data; keep the path to the monitoring network at the proxy if it must not be public.
@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, services: ServicesDep, session: SessionDep) -> Response:
    collected: ApiMetrics = request.app.state.metrics
    body = await collected.exposition(
        session,
        now=await services.clock(),
        failing_after=timedelta(minutes=services.settings.feed_failing_minutes),
    )
    return Response(body, media_type=CONTENT_TYPE_LATEST)
