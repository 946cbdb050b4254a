"""`tongban worker|api|migrate`: running the parts of the service on their own."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from settings import get_settings

if TYPE_CHECKING:
    from fastapi import FastAPI


def run_worker(_args: argparse.Namespace) -> int:
    import worker

    worker.main()
    return 0


def served_app() -> FastAPI:
    """The app as each API process builds it. With several workers uvicorn spawns fresh
    interpreters, which do not inherit the parent's logging: each sets up its own."""
    from api.app import create_app
    from observability.logs import configure_logging

    configure_logging(log_format=get_settings().log_format)
    return create_app()


def run_api(args: argparse.Namespace) -> int:
    import uvicorn

    from observability.logs import configure_logging

    settings = get_settings()
    # uvicorn's loggers write through the root handler (log_config=None): the same format,
    # JSON or text, and the same privacy filter as everything else.
    configure_logging(log_format=settings.log_format)
    # With workers > 1, uvicorn's supervisor shares the one listening socket between the
    # processes and starts a new one in place of any that dies.
    uvicorn.run(
        "cli.service_cmd:served_app",
        factory=True,
        host=settings.api_host,
        port=settings.api_port,
        workers=args.workers,
        proxy_headers=True,
        forwarded_allow_ips=settings.trusted_proxies,
        log_level="info",
        log_config=None,
        # The access log is the app's own (observability.logs.log_access): it has the route
        # and the time taken, and leaves out the status polls answered.
        access_log=False,
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
    sub.add_argument(
        "--workers",
        type=int,
        default=1,
        help="API processes sharing the port (1); each keeps its own connection pools",
    )
    sub.set_defaults(handler=run_api)
    sub = areas.add_parser("migrate", help="apply the database migrations")
    sub.set_defaults(handler=migrate)
