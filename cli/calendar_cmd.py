"""`tongban calendar deadline|is-workday`."""

from __future__ import annotations

import argparse
import json
from datetime import date, datetime
from typing import Any

from definitions.calendars import default_sources
from settings import get_settings


def _instant(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError("give a time zone, e.g. 2026-09-30T10:00:00+08:00")
    return value


def deadline(args: argparse.Namespace) -> int:
    calendar = default_sources().calendar_around(args.centre, args.start)
    result = calendar.deadline(args.start, args.working_days)
    print(
        json.dumps(
            {
                "deadline": calendar.local(result.at).isoformat(),
                "provisional": result.provisional,
            },
            ensure_ascii=False,
        )
    )
    return 0


def is_workday(args: argparse.Namespace) -> int:
    sources = default_sources()
    calendar = sources.calendar_around(args.centre, datetime(args.day.year, 6, 1))
    workday = calendar.is_workday(args.day)
    print(
        json.dumps(
            {
                "date": args.day.isoformat(),
                "workday": workday,
                "provisional": not calendar.is_official(args.day),
            }
        )
    )
    return 0


def publish(args: argparse.Namespace) -> int:
    from cli.calendar_publish import run

    return run(get_settings(), args.dry_run)


def register(areas: Any) -> None:
    parser = areas.add_parser("calendar", help="working-day calendar")
    commands = parser.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")
    centre = get_settings().centre

    sub = commands.add_parser("deadline", help="deadline of a time limit in working days")
    sub.add_argument("--from", dest="start", type=_instant, required=True, help="ISO 8601 instant")
    sub.add_argument("--working-days", type=int, required=True)
    sub.add_argument("--centre", default=centre)
    sub.set_defaults(handler=deadline)

    sub = commands.add_parser("is-workday", help="whether DATE is a working day (JSON)")
    sub.add_argument("day", type=date.fromisoformat, metavar="DATE")
    sub.add_argument("--centre", default=centre)
    sub.set_defaults(handler=is_workday)

    sub = commands.add_parser(
        "publish", help="send the current calendar to open applications whose calendar differs"
    )
    sub.add_argument("--dry-run", action="store_true", help="only list what would change")
    sub.set_defaults(handler=publish)
