"""`tongban worker|api|migrate`: running the parts of the service on their own."""

from __future__ import annotations

import argparse
from typing import Any

from settings import get_settings


def run_worker(_args: argparse.Namespace) -> int:
    import worker

    worker.main()
    return 0


def run_api(_args: argparse.Namespace) -> int:
    import uvicorn

    from observability.logs import configure_logging

    settings = get_settings()
    # uvicorn's loggers write through the root handler (log_config=None): the same format,
    # JSON or text, and the same privacy filter as everything else.
    configure_logging(log_format=settings.log_format)
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=settings.api_host,
        port=settings.api_port,
        proxy_headers=True,
        forwarded_allow_ips=settings.trusted_proxies,
        log_level="info",
        log_config=None,
    )
    return 0


def migrate(_args: argparse.Namespace) -> int:
    from store.migrate import upgrade

    settings = get_settings()
    upgrade(settings.db_url)
    print(f"database at head: {settings.db_url}")
    return 0


def register(areas: Any) -> None:
    sub = areas.add_parser("worker", help="run the Temporal worker (settings from TONGBAN_*)")
    sub.set_defaults(handler=run_worker)
    sub = areas.add_parser("api", help="run the API and pages (settings from TONGBAN_*)")
    sub.set_defaults(handler=run_api)
    sub = areas.add_parser("migrate", help="apply the database migrations")
    sub.set_defaults(handler=migrate)
