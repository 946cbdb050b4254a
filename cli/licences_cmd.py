"""`tongban licences import FILE`: load licences from another library (JSON Lines).

One licence a line: {"type", "number", "holder_id", "holder_name", "issuer", "issued_on",
"valid_until" (null for long-term), "fields"}. A licence whose (type, number) is already in
the library is left as it is, so running the same file again changes nothing. Each bad line
is reported as FILE:LINE: reason on stderr and skipped; the exit status is 1 if any was.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from definitions.calendars import default_sources
from definitions.catalogue import default_catalogue
from settings import get_settings
from store.licence_import import import_licences


def run_import(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if not path.is_file():
        print(f"error: no such file: {path}", file=sys.stderr)
        return 1
    if args.batch_size < 1:
        print("error: --batch-size must be at least 1", file=sys.stderr)
        return 1
    settings = get_settings()
    centre = default_sources().centres[settings.centre]
    # No licence can be issued after today at the centre, nor its holder be born after it.
    today = datetime.now(ZoneInfo(centre.timezone)).date()

    def report(line: int, reason: str) -> None:
        print(f"{args.file}:{line}: {reason}", file=sys.stderr)

    summary = import_licences(
        settings.db_url,
        path,
        default_catalogue().licence_types,
        today=today,
        batch_size=args.batch_size,
        on_bad_line=report,
    )
    print(summary)
    return 1 if summary.bad else 0


def register(areas: Any) -> None:
    parser = areas.add_parser("licences", help="the electronic licence library (电子证照库)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")
    load = commands.add_parser(
        "import", help="load licences from a JSON Lines file; bad lines reported as FILE:LINE"
    )
    load.add_argument("file", metavar="FILE", help="JSON Lines, one licence a line")
    load.add_argument(
        "--batch-size", type=int, default=5000, metavar="N", help="lines per transaction"
    )
    load.set_defaults(handler=run_import)
