"""The FastAPI application: JSON API under /api, pages (api/pages), health checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from api import errors
from api.deps import Services
from api.engine import EngineGateway
from api.routers import applications, auth, health, matters, supervision, tasks, window
from api.security import FailureLimiter
from api.services.accounts import sync_departments
from definitions.calendars import CalendarSources
from definitions.catalogue import load_catalogue
from settings import Settings, get_settings
from store.db import create_engine, session_factory
from temporal_client import connect

DESCRIPTION = """
Tongban (通办): one application, the departments' steps in parallel, under working-day
deadlines. Applicants use their application number and query code (header `X-Query-Code`);
staff use a bearer token from `POST /api/auth/token`. Errors are
`{"error", "message", "details"}`.
"""


def create_app(
    settings: Settings | None = None,
    *,
    temporal_client: Client | None = None,
    db_engine: AsyncEngine | None = None,
) -> FastAPI:
    """The app. Tests pass their own Temporal client and database engine."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = db_engine or create_engine(settings.db_url)
        services = Services(
            settings=settings,
            sessions=session_factory(engine),
            engine=EngineGateway(
                lambda: connect(settings),
                task_queue=settings.temporal_task_queue,
                timeout=settings.action_timeout_seconds,
                client=temporal_client,
            ),
            catalogue=load_catalogue(),
            calendars=CalendarSources(),
            secret=settings.secret(),
            lookups=FailureLimiter(
                settings.lookup_failures_allowed, settings.lookup_window_seconds
            ),
            logins=FailureLimiter(settings.lookup_failures_allowed, settings.lookup_window_seconds),
        )
        async with services.sessions() as session:
            await sync_departments(session, services.catalogue)
            await session.commit()
        app.state.services = services
        yield
        if db_engine is None:
            await engine.dispose()

    app = FastAPI(title="Tongban 通办", description=DESCRIPTION, version="0.1.0", lifespan=lifespan)
    errors.install(app)
    for module in (matters, applications, window, tasks, supervision, auth, health):
        app.include_router(module.router)
    return app
