"""An outage of the database or of Temporal, met anywhere in a request, is answered 503 with
Retry-After (the client retries), never 500; other failures stay 500."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import InterfaceError, OperationalError
from temporalio.service import RPCError, RPCStatusCode

from api import errors
from api.app import create_app
from settings import Settings
from store.db import create_engine


def app_raising(exc: Exception) -> FastAPI:
    app = FastAPI()
    errors.install(app)

    @app.get("/api/thing")
    async def thing() -> None:
        raise exc

    return app


@pytest.mark.parametrize(
    ("exc", "error"),
    [
        (OperationalError("SELECT 1", {}, Exception("connection refused")), "database_unavailable"),
        (InterfaceError("SELECT 1", {}, Exception("connection closed")), "database_unavailable"),
        (RPCError("down", RPCStatusCode.UNAVAILABLE, b""), "engine_unavailable"),
    ],
)
async def test_outages_are_503_with_retry_after(exc: Exception, error: str) -> None:
    transport = httpx.ASGITransport(app=app_raising(exc), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/api/thing")
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert response.json()["error"] == error


async def test_other_engine_errors_stay_500() -> None:
    app = app_raising(RPCError("bad", RPCStatusCode.INVALID_ARGUMENT, b""))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/api/thing")
    assert response.status_code == 500


async def test_an_api_process_starts_while_the_database_is_away(tmp_path: Path) -> None:
    """Started (or restarted by its supervisor) during an outage, it serves 503s, not a
    crash loop."""
    # Nothing listens on port 1: every connection is refused at once.
    engine = create_engine("postgresql+psycopg://tongban:x@127.0.0.1:1/tongban")
    app = create_app(Settings(data_dir=tmp_path, secret_key="s"), db_engine=engine)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            ready = await client.get("/readyz")
            token = await client.post("/api/auth/token", data={"username": "a", "password": "b"})
            poll = await client.get(
                "/api/applications/34050020261128000001", headers={"X-Query-Code": "ABCD2345"}
            )
            matters = await client.get("/api/matters")
    await engine.dispose()
    assert ready.status_code == 503 and ready.json()["checks"]["database"] is False
    # Each as its operation in the OpenAPI document declares it: 503 with Retry-After.
    paths = app.openapi()["paths"]
    for (path, method), answer in {
        ("/api/auth/token", "post"): token,
        ("/api/applications/{application_no}", "get"): poll,
        ("/api/matters", "get"): matters,
    }.items():
        assert answer.status_code == 503 and "Retry-After" in answer.headers, path
        assert "503" in paths[path][method]["responses"], path
