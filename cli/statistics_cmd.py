"""`tongban statistics refresh [--from DAY] [--to DAY]`: the daily aggregates behind the
statistics, computed again.

Without dates it computes every past day whose aggregates are missing or stale (an
application received that day has changed since): run it nightly, say, and the statistics
read little more than the aggregates. With dates it computes every day from one to the other
(never today: today's figures are always computed live). Days are computed a month at a
time, each month in a transaction of its own.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from definitions.calendars import default_sources
from settings import get_settings
from store.db import create_sync_engine
from store.statistics import days_needing_refresh, refresh_days

DAYS_PER_TRANSACTION = 31


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a day (YYYY-MM-DD): {text}") from exc


def run_refresh(args: argparse.Namespace) -> int:
    settings = get_settings()
    zone = ZoneInfo(default_sources().centres[settings.centre].timezone)
    today = datetime.now(zone).date()
    if (args.start is None) != (args.end is None):
        print("error: give both --from and --to, or neither", file=sys.stderr)
        return 1
    started = time.perf_counter()
    engine = create_sync_engine(settings.db_url)
    try:
        if args.start is not None:
            last = min(args.end, today - timedelta(days=1))
            days = [args.start + timedelta(days=i) for i in range((last - args.start).days + 1)]
        else:
            with engine.connect() as conn:
                days = days_needing_refresh(conn, before=today)
        rows = 0
        for i in range(0, len(days), DAYS_PER_TRANSACTION):
            with engine.begin() as conn:
                rows += refresh_days(conn, days[i : i + DAYS_PER_TRANSACTION], datetime.now(UTC))
    finally:
        engine.dispose()
    span = f" ({days[0]} to {days[-1]})" if days else ""
    print(
        f"{len(days)} day(s) refreshed{span}, {rows} row(s) of counts "
        f"({time.perf_counter() - started:.1f} s)"
    )
    return 0


def register(areas: Any) -> None:
    parser = areas.add_parser("statistics", help="the statistics' daily aggregates")
    commands = parser.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")
    refresh = commands.add_parser(
        "refresh", help="compute the aggregates of stale or missing past days (or of a range)"
    )
    refresh.add_argument("--from", dest="start", type=_day, metavar="DAY", help="first day")
    refresh.add_argument("--to", dest="end", type=_day, metavar="DAY", help="last day")
    refresh.set_defaults(handler=run_refresh)
