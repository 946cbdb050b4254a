"""Shared fixtures: one time-skipping Temporal test server and one database per session,
a fresh task queue and worker per test (samples-python style)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from simulation.server import installed_binary, register_search_attributes
from store.db import create_engine, session_factory
from store.migrate import upgrade


@pytest.fixture(scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    environment = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=installed_binary("temporal-test-server"),
    )
    await register_search_attributes(environment.client)
    yield environment
    await environment.shutdown()


@pytest.fixture(scope="session")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """SQLite by default; CI sets TONGBAN_TEST_DATABASE_URL to run on PostgreSQL too."""
    url = os.environ.get("TONGBAN_TEST_DATABASE_URL") or (
        f"sqlite:///{tmp_path_factory.mktemp('db') / 'tongban.db'}"
    )
    if not url.startswith("sqlite"):
        from alembic import command

        from store.migrate import alembic_config

        command.downgrade(alembic_config(url), "base")
    upgrade(url)
    return url


@pytest.fixture(scope="session")
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(db_url)
    yield eng
    await eng.dispose()


@pytest.fixture(scope="session")
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@pytest.fixture
def task_queue() -> str:
    return str(uuid.uuid4())


@pytest.fixture
async def worker(
    env: WorkflowEnvironment, sessions: async_sessionmaker[AsyncSession], task_queue: str
) -> AsyncIterator[Worker]:
    from tests.engine import running_worker

    async with running_worker(env, sessions, task_queue) as w:
        yield w


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch, db_url: str) -> Iterator[None]:
    """For commands run in the test process (tests/cli_helpers.py): they read their settings
    from the environment, here the suite's database."""
    from settings import get_settings

    monkeypatch.setenv("TONGBAN_DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
async def _terminate_leftover_workflows() -> AsyncIterator[None]:
    from tests.engine import terminate_leftovers

    yield
    await terminate_leftovers()


@pytest.fixture(scope="session")
async def demo_accounts(sessions: async_sessionmaker[AsyncSession]) -> None:
    from api.services.accounts import ensure_demo_accounts, sync_departments
    from definitions.catalogue import default_catalogue

    async with sessions() as session:
        await sync_departments(session, default_catalogue())
        await session.flush()
        await ensure_demo_accounts(session, default_catalogue(), "demo")
        await session.commit()


@pytest.fixture(scope="session")
def oidc_issuer() -> Iterator[str]:
    """A real local OpenID Connect provider (oidc-provider-mock) with the demo applicants."""
    from oidc_provider_mock import User, run_server_in_thread

    from definitions.demo_identities import demo_identities

    users = [
        User(sub=c["sub"], claims={k: v for k, v in c.items() if k != "sub"})
        for c in demo_identities().claims()
    ]
    with run_server_in_thread(user_claims=users) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="session")
async def licence_library(sessions: async_sessionmaker[AsyncSession]) -> None:
    """The licences the test applicants of tests/api_helpers.py hold."""
    from definitions.demo_identities import demo_identities
    from tests.licence_helpers import issue_licences, test_applicants_licences

    await issue_licences(sessions, [*test_applicants_licences(), *demo_identities().licences()])


@pytest.fixture
async def api_app(
    env: WorkflowEnvironment,
    engine: AsyncEngine,
    worker: Worker,
    demo_accounts: None,
    licence_library: None,
    tmp_path: Path,
) -> AsyncIterator[FastAPI]:
    """The app over the time-skipping server and the session's database, with a worker."""
    from api.app import create_app
    from settings import Settings

    settings = Settings(
        data_dir=tmp_path,
        database_url="unused: the engine is passed in",
        secret_key="test-secret",
        temporal_task_queue=worker.task_queue,
    )
    app = create_app(
        settings, temporal_client=env.client, db_engine=engine, clock=env.get_current_time
    )
    before = await _application_numbers(engine)
    await _forget_failed_guesses(engine)
    async with app.router.lifespan_context(app):
        yield app
    await _terminate_new(env, engine, before)


def client_of(app: FastAPI) -> httpx.AsyncClient:
    """A client of `app` with cookies of its own (one browser, as it were)."""
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://tongban.test")


@pytest.fixture
async def api(api_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(api_app) as client:
        yield client


async def _terminate_new(env: WorkflowEnvironment, engine: AsyncEngine, before: set[str]) -> None:
    """Like tests/engine.py's STARTED: close what the test left running, found by number."""
    from simulation.idle import terminate_when_idle

    for number in await _application_numbers(engine) - before:
        with contextlib.suppress(RPCError):
            await terminate_when_idle(env.client.get_workflow_handle(number))


async def _forget_failed_guesses(engine: AsyncEngine) -> None:
    """Failed guesses are counted in the database (api.services.throttle), which the whole
    session shares: each test's app starts with none counted."""
    from sqlalchemy import delete

    from store.models import ThrottleFailureRow

    async with engine.begin() as connection:
        await connection.execute(delete(ThrottleFailureRow))


async def _application_numbers(engine: AsyncEngine) -> set[str]:
    from sqlalchemy import select

    from store.models import ApplicationRow

    async with engine.connect() as conn:
        return set((await conn.scalars(select(ApplicationRow.application_no))).all())


# --- pages in a real browser -------------------------------------------------------------

CHROMIUM = os.environ.get("TONGBAN_CHROMIUM", "/usr/bin/chromium")
SCREENS = Path(__file__).parent / "artifacts" / "screens"


@pytest.fixture
async def live(
    env: WorkflowEnvironment,
    engine: AsyncEngine,
    worker: Worker,
    demo_accounts: None,
    licence_library: None,
    oidc_issuer: str,
    tmp_path: Path,
) -> AsyncIterator[str]:
    """The app served over HTTP on a free port (pages need a real server), on the test
    server's clock, with a worker; yields its base URL."""
    import socket

    import uvicorn

    from api.app import create_app
    from settings import Settings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings(
        data_dir=tmp_path,
        database_url="unused: the engine is passed in",
        secret_key="test-secret",
        temporal_task_queue=worker.task_queue,
        oidc_issuer=oidc_issuer,
    )
    app = create_app(
        settings, temporal_client=env.client, db_engine=engine, clock=env.get_current_time
    )
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    before = await _application_numbers(engine)
    await _forget_failed_guesses(engine)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task
    await _terminate_new(env, engine, before)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    """Debian's Chromium driven by Playwright (nothing downloaded)."""
    from playwright.async_api import async_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(
            f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium "
            "fonts-noto-cjk) or set TONGBAN_CHROMIUM"
        )
    SCREENS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as p:
        b = await p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--lang=zh-CN",
            ],
        )
        yield b
        await b.close()
