"""The FastAPI application: JSON API under /api, pages (api/pages), health checks."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from api import errors, openapi, security_headers
from api.container import Services, system_clock
from api.engine import EngineGateway
from api.head_requests import HeadAsGet
from api.input_guard import refuse_nul
from api.page_sessions import PageSessions
from api.pages import applicant as pages_applicant
from api.pages import citizen as pages_citizen
from api.pages import common as pages_common
from api.pages import dev as pages_dev
from api.pages import inbox as pages_inbox
from api.pages import staff as pages_staff
from api.pages import statistics as pages_statistics
from api.pages import supervision as pages_supervision
from api.pages import window as pages_window
from api.pages import workbench as pages_workbench
from api.routers import (
    applications,
    auth,
    events,
    health,
    inbox,
    licences,
    matters,
    statistics,
    supervision,
    tasks,
    window,
)
from api.services import catalogue_entries, files
from api.services.accounts import real_now, sync_departments
from api.services.throttle import Throttle
from api.unified_login import oauth_client
from definitions.calendars import CalendarSources
from definitions.catalogue import load_catalogue
from definitions.regions import load_regions
from observability.logs import LogScope, protect_handlers
from observability.metrics import ApiMetrics, RequestMetrics
from observability.tracing import Tracing, setup_tracing
from settings import Settings, get_settings
from store.db import create_engine, read_connections, session_factory
from temporal_client import api_runtime, connect

STATIC = Path(__file__).resolve().parent / "static"
log = logging.getLogger("tongban.api")


def _package_dir(name: str) -> Path:
    """Where an installed package's files are, without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"{name} is not installed")
    return Path(spec.origin).parent


# Swagger UI's files as the swagger-ui-py package ships them (nothing from a CDN).
SWAGGER_UI = _package_dir("swagger_ui") / "static"
DOCS_PAGE = (Path(__file__).resolve().parent / "templates" / "docs.html").read_text("utf-8")

DESCRIPTION = """
Tongban (通办): one application, the departments' steps in parallel, under working-day
deadlines. Applicants use their application number and query code (header `X-Query-Code`);
staff use a bearer token from `POST /api/auth/token`. Errors are
`{"error", "message", "details"}`.
"""


async def _sweep_uploads(services: Services) -> None:
    """Every hour, the uploads no application refers to a day on (`files.sweep`)."""
    while True:
        try:
            async with services.sessions() as session:
                gone = await files.sweep(session, services.settings.data_dir, now=datetime.now(UTC))
            if gone:
                log.info("uploads: %d file(s) no application refers to deleted", gone)
        except Exception as exc:  # the database away, a disk error: next hour
            log.warning("uploads not swept: %s", exc)
        await asyncio.sleep(3600)


def create_app(
    settings: Settings | None = None,
    *,
    temporal_client: Client | None = None,
    db_engine: AsyncEngine | None = None,
    clock: Callable[[], Awaitable[datetime]] = system_clock,
    session_clock: Callable[[], datetime] = real_now,
    tracing: Tracing | None = None,
) -> FastAPI:
    """The app. Tests pass their own Temporal client, database engine, clocks (the engine's,
    for deadlines; the real one of sign-ins and sessions) and tracing."""
    settings = settings or get_settings()
    own_tracing = tracing is None
    tracing = tracing or setup_tracing(settings, "tongban-api")
    interceptors = [tracing.interceptor] if tracing else []
    if tracing and temporal_client:
        temporal_client = tracing.traced(temporal_client)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        protect_handlers()  # uvicorn has set up its loggers by now
        engine = db_engine or create_engine(settings.db_url, settings.db_pool_size)
        secret = settings.secret()

        def throttle(kind: str) -> Throttle:
            allowed, window = settings.lookup_failures_allowed, settings.lookup_window_seconds
            return Throttle(kind, allowed, window, secret=secret)

        services = Services(
            settings=settings,
            sessions=session_factory(engine),
            reads=read_connections(engine),
            engine=EngineGateway(
                lambda: connect(settings, runtime=api_runtime(), interceptors=interceptors),
                task_queue=settings.temporal_task_queue,
                timeout=settings.action_timeout_seconds,
                client=temporal_client,
            ),
            catalogue=load_catalogue(),
            regions=load_regions(),
            calendars=CalendarSources(),
            secret=secret,
            lookups=throttle("lookup"),
            logins=throttle("login"),
            submissions=throttle("submission"),
            clock=clock,
            session_clock=session_clock,
        )
        try:
            async with services.sessions() as session:
                await sync_departments(session, services.catalogue)
                await session.commit()
                await catalogue_entries.keep_in_step(services=services, session=session)
        except errors.DATABASE_DOWN as exc:
            # A process (re)started while the database is away still starts, and answers 503
            # until it is back: refusing to start would make uvicorn's supervisor give up on
            # every process. The departments are already there from an earlier start; the
            # catalogue's entries are brought in step on their next read.
            log.warning("database unavailable at start, serving 503 until it is back: %s", exc)
        app.state.services = services
        app.state.oauth = oauth_client(settings)
        sweeper = asyncio.create_task(_sweep_uploads(services))
        yield
        sweeper.cancel()
        if db_engine is None:
            await engine.dispose()
        if tracing and own_tracing:
            tracing.shutdown()

    # /docs is served with the app's own copy of Swagger UI: nothing is fetched from a CDN.
    app = FastAPI(
        title="Tongban 通办",
        description=DESCRIPTION,
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        # Every route, API and pages: a NUL character in any input is refused up front.
        dependencies=[Depends(refuse_nul)],
    )

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(DOCS_PAGE)

    errors.install(app, html=pages_common.error_page)
    openapi.install(app)
    pages_common.install(app)
    for module in (
        matters,
        applications,
        window,
        tasks,
        supervision,
        statistics,
        licences,
        inbox,
        events,
        auth,
        health,
    ):
        app.include_router(module.router)
    for page in (
        pages_applicant,
        pages_citizen,
        pages_dev,
        pages_inbox,
        pages_staff,
        pages_window,
        pages_workbench,
        pages_supervision,
        pages_statistics,
    ):
        app.include_router(page.router)
    app.mount("/static/swagger-ui", StaticFiles(directory=SWAGGER_UI), name="swagger-ui")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # The page session (CSRF token, messages, an applicant's identity and verified numbers)
    # is kept in the database; the browser holds a random token (api.page_sessions).
    app.add_middleware(
        PageSessions,
        max_age=timedelta(hours=4),
        lifetime=timedelta(hours=settings.token_hours),
        https_only=settings.served_over_https,
        html=pages_common.error_page,
    )
    app.add_middleware(HeadAsGet)
    # Added last, so they run first: the time measured is the whole request's (sessions and
    # errors included), and what a request notes for its log lines ends with it.
    app.state.metrics = ApiMetrics()
    app.add_middleware(RequestMetrics, metrics=app.state.metrics)
    app.add_middleware(LogScope)
    if tracing:
        # Before the security headers wrap the stack: the instrumentation looks for
        # Starlette's own error middleware at its top.
        tracing.instrument(app)
    security_headers.install(app, settings)
    return app
